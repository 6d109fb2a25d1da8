"""Whether a finished run has a result a user can take, and why not when it has none.

Katib's conditions say Succeeded when ``maxTrialCount`` trials have *completed*,
failed ones included; katib-flow keeps those conditions as Katib computes
them, but a run with no successful trial has no best trial to report, and the
drivers say so instead of printing "succeeded" over an empty result.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..exceptions import ExperimentFailedError, TrialFailure
from ..history import TrialState
from ..store import Store, TrialRow
from .evaluate import Evaluation

__all__ = ["first_failures", "has_result", "result_error"]

_FAILED = (TrialState.FAILED.value, TrialState.METRICS_UNAVAILABLE.value)


def has_result(evaluation: Evaluation) -> bool:
    """The experiment did not fail and at least one trial gave an objective value."""
    return bool(evaluation.status.get("currentOptimalTrial")) and not (
        evaluation.completed and not evaluation.succeeded
    )


def first_failures(store: Store, experiment_id: int, limit: int = 3) -> list[TrialFailure]:
    """The first ``limit`` trials that ended Failed or MetricsUnavailable, in creation order."""

    def run(session: Session) -> list[TrialFailure]:
        rows = session.execute(
            select(TrialRow.name, TrialRow.state, TrialRow.message)
            .where(TrialRow.experiment_id == experiment_id, TrialRow.state.in_(_FAILED))
            .order_by(TrialRow.seq)
            .limit(limit)
        ).all()
        return [TrialFailure(name, state, message) for name, state, message in rows]

    return store.transaction(run)


def result_error(store: Store, experiment_id: int, name: str, evaluation: Evaluation) -> ExperimentFailedError | None:
    """The error to raise (or print) for a completed run without a result; None when it has one."""
    if not evaluation.completed or has_result(evaluation):
        return None
    return ExperimentFailedError(name, evaluation.reason, evaluation.status, first_failures(store, experiment_id))
