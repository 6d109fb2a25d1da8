"""The Push collector: a trial reports its own metrics with :func:`report_metrics`.

The driver that starts a trial sets ``KATIB_FLOW_TRIAL_NAME``,
``KATIB_FLOW_EXPERIMENT_ID`` and ``KATIB_FLOW_DB_URL`` in its environment (the
local runner directly; on a cluster, the compiler from the trial and the DB
Secret). Values may be numbers or numeric strings; Katib's push SDK takes
strings only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from ..exceptions import CollectorError
from .base import Observation, utc_now

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["EXPERIMENT_ENV", "TRIAL_ENV", "report_metrics"]

TRIAL_ENV = "KATIB_FLOW_TRIAL_NAME"
EXPERIMENT_ENV = "KATIB_FLOW_EXPERIMENT_ID"


def report_metrics(metrics: Mapping[str, float | int | str], step: int | None = None) -> None:
    """Record ``metrics`` for the current trial, e.g. ``report_metrics({"loss": 0.1, "accuracy": 0.9})``.

    Raises :class:`CollectorError` outside a katib-flow trial or for a value that is not a number.
    """
    from ..store import ENV_URL

    trial = os.environ.get(TRIAL_ENV)
    experiment = os.environ.get(EXPERIMENT_ENV)
    url = os.environ.get(ENV_URL)
    if not trial or not experiment or not url:
        missing = [
            name for name, value in ((TRIAL_ENV, trial), (EXPERIMENT_ENV, experiment), (ENV_URL, url)) if not value
        ]
        raise CollectorError(
            "report_metrics() works inside a trial started by katib-flow; not set here: " + ", ".join(missing)
        )
    if not experiment.isdigit():
        raise CollectorError(f"{EXPERIMENT_ENV} must be an experiment id (got {experiment!r})")
    stamp = utc_now()
    observations = []
    for name, value in metrics.items():
        text = _number_text(name, value)
        observations.append(Observation(name, text, stamp, step))
    from ..engine.trials import record_observations

    record_observations(_store(url), int(experiment), trial, observations, source="push")


def _number_text(name: str, value: float | int | str) -> str:
    if isinstance(value, bool):
        raise CollectorError(f"metric {name!r}: expected a number, got a boolean")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise CollectorError(f"metric {name!r}: {value!r} is not a finite number")
        return repr(value) if isinstance(value, float) else str(value)
    try:
        float(value)
    except (TypeError, ValueError):
        raise CollectorError(f"metric {name!r}: {value!r} is not a number") from None
    return value.strip()


@cache
def _store(url: str) -> Store:
    # One connection pool per process: a training loop may report every step.
    from ..store import Store

    return Store(url)
