"""Early-stopping algorithms, keyed by Katib's exact ``earlyStopping.algorithmName``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from ..exceptions import Problem, did_you_mean
from ..settings import SettingsModel
from ..spec.models import EarlyStoppingSetting, ExperimentSpec
from ..spec.paths import SPEC

if TYPE_CHECKING:
    from ..spec.models import Experiment
    from .base import EarlyStopper

__all__ = [
    "EARLY_STOPPING_SERVICES_ENV",
    "EARLY_STOPPING_SETTINGS",
    "MedianStopSettings",
    "create_early_stopper",
    "external_early_stopper",
    "validate_early_stopping",
]


class MedianStopSettings(SettingsModel):
    """Katib's median stopping rule settings, with Katib's defaults."""

    plugin_name: ClassVar[str] = "early stopping medianstop"
    min_trials_required: int = Field(default=3, gt=0)
    start_step: int = Field(default=4, ge=1)


EARLY_STOPPING_SETTINGS: dict[str, type[SettingsModel]] = {"medianstop": MedianStopSettings}
# NAME=HOST:PORT,...: early-stopping algorithms served by Katib services (katib_flow/katib_api/early_stopping.py)
EARLY_STOPPING_SERVICES_ENV = "KATIB_FLOW_EARLY_STOPPING_SERVICES"


def external_early_stopper(experiment: Experiment) -> EarlyStopper[Any] | None:
    """The experiment's early stopper when its algorithm is served by a configured Katib service."""
    es = experiment.spec.early_stopping
    if es is None or not es.algorithm_name or not os.environ.get(EARLY_STOPPING_SERVICES_ENV):
        return None
    from ..katib_api.early_stopping import GrpcEarlyStopper, early_stopping_client

    client = early_stopping_client(es.algorithm_name)
    return GrpcEarlyStopper(client, experiment) if client is not None else None


def validate_early_stopping(spec: ExperimentSpec) -> list[Problem]:
    """Problems with ``spec.earlyStopping`` (none when it is absent)."""
    es = spec.early_stopping
    if es is None:
        return []
    path = SPEC.child("earlyStopping")
    name = es.algorithm_name
    if not name:
        return [Problem(str(path.child("algorithmName")), "must be specified")]
    from ..algorithms import DEFERRED_ALGORITHMS

    if name in DEFERRED_ALGORITHMS:
        return []  # checked by its service, where the Workflow runs
    if os.environ.get(EARLY_STOPPING_SERVICES_ENV):
        from ..katib_api.early_stopping import remote_early_stopping_problems

        remote = remote_early_stopping_problems(name, spec)
        if remote is not None:
            return remote
    model = EARLY_STOPPING_SETTINGS.get(name)
    if model is None:
        known = list(EARLY_STOPPING_SETTINGS)
        return [
            Problem(
                str(path.child("algorithmName")),
                f"unknown early stopping algorithm {name!r} (known: {', '.join(known)}){did_you_mean(name, known)}",
            )
        ]
    _, problems = model.parse(es.algorithm_settings, path.child("algorithmSettings"))
    return problems


def create_early_stopper(
    name: str, objective_metric: str, objective_type: str, settings: list[EarlyStoppingSetting] | None = None
) -> EarlyStopper[Any]:
    """A ready early stopper; raises :class:`InvalidSettingsError` for bad settings, KeyError for a bad name."""
    from .medianstop import MedianStopper

    stoppers: dict[str, type[EarlyStopper[Any]]] = {"medianstop": MedianStopper}
    cls = stoppers[name]
    return cls(objective_metric, objective_type, EARLY_STOPPING_SETTINGS[name].from_entries(settings))
