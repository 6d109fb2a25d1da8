"""Deciding whether an experiment goes on, and its status in Katib's shape.

The order is Katib's (``UpdateExperimentStatusCondition`` in
``pkg/controller.v1beta1/experiment/util/status_util.go``): objective goal
reached; then at least ``maxFailedTrialCount`` failed trials (Failed and
MetricsUnavailable; Katib's rule is ``failed != 0 && failed >= maxFailedTrialCount``,
so ``maxFailedTrialCount: 3`` ends the experiment at the third failure); then ``maxTrialCount``
completed trials (Succeeded, Failed, MetricsUnavailable, EarlyStopped); then the
algorithm exhausted with nothing running. Killed trials are interruptions
(Ctrl-C, a lost runner) that katib-flow runs again on resume, so unlike Katib
they count neither as completed nor against the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ..history import TrialState
from ..spec import constants as c
from ..spec.models import Experiment, ExperimentSpec
from ..store import ExperimentRow, Store, TrialRow
from .clock import now, rfc3339
from .conditions import Reason, final_condition, set_condition

__all__ = ["Evaluation", "conclude", "evaluate", "experiment_status"]

_LISTS = {
    TrialState.SUCCEEDED: ("succeededTrialList", "trialsSucceeded"),
    TrialState.FAILED: ("failedTrialList", "trialsFailed"),
    TrialState.KILLED: ("killedTrialList", "trialsKilled"),
    TrialState.EARLY_STOPPED: ("earlyStoppedTrialList", "trialsEarlyStopped"),
    TrialState.METRICS_UNAVAILABLE: ("metricsUnavailableTrialList", "trialMetricsUnavailable"),
    TrialState.RUNNING: ("runningTrialList", "trialsRunning"),
    TrialState.CREATED: ("pendingTrialList", "trialsPending"),
}


_T = TrialRow.__table__
_TALLY = (
    select(_T.c.state, func.count(), func.min(_T.c.objective), func.max(_T.c.objective))
    .where(_T.c.experiment_id == bindparam("experiment_id"))
    .group_by(_T.c.state)
)


@dataclass(frozen=True)
class Evaluation:
    status: dict[str, Any]
    completed: bool
    succeeded: bool
    reason: str
    trials_completed: int = 0  # Katib's completed trials (TrialState.is_completed), against maxTrialCount


@dataclass(frozen=True)
class _Brief:
    """What completion and status need of every trial (its JSON columns are read for the best one only)."""

    id: int
    name: str
    state: str
    objective: float | None


def experiment_status(session: Session, row: ExperimentRow, trials: list[_Brief]) -> dict[str, Any]:
    """The experiment's ``.status`` with Katib's keys (lists only when not empty, as Katib omits them)."""
    spec = Experiment.model_validate(row.spec).spec
    status: dict[str, Any] = {
        "startTime": rfc3339(row.created_at),
        "conditions": row.conditions,
        "trials": len(trials),
    }
    if row.completion_time is not None:
        status["completionTime"] = rfc3339(row.completion_time)
    status["lastReconcileTime"] = rfc3339(row.updated_at)
    for state, (list_key, count_key) in _LISTS.items():
        names = [t.name for t in trials if t.state == state.value]
        status[count_key] = len(names)
        if names:
            status[list_key] = names
    best = _best(spec.objective.type if spec.objective else None, trials)
    if best is not None:
        detail = session.get_one(TrialRow, best.id)
        status["currentOptimalTrial"] = {
            "bestTrialName": best.name,
            "parameterAssignments": detail.assignments,
            "observation": {"metrics": detail.metrics or []},
        }
    return status


def _better(objective_type: str | None, value: float, than: float) -> bool:
    return value > than if objective_type == c.OBJECTIVE_MAXIMIZE else value < than


def _best(objective_type: str | None, trials: list[_Brief]) -> _Brief | None:
    """The first trial with the best objective (Katib keeps the earlier one on ties)."""
    best: _Brief | None = None
    for t in trials:
        if t.objective is None or not TrialState(t.state).has_objective:
            continue
        if best is None or best.objective is None or _better(objective_type, t.objective, best.objective):
            best = t
    return best


def conclude(session: Session, row: ExperimentRow, experiment: Experiment | None = None) -> None:
    """Complete the (write-locked) experiment if a stop condition holds.

    Counts and the best objective come from aggregate queries: this runs after
    every trial, and the full trial list is only needed for the status.
    """
    if row.completed:
        return
    spec = (experiment or Experiment.model_validate(row.spec)).spec
    reason = _stop_reason(row, spec, *_tally(session, row, spec))
    if reason is not None:
        stamp = now()
        row.conditions = set_condition(row.conditions, reason, stamp)
        row.completed = True
        row.completion_time = stamp
        row.updated_at = stamp


def _tally(session: Session, row: ExperimentRow, spec: ExperimentSpec) -> tuple[dict[TrialState, int], float | None]:
    """Trials per state, and the best objective among those that have one, in one query."""
    objective = spec.objective
    maximize = objective is not None and objective.type == c.OBJECTIVE_MAXIMIZE
    counts: dict[TrialState, int] = {}
    values: list[float] = []
    for state, count, low, high in session.connection().execute(_TALLY, {"experiment_id": row.id}).all():
        counts[TrialState(state)] = count
        best = high if maximize else low
        if TrialState(state).has_objective and best is not None:
            values.append(best)
    return counts, (max(values) if maximize else min(values)) if values else None


def evaluate(store: Store, experiment_id: int) -> Evaluation:
    """Complete the experiment if a stop condition holds; one transaction, idempotent."""

    def run(session: Session) -> Evaluation:
        row = store.lock_experiment(session, experiment_id)
        conclude(session, row)
        trials = [
            _Brief(*columns)
            for columns in session.execute(
                select(TrialRow.id, TrialRow.name, TrialRow.state, TrialRow.objective)
                .where(TrialRow.experiment_id == experiment_id)
                .order_by(TrialRow.seq)
            ).all()
        ]
        final = final_condition(row.conditions)
        return Evaluation(
            experiment_status(session, row, trials),
            row.completed,
            final is not None and final["type"] == "Succeeded",
            final["reason"] if final else Reason.RUNNING[1],
            sum(1 for t in trials if TrialState(t.state).is_completed),
        )

    return store.transaction(run)


def _stop_reason(
    row: ExperimentRow, spec: ExperimentSpec, counts: dict[TrialState, int], best: float | None
) -> tuple[str, str, str] | None:
    objective = spec.objective
    if objective is not None and objective.goal is not None and best is not None:
        reached = best >= objective.goal if objective.type == c.OBJECTIVE_MAXIMIZE else best <= objective.goal
        if reached:
            return Reason.GOAL_REACHED
    failed = counts.get(TrialState.FAILED, 0) + counts.get(TrialState.METRICS_UNAVAILABLE, 0)
    if spec.max_failed_trial_count is not None and failed != 0 and failed >= spec.max_failed_trial_count:
        return Reason.FAILED
    completed = sum(n for s, n in counts.items() if s.is_completed)
    if spec.max_trial_count is not None and completed >= spec.max_trial_count:
        return Reason.MAX_TRIALS
    if row.algorithm_state.get("exhausted") and not any(n for s, n in counts.items() if s.is_active):
        return Reason.SUGGESTION_END
    return None
