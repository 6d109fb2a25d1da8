"""Claiming a slot's trial: reserve it, render it and (optionally) start it in one transaction.

This is the step both drivers take before running a trial: a local slot
before starting the process, an Argo lane's ``suggest`` step before creating
the run object. Asking again for the same slot returns the same trial, so a
restarted slot or a retried step never creates a second one. When no trial is
given, ``completed`` tells whether to stop asking (the experiment has ended)
or to ask again later (parallelism or a hyperband rung holds it back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..collectors import Observation
from ..history import TrialState
from ..spec.models import Experiment
from ..store import ExperimentRow, Store, TrialRow
from .evaluate import conclude
from .render import RenderedTrial, render_row
from .reserve import Slot, reserve_rows
from .trials import Outcome, finish_in
from .views import Trial, trial_view

__all__ = ["Claim", "claim_in", "claim_trial", "finish_and_claim", "resume_iterations"]


@dataclass(frozen=True)
class Claim:
    trial: Trial | None
    rendered: RenderedTrial | None  # None when there is no trial or it has already finished
    completed: bool
    # The trial was already Running before this claim: an earlier attempt may have created its run
    # object (a retried step, a resubmitted Workflow), so the driver must find it rather than create it.
    resumed: bool = False


def claim_trial(store: Store, experiment_id: int, slot: Slot, *, start: bool = False) -> Claim:
    """The slot's trial, rendered, and marked Running with ``start``; see the module docstring."""

    def run(session: Session) -> Claim:
        return claim_in(session, store.lock_experiment(session, experiment_id), slot, start=start)

    return store.transaction(run)


def finish_and_claim(
    store: Store,
    experiment_id: int,
    name: str,
    outcome: Outcome,
    message: str,
    next_slot: Slot,
    *,
    observations: Sequence[Observation] = (),
    first_seq: int | None = None,
) -> tuple[Trial, Claim]:
    """:func:`~katib_flow.engine.finish_trial`, then :func:`claim_trial` of ``next_slot`` (started), in one transaction.

    What a local slot does between two trials; one transaction instead of two
    (a lock, a commit and a history read less per trial). The claim sees the
    finished trial, so the algorithm learns from it and a reached goal or
    budget gives no new trial.
    """

    def run(session: Session) -> tuple[Trial, Claim]:
        row = store.lock_experiment(session, experiment_id)
        finished = finish_in(session, row, name, outcome, message, observations, first_seq)
        return finished, claim_in(session, row, next_slot, start=True)

    return store.transaction(run)


def resume_iterations(store: Store, experiment_id: int, lanes: int) -> dict[int, int]:
    """Per lane, the first iteration a restarted driver must go through again.

    That is the lane's first slot whose trial is still active (it may need to
    be resumed), else the one after its last claimed slot. Slots before it
    hold finished trials, or were passed over without a trial (nothing could
    start then), so skipping them runs nothing twice and loses nothing.
    """

    def run(session: Session) -> dict[int, int]:
        query = select(TrialRow.lane, TrialRow.iteration, TrialRow.state).where(TrialRow.experiment_id == experiment_id)
        active: dict[int, int] = {}
        after: dict[int, int] = {}
        for lane, iteration, state in session.execute(query):
            if TrialState(state).is_active:
                active[lane] = min(active.get(lane, iteration), iteration)
            after[lane] = max(after.get(lane, 0), iteration + 1)
        return {lane: active.get(lane, after.get(lane, 0)) for lane in range(lanes)}

    return store.transaction(run)


def claim_in(session: Session, row: ExperimentRow, slot: Slot, *, start: bool) -> Claim:
    """:func:`claim_trial` inside the caller's transaction, ``row`` write-locked."""
    (trial,) = reserve_rows(session, row, [slot])
    if trial is None:
        # An exhausted algorithm with nothing running ends the experiment here.
        conclude(session, row)
        return Claim(None, None, row.completed)
    rendered = None
    resumed = trial.state == TrialState.RUNNING.value
    if TrialState(trial.state).is_active:
        # Rendered before the new row is flushed: one INSERT, already Running with ``start``.
        rendered = render_row(trial, Experiment.model_validate(row.spec), start=start)
    session.flush()
    return Claim(trial_view(trial), rendered, row.completed, resumed)
