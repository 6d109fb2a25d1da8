"""Read-only views of stored trials and the loading of an experiment's history.

History loading is a few queries per table (trials, then the objective
metric's observations when early stopping needs them), never one per trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from ..earlystopping.base import StopRule
from ..history import TrialRecord, TrialState
from ..spec.models import Experiment
from ..store.models import ExperimentRow, ObservationRow, TrialRow

_CHUNK = 500  # ids per IN (...) list, well under SQLite's and MySQL's limits

__all__ = [
    "StoredExperiment",
    "Trial",
    "current_stop_rules",
    "experiment_view",
    "load_history",
    "trial_view",
]


@dataclass(frozen=True)
class Trial:
    """A trial as the drivers see it."""

    name: str
    experiment_id: int
    seq: int
    lane: int
    iteration: int
    assignments: dict[str, str]
    state: TrialState
    reason: str = ""
    message: str = ""
    objective: float | None = None
    metrics: list[dict[str, str]] = field(default_factory=list)
    run_object: dict[str, Any] | None = None
    stop_rules: list[StopRule] = field(default_factory=list)
    created_at: datetime | None = None
    start_time: datetime | None = None
    completion_time: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)  # what the algorithm attached (PBT: generation, parent)


@dataclass(frozen=True)
class StoredExperiment:
    id: int
    experiment: Experiment
    seed: int
    completed: bool
    conditions: list[dict[str, Any]]
    algorithm_state: Mapping[str, Any]
    created_at: datetime
    completion_time: datetime | None
    workdir: str | None = None
    namespace: str = ""
    owner: str | None = None  # the local runner holding the experiment, and when it last said so
    owner_heartbeat: datetime | None = None

    @property
    def identity(self) -> str:
        """Names this stored experiment among every database: its trial folders carry it."""
        return f"{self.namespace}/{self.experiment.name}/{self.seed}/{self.created_at.isoformat()}"


def trial_view(row: TrialRow) -> Trial:
    return Trial(
        name=row.name,
        experiment_id=row.experiment_id,
        seq=row.seq,
        lane=row.lane,
        iteration=row.iteration,
        assignments={a["name"]: a["value"] for a in row.assignments},
        state=TrialState(row.state),
        reason=row.reason,
        message=row.message,
        objective=row.objective,
        metrics=list(row.metrics or []),
        run_object=row.run_object,
        stop_rules=[StopRule.from_dict(r) for r in row.stop_rules or []],
        created_at=row.created_at,
        start_time=row.start_time,
        completion_time=row.completion_time,
        data=dict(row.data or {}),
    )


def experiment_view(row: ExperimentRow) -> StoredExperiment:
    return StoredExperiment(
        id=row.id,
        experiment=Experiment.model_validate(row.spec),
        seed=row.seed,
        completed=row.completed,
        conditions=list(row.conditions or []),
        algorithm_state=dict(row.algorithm_state or {}),
        created_at=row.created_at,
        completion_time=row.completion_time,
        workdir=row.workdir,
        namespace=row.namespace,
        owner=row.owner,
        owner_heartbeat=row.owner_heartbeat,
    )


def current_stop_rules(session: Session, experiment_id: int, experiment: Experiment) -> list[StopRule]:
    """The early-stopping rules of the moment (none without spec.earlyStopping)."""
    from ..earlystopping import create_early_stopper, external_early_stopper

    spec = experiment.spec
    es, objective = spec.early_stopping, spec.objective
    if es is None or not es.algorithm_name or objective is None or not objective.objective_metric_name:
        return []
    stopper = external_early_stopper(experiment) or create_early_stopper(
        es.algorithm_name, objective.objective_metric_name, objective.type or "minimize", es.algorithm_settings
    )
    return stopper.rules(load_history(session, experiment_id, objective.objective_metric_name))


_T, _O = TrialRow.__table__, ObservationRow.__table__
_REST = (
    select(_T.c.seq, _T.c.state)
    .where(_T.c.experiment_id == bindparam("experiment_id"), _T.c.seq >= bindparam("start"))
    .order_by(_T.c.seq)
)
_ROWS = select(_T.c.seq, _T.c.name, _T.c.assignments, _T.c.state, _T.c.objective, _T.c.data).where(
    _T.c.experiment_id == bindparam("experiment_id"), _T.c.seq.in_(bindparam("seqs", expanding=True))
)
_SERIES = (
    select(_O.c.trial_name, _O.c.value)
    .where(_O.c.experiment_id == bindparam("experiment_id"), _O.c.metric_name == bindparam("metric"))
    .order_by(_O.c.time, _O.c.id)
)


@dataclass
class _Finished:
    """The finished trials of one experiment: ``prefix`` holds seq 0..n-1 (all finished), ``later`` the others."""

    prefix: list[TrialRecord] = field(default_factory=list)
    later: dict[int, TrialRecord] = field(default_factory=dict)


# Finished trials never change again and ``seq`` numbers trials 0, 1, 2, ..., so each process
# keeps their records (per database engine and experiment) and a history load reads only the
# trials from the first unfinished one on: the local runner and a long Argo lane load the
# history before every trial.
_FINISHED: WeakKeyDictionary[Engine, dict[int, _Finished]] = WeakKeyDictionary()


def load_history(session: Session, experiment_id: int, objective_metric: str | None = None) -> list[TrialRecord]:
    """Every trial in creation order; with ``objective_metric``, each trial's reported series of it."""
    known = _FINISHED.setdefault(session.get_bind().engine, {}).setdefault(experiment_id, _Finished())
    start = len(known.prefix)
    conn = session.connection()
    rest = conn.execute(_REST, {"experiment_id": experiment_id, "start": start}).all()
    missing = [seq for seq, _ in rest if seq not in known.later]
    # Plain column tuples, not ORM objects: loading 10,000 trials is dominated by per-row overhead.
    loaded: dict[int, TrialRecord] = {}
    for chunk in range(0, len(missing), _CHUNK):
        seqs = missing[chunk : chunk + _CHUNK]
        for seq, name, assignments, state, objective, data in conn.execute(
            _ROWS, {"experiment_id": experiment_id, "seqs": seqs}
        ).all():
            record = TrialRecord(
                name=name,
                assignments={a["name"]: a["value"] for a in assignments},
                state=TrialState(state),
                objective=objective,
                data=data or {},
            )
            loaded[seq] = record
            if not record.state.is_active:
                known.later[seq] = record
    records = [*known.prefix, *(loaded.get(seq) or known.later[seq] for seq, _ in rest)]
    while len(known.prefix) in known.later:
        known.prefix.append(known.later.pop(len(known.prefix)))
    if objective_metric is None:
        return records
    series: dict[str, list[float]] = {}
    observations = conn.execute(_SERIES, {"experiment_id": experiment_id, "metric": objective_metric}).all()
    for trial_name, value in observations:
        try:
            series.setdefault(trial_name, []).append(float(value))
        except ValueError:
            continue
    return [replace(r, objective_series=tuple(series[r.name])) if r.name in series else r for r in records]
