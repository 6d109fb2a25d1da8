"""Reserving trials: the one place new trials are created.

Under the experiment's write lock, count what runs and what the budget
allows, ask the suggester with the full history, and insert the new trials
with deterministic names. Each request names a slot (lane, iteration): asking
again for a slot that already has a trial returns that trial, so a retried Argo
step or a restarted local slot never creates a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..algorithms import suggester_for
from ..history import Proposal, TrialRecord, TrialState
from ..spec.models import Experiment
from ..store import ExperimentRow, Store, TrialRow
from .clock import now
from .views import Trial, current_stop_rules, load_history, trial_view

__all__ = ["RERUN_OF", "Slot", "reruns", "reserve_in", "reserve_rows", "reserve_trials", "trial_name"]

Slot = tuple[int, int]
RERUN_OF = "rerunOf"

_SLOT = select(TrialRow).where(
    TrialRow.experiment_id == bindparam("experiment_id"),
    TrialRow.lane == bindparam("lane"),
    TrialRow.iteration == bindparam("iteration"),
)


def trial_name(experiment: str, seed: int, seq: int, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """``<experiment>-<8 hex>`` like Katib's trial names, derived from the experiment's seed and the trial's number."""
    digest = hashlib.sha256(f"{seed}:{seq}".encode()).hexdigest()
    for width in (8, 12, 16, 64):
        name = f"{experiment}-{digest[:width]}"
        if name not in taken:
            return name
    raise AssertionError("sha256 prefixes of distinct inputs collided at full length")  # pragma: no cover


def reserve_trials(store: Store, experiment_id: int, slots: Sequence[Slot]) -> list[Trial | None]:
    """The trial of each slot; None where the budget, parallelism or the algorithm allows none now."""

    def run(session: Session) -> list[Trial | None]:
        return reserve_in(session, store.lock_experiment(session, experiment_id), slots)

    return store.transaction(run)


def reserve_in(session: Session, row: ExperimentRow, slots: Sequence[Slot]) -> list[Trial | None]:
    """:func:`reserve_trials` inside the caller's transaction, ``row`` write-locked."""
    rows = reserve_rows(session, row, slots)
    session.flush()
    return [None if t is None else trial_view(t) for t in rows]


def reserve_rows(session: Session, row: ExperimentRow, slots: Sequence[Slot]) -> list[TrialRow | None]:
    """The trial rows of ``slots``, new ones added to the session but not flushed yet."""
    if not slots:
        return []
    result: dict[Slot, TrialRow] = {}
    for lane, iteration in dict.fromkeys(slots):
        taken = session.execute(_SLOT, {"experiment_id": row.id, "lane": lane, "iteration": iteration}).scalar()
        if taken is not None:
            result[(lane, iteration)] = taken
    pending = [slot for slot in dict.fromkeys(slots) if slot not in result]
    if pending and not row.completed and not row.algorithm_state.get("exhausted"):
        # The history is only read when a new trial may be created (a retried step skips it).
        trials = load_history(session, row.id)
        for slot, created in zip(pending, _create(session, row, trials, len(pending)), strict=False):
            created.lane, created.iteration = slot
            session.add(created)
            result[slot] = created
    return [result.get(slot) for slot in slots]


def reruns(trials: Sequence[TrialRecord]) -> list[Proposal]:
    """The points of killed trials not run again yet, oldest first, with the data their algorithm gave them.

    A killed trial is an interruption (Ctrl-C, a lost runner), not a result:
    its point is given back whatever the algorithm, so a grid, a Sobol sequence
    or a hyperband rung interrupted mid-way is still covered in full. The new
    trial names the one it replaces (``rerunOf``), so each is run again once.
    """
    replaced = {t.data.get(RERUN_OF) for t in trials}
    return [
        Proposal(dict(t.assignments), {**t.data, RERUN_OF: t.name})
        for t in trials
        if t.state is TrialState.KILLED and t.name not in replaced
    ]


def _create(session: Session, row: ExperimentRow, trials: list[TrialRecord], wanted: int) -> list[TrialRow]:
    experiment = Experiment.model_validate(row.spec)
    spec = experiment.spec
    active = sum(1 for t in trials if t.state.is_active)
    counted = sum(1 for t in trials if t.state is not TrialState.KILLED)
    allowed = min(wanted, (spec.parallel_trial_count or 1) - active)
    if spec.max_trial_count is not None:
        allowed = min(allowed, spec.max_trial_count - counted)
    if allowed <= 0:
        return []
    algorithm = spec.algorithm
    assert algorithm is not None and algorithm.algorithm_name and spec.objective is not None
    suggester = suggester_for(experiment, row.seed)
    proposals = reruns(trials)[:allowed]
    if len(proposals) < allowed:
        proposals += suggester.suggest(trials, allowed - len(proposals))
    if not proposals and active == 0:
        # Nothing runs and the algorithm has nothing to offer: the experiment ends
        # (ExperimentSuggestionEndReached) instead of waiting forever as Katib does.
        row.algorithm_state = {**row.algorithm_state, "exhausted": True}
    stamp = now()
    rules = [r.to_dict() for r in current_stop_rules(session, row.id, experiment)] if proposals else []
    taken = {t.name for t in trials}
    created = []
    for i, proposal in enumerate(proposals[:allowed]):
        seq = len(trials) + i
        name = trial_name(row.name, row.seed, seq, taken)
        taken.add(name)
        created.append(
            TrialRow(
                experiment_id=row.id,
                name=name,
                seq=seq,
                lane=-1,
                iteration=-1,
                assignments=[
                    {"name": p.name, "value": proposal.assignments[p.name]} for p in suggester.space.parameters
                ],
                data=proposal.data,
                stop_rules=rules,
                state=TrialState.CREATED.value,
                reason="TrialCreated",
                message="Trial is created",
                created_at=stamp,
            )
        )
    row.updated_at = stamp
    return created
