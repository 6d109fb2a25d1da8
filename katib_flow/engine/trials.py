"""Trial transitions: running, observations recorded, finished. Each call is one transaction and idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..collectors import Observation, metric_names, objective_value, summarize
from ..earlystopping.base import StopRule
from ..exceptions import StorageError
from ..history import TrialState
from ..spec.models import Experiment
from ..store import ExperimentRow, ObservationRow, Store, TrialRow
from .clock import now, to_naive_utc
from .evaluate import conclude
from .views import Trial, current_stop_rules, trial_view

__all__ = [
    "EARLY_STOPPED_MESSAGE",
    "Outcome",
    "finish_trial",
    "mark_running",
    "record_observations",
    "running_trial_experiment",
    "stop_rules",
]


EARLY_STOPPED_MESSAGE = "Trial is early stopped: every early-stopping rule holds"


class Outcome(str, Enum):
    """How a trial's run ended, as the driver saw it."""

    SUCCEEDED = "succeeded"  # the run object met its success condition (process exit 0)
    FAILED = "failed"  # the run object met its failure condition
    EARLY_STOPPED = "early-stopped"  # stopped by a stop rule
    KILLED = "killed"  # stopped by the user or lost with its runner


_FINAL = {s.value for s in TrialState if not s.is_active}

_O = ObservationRow.__table__
_TRIAL = select(TrialRow).where(
    TrialRow.experiment_id == bindparam("experiment_id"), TrialRow.name == bindparam("name")
)
_LAST_SEQ = select(func.max(_O.c.seq)).where(
    _O.c.experiment_id == bindparam("experiment_id"),
    _O.c.trial_name == bindparam("name"),
    _O.c.source == bindparam("source"),
)
_OBSERVATIONS = (
    select(_O.c.metric_name, _O.c.value, _O.c.time, _O.c.step)
    .where(_O.c.experiment_id == bindparam("experiment_id"), _O.c.trial_name == bindparam("name"))
    .order_by(_O.c.time, _O.c.id)
)


@dataclass(frozen=True)
class LoadedTrial:
    row: TrialRow
    experiment: Experiment


def _trial_row(session: Session, experiment_id: int, name: str) -> TrialRow:
    row = session.execute(_TRIAL, {"experiment_id": experiment_id, "name": name}).scalar_one_or_none()
    if row is None:
        raise StorageError(f"no trial named {name!r} in experiment {experiment_id}")
    return row


def load_trial(session: Session, experiment_id: int, name: str) -> LoadedTrial:
    """A trial's row and its experiment, inside the caller's transaction."""
    row = _trial_row(session, experiment_id, name)
    return LoadedTrial(row, Experiment.model_validate(session.get_one(ExperimentRow, experiment_id).spec))


def mark_running(store: Store, experiment_id: int, name: str) -> Trial:
    def run(session: Session) -> Trial:
        row = _trial_row(session, experiment_id, name)
        start_running(row)
        return trial_view(row)

    return store.transaction(run)


def start_running(row: TrialRow) -> None:
    """Created -> Running, inside the caller's transaction."""
    if row.state == TrialState.CREATED.value:
        row.state, row.reason, row.message = TrialState.RUNNING.value, "TrialRunning", "Trial is running"
        row.start_time = now()


def record_observations(
    store: Store,
    experiment_id: int,
    name: str,
    observations: Sequence[Observation],
    *,
    source: str = "collector",
    first_seq: int | None = None,
) -> int:
    """Store observations ``first_seq, first_seq + 1, ...`` of a trial's ``source``; returns the next number.

    A collector re-reading the same log passes the same numbers, and what is
    already stored is skipped, so a retried collection records nothing twice.
    Without ``first_seq`` (pushed metrics) the observations are appended.
    """

    def run(session: Session) -> int:
        _trial_row(session, experiment_id, name)
        return _insert_observations(session, experiment_id, name, observations, source, first_seq)

    try:
        return store.transaction(run)
    except StorageError as err:
        if isinstance(err.__cause__, IntegrityError):  # a concurrent collector stored them first
            return store.transaction(run)
        raise


def running_trial_experiment(store: Store, name: str) -> int:
    """The id of the experiment whose Running trial is named ``name`` (a trial that knows only its name)."""

    def run(session: Session) -> list[int]:
        query = select(TrialRow.experiment_id).where(TrialRow.name == name, TrialRow.state == TrialState.RUNNING.value)
        return list(session.execute(query).scalars())

    found = store.transaction(run)
    if len(found) != 1:
        what = "no Running trial" if not found else f"{len(found)} Running trials"
        raise StorageError(f"{what} named {name!r} in {store.display_url}: set KATIB_FLOW_EXPERIMENT_ID to say which")
    return found[0]


def _insert_observations(
    session: Session,
    experiment_id: int,
    name: str,
    observations: Sequence[Observation],
    source: str,
    first_seq: int | None,
) -> int:
    stored = (
        session.connection()
        .execute(_LAST_SEQ, {"experiment_id": experiment_id, "name": name, "source": source})
        .scalar_one()
    )
    next_free = -1 if stored is None else stored
    start = next_free + 1 if first_seq is None else first_seq
    rows = [
        {
            "experiment_id": experiment_id,
            "trial_name": name,
            "time": to_naive_utc(o.timestamp),
            "metric_name": o.metric,
            "value": o.value[:255],
            "step": o.step,
            "source": source,
            "seq": start + i,
        }
        for i, o in enumerate(observations)
        if start + i > next_free
    ]
    if rows:  # one multi-row INSERT, without the ORM's per-object bookkeeping
        session.execute(insert(ObservationRow), rows)
    return start + len(observations)


def finish_trial(
    store: Store,
    experiment_id: int,
    name: str,
    outcome: Outcome,
    message: str = "",
    *,
    observations: Sequence[Observation] = (),
    first_seq: int | None = None,
) -> Trial:
    """Close a trial: metrics by strategy, then Succeeded, MetricsUnavailable, Failed, EarlyStopped or Killed.

    ``observations`` (numbered from ``first_seq``, as for :func:`record_observations`)
    are the last ones collected, stored in the same transaction. The experiment
    is completed in that transaction too when a stop condition now holds (the
    goal, a budget), so no driver can start a trial past the end. A finished
    trial is returned unchanged, so a retried step changes nothing.
    """

    def run(session: Session) -> Trial:
        experiment_row = store.lock_experiment(session, experiment_id)
        return finish_in(session, experiment_row, name, outcome, message, observations, first_seq)

    return store.transaction(run)


def finish_in(
    session: Session,
    experiment_row: ExperimentRow,
    name: str,
    outcome: Outcome,
    message: str = "",
    observations: Sequence[Observation] = (),
    first_seq: int | None = None,
) -> Trial:
    """:func:`finish_trial` inside the caller's transaction, ``experiment_row`` write-locked."""
    experiment_id = experiment_row.id
    loaded = load_trial(session, experiment_id, name)
    row, spec = loaded.row, loaded.experiment.spec
    if row.state in _FINAL:
        return trial_view(row)
    if observations:
        _insert_observations(session, experiment_id, name, observations, "collector", first_seq)
    objective = spec.objective
    assert objective is not None and objective.objective_metric_name
    stored = [
        Observation(*columns)
        for columns in session.connection().execute(_OBSERVATIONS, {"experiment_id": experiment_id, "name": name})
    ]
    summaries = summarize(stored, metric_names(objective))
    strategies = {s.name: s.value for s in objective.metric_strategies or [] if s.name and s.value}
    value = objective_value(summaries, objective.objective_metric_name, strategies)
    row.metrics = [s.to_dict() for s in summaries]
    row.objective = value
    row.completion_time = now()
    if row.start_time is None:
        row.start_time = row.completion_time
    if outcome is Outcome.KILLED:
        state, reason, text = TrialState.KILLED, "TrialKilled", message or "Trial is killed"
    elif outcome is Outcome.FAILED:
        state, reason, text = TrialState.FAILED, "TrialFailed", message or "Trial has failed"
    elif outcome is Outcome.EARLY_STOPPED:
        state, reason, text = TrialState.EARLY_STOPPED, "TrialEarlyStopped", message or "Trial is early stopped"
    elif value is None:
        state, reason = TrialState.METRICS_UNAVAILABLE, "MetricsUnavailable"
        text = message or f"Metrics are not available: no numeric value of {objective.objective_metric_name!r}"
    else:
        state, reason, text = TrialState.SUCCEEDED, "TrialSucceeded", message or "Trial has succeeded"
    row.state, row.reason, row.message = state.value, reason, text
    session.flush()
    conclude(session, experiment_row, loaded.experiment)
    return trial_view(row)


def stop_rules(store: Store, experiment_id: int) -> list[StopRule]:
    """The early-stopping rules running trials are held to now (none without spec.earlyStopping)."""

    def run(session: Session) -> list[StopRule]:
        experiment = Experiment.model_validate(session.get_one(ExperimentRow, experiment_id).spec)
        return current_stop_rules(session, experiment_id, experiment)

    return store.transaction(run)
