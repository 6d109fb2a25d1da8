"""The Push collector: a trial reports its own metrics with :func:`report_metrics`.

The driver that starts a trial sets ``KATIB_FLOW_TRIAL_NAME``,
``KATIB_FLOW_EXPERIMENT_ID`` and ``KATIB_FLOW_DB_URL`` in its environment (the
local runner directly; on a cluster, the suggest or wait step in the run
object, the URL from the Workflow's DB Secret). Katib's contract is accepted
too: with only ``KATIB_TRIAL_NAME`` (what Katib's webhook sets and Katib's SDK
reads) the trial is the Running one of that name. Values may be numbers or numeric strings; Katib's push SDK takes
strings only.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from ..exceptions import CollectorError
from .base import Observation, utc_now

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["EXPERIMENT_ENV", "KATIB_TRIAL_ENV", "TRIAL_ENV", "report_metrics"]

TRIAL_ENV = "KATIB_FLOW_TRIAL_NAME"
EXPERIMENT_ENV = "KATIB_FLOW_EXPERIMENT_ID"
# What Katib's pod webhook gives every trial's primary container and Katib's SDK ``report_metrics`` reads.
KATIB_TRIAL_ENV = "KATIB_TRIAL_NAME"


def report_metrics(metrics: Mapping[str, float | int | str], step: int | None = None) -> None:
    """Record ``metrics`` for the current trial, e.g. ``report_metrics({"loss": 0.1, "accuracy": 0.9})``.

    Raises :class:`CollectorError` outside a katib-flow trial or for a value that is not a number.
    """
    from ..store import ENV_URL

    trial = os.environ.get(TRIAL_ENV) or os.environ.get(KATIB_TRIAL_ENV)
    experiment = os.environ.get(EXPERIMENT_ENV)
    url = os.environ.get(ENV_URL)
    if not trial or not url:
        missing = [
            name for name, value in ((f"{TRIAL_ENV} (or {KATIB_TRIAL_ENV})", trial), (ENV_URL, url)) if not value
        ]
        raise CollectorError(
            "report_metrics() works inside a trial started by katib-flow; not set here: " + ", ".join(missing)
        )
    if experiment is not None and not experiment.isdigit():
        raise CollectorError(f"{EXPERIMENT_ENV} must be an experiment id (got {experiment!r})")
    from ..engine.trials import record_observations

    store = _store(url)
    experiment_id = int(experiment) if experiment else _running_experiment(url, trial)
    stamp = utc_now()
    observations = []
    for name, value in metrics.items():
        text = _number_text(name, value)
        observations.append(Observation(name, text, stamp, step))
    record_observations(store, experiment_id, trial, observations, source="push")


def _number_text(name: str, value: float | int | str) -> str:
    """The stored text of a metric value: a plain decimal, also for NumPy scalars.

    ``repr`` of a NumPy 2 float is ``np.float64(0.9)``, which no collector parses:
    every trial returning ``score.mean()`` would end MetricsUnavailable.
    """
    if isinstance(value, (bool, np_bool_type())):
        raise CollectorError(f"metric {name!r}: expected a number, got a boolean")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise CollectorError(f"metric {name!r}: {value!r} is not a number") from None
        text = value.strip()
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise CollectorError(f"metric {name!r}: {value!r} is not a number") from None
        text = str(int(value)) if isinstance(value, numbers.Integral) else repr(number)
    if not math.isfinite(number):
        raise CollectorError(f"metric {name!r}: {value!r} is not a finite number")
    return text


def np_bool_type() -> type:
    """NumPy's bool scalar type when NumPy is loaded (a trial that returns ``x > 0`` by mistake), else bool."""
    numpy = sys.modules.get("numpy")
    return numpy.bool_ if numpy is not None else bool


@cache
def _running_experiment(url: str, trial: str) -> int:
    """A script written for Katib sees only KATIB_TRIAL_NAME: its Running trial of that name is the one.

    Looked up once per process (a training loop may report every step); a failed lookup is not kept.
    """
    from ..engine.trials import running_trial_experiment

    return running_trial_experiment(_store(url), trial)


@cache
def _store(url: str) -> Store:
    # One connection pool per process: a training loop may report every step.
    from ..store import Store

    return Store(url)
