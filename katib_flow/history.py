"""What algorithms see of an experiment: its trials so far, in creation order.

Suggesters and early stoppers are rebuilt from this on every call (the local
runner and the Argo steps hold no algorithm object between calls), so it must
carry everything an algorithm needs, including the small per-trial ``data`` an
algorithm attached when it proposed the trial (e.g. CMA-ES generation state).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["Proposal", "TrialRecord", "TrialState", "finite_objective"]


class TrialState(str, Enum):
    """Katib's trial condition types, as stored and reported."""

    CREATED = "Created"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    METRICS_UNAVAILABLE = "MetricsUnavailable"
    EARLY_STOPPED = "EarlyStopped"
    KILLED = "Killed"

    @property
    def is_active(self) -> bool:
        """Still holding a slot: its point is pending for the algorithms."""
        return self in (TrialState.CREATED, TrialState.RUNNING)

    @property
    def is_completed(self) -> bool:
        """Katib's completed trials, counted against maxTrialCount: finished, but not Killed (an
        interruption katib-flow runs again)."""
        return not self.is_active and self is not TrialState.KILLED

    @property
    def has_objective(self) -> bool:
        """Finished with a usable objective value (Katib feeds early-stopped trials to algorithms too)."""
        return self in (TrialState.SUCCEEDED, TrialState.EARLY_STOPPED)


def finite_objective(state: TrialState, objective: float | None) -> float | None:
    """The objective a finished trial gives algorithms and plots: a number, from a state that has one
    (Succeeded, EarlyStopped); None otherwise, and for a value that is not finite."""
    if state.has_objective and objective is not None and math.isfinite(objective):
        return objective
    return None


@dataclass(frozen=True)
class TrialRecord:
    """One trial as algorithms see it.

    ``assignments`` are Katib strings keyed by parameter name; ``objective`` is
    the objective metric after its metric strategy (None when unavailable);
    ``objective_series`` is every reported objective value in report order
    (early stopping needs it); ``data`` is what the suggester attached.
    """

    name: str
    assignments: Mapping[str, str]
    state: TrialState
    objective: float | None = None
    objective_series: tuple[float, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    """A new trial's assignments, plus JSON-serialisable data to store with it."""

    assignments: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)
