"""Storing an experiment, and resuming one that is already stored."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..exceptions import ExperimentExistsError, SpecError, StorageError
from ..history import TrialState
from ..spec import check
from ..spec import constants as c
from ..spec.models import Experiment
from ..store import ExperimentRow, ObservationRow, Store, TrialRow
from .clock import now
from .conditions import Reason, current_condition, final_condition, set_condition
from .views import StoredExperiment, experiment_view

__all__ = [
    "ExperimentSummary",
    "delete_experiment",
    "find_experiment",
    "init_experiment",
    "list_experiments",
    "set_workdir",
]

_BUDGETS = ("parallelTrialCount", "maxTrialCount", "maxFailedTrialCount")
Existing = Literal["error", "resume", "reuse"]


def init_experiment(store: Store, experiment: Experiment, *, existing: Existing = "error") -> StoredExperiment:
    """Validate, default and store ``experiment``; one transaction, safe to call again.

    ``existing`` says what to do when an experiment of that name is stored:
    ``error`` refuses, ``resume`` continues it, ``reuse`` (Argo's retried init)
    continues it or creates it. Continuing accepts only budget changes, as
    Katib's update rules do; raising ``maxTrialCount`` reopens an experiment
    that ended with ExperimentMaxTrialsReached when its resumePolicy is
    LongRunning or FromVolume (Katib's restart rule).
    """
    defaulted = check(experiment)
    name, namespace = defaulted.name, defaulted.namespace or ""
    document = defaulted.to_dict()

    def run(session: Session) -> StoredExperiment:
        row = _by_name(session, name, namespace)
        if row is None:
            if existing == "resume":
                raise StorageError(f"there is no experiment named {name!r} to resume in {store.display_url}")
            stamp = now()
            row = ExperimentRow(
                name=name,
                namespace=namespace,
                spec=document,
                seed=_seed(defaulted),
                conditions=set_condition(set_condition([], Reason.CREATED, stamp), Reason.RUNNING, stamp),
                completed=False,
                algorithm_state={},
                created_at=stamp,
                updated_at=stamp,
            )
            session.add(row)
            session.flush()
            return experiment_view(row)
        if existing == "error":
            raise ExperimentExistsError(
                f"an experiment named {name!r} already exists in {store.display_url}; "
                "resume it (katib-flow run --resume) or choose another metadata.name",
                name,
            )
        store.lock_experiment(session, row.id)
        _check_update(row, document, session)
        return experiment_view(row)

    try:
        return store.transaction(run)
    except StorageError as err:
        if existing == "error" or not isinstance(err.__cause__, IntegrityError):
            raise
        # Another process stored the same experiment between our read and our insert.
        return store.transaction(run)


def find_experiment(
    store: Store, name: str, namespace: str | None = None, *, any_namespace: bool = False
) -> StoredExperiment:
    """The stored experiment ``name`` in ``namespace`` ("" or None: none).

    With ``any_namespace`` and no namespace given (what people type at the
    command line), a name stored in exactly one namespace is found there, and
    a name stored in several is an error listing them.
    """

    def run(session: Session) -> StoredExperiment:
        if namespace is None and any_namespace:
            rows = list(session.execute(select(ExperimentRow).where(ExperimentRow.name == name)).scalars())
            if len(rows) > 1:
                listed = ", ".join(sorted(repr(r.namespace) if r.namespace else "(none)" for r in rows))
                raise StorageError(
                    f"experiments named {name!r} exist in several namespaces ({listed}) in {store.display_url}; "
                    "choose one with --namespace"
                )
            row = rows[0] if rows else None
        else:
            row = _by_name(session, name, namespace or "")
        if row is None:
            where = f" in namespace {namespace!r}" if namespace else ""
            raise StorageError(f"no experiment named {name!r}{where} in {store.display_url}")
        return experiment_view(row)

    return store.transaction(run)


def set_workdir(store: Store, experiment_id: int, workdir: str) -> None:
    """Remember where the local runner puts this experiment's trial folders."""

    def run(session: Session) -> None:
        row = store.lock_experiment(session, experiment_id)
        if row.workdir != workdir:
            row.workdir = workdir

    store.transaction(run)


@dataclass(frozen=True)
class ExperimentSummary:
    """One row of ``katib-flow list``."""

    name: str
    namespace: str
    state: str  # Succeeded, Failed, Running or Created, from the conditions
    reason: str
    trials: int
    succeeded: int
    best_objective: float | None
    objective_metric: str
    created_at: datetime


def list_experiments(store: Store) -> list[ExperimentSummary]:
    """Every stored experiment with its state, trial counts and best objective; one read transaction."""

    def run(session: Session) -> list[ExperimentSummary]:
        counts: dict[int, tuple[int, int, float | None, float | None]] = {}
        good = [TrialState.SUCCEEDED.value, TrialState.EARLY_STOPPED.value]
        rows = session.execute(
            select(
                TrialRow.experiment_id,
                func.count(),
                func.sum(case((TrialRow.state == TrialState.SUCCEEDED.value, 1), else_=0)),
                func.min(case((TrialRow.state.in_(good), TrialRow.objective))),
                func.max(case((TrialRow.state.in_(good), TrialRow.objective))),
            ).group_by(TrialRow.experiment_id)
        ).all()
        for experiment_id, total, succeeded, low, high in rows:
            counts[experiment_id] = (total, int(succeeded or 0), low, high)
        summaries = []
        for row in session.execute(select(ExperimentRow).order_by(ExperimentRow.created_at)).scalars():
            total, succeeded, low, high = counts.get(row.id, (0, 0, None, None))
            spec = row.spec.get("spec", {})
            objective = spec.get("objective") or {}
            standing = current_condition(row.conditions)
            state, reason = (standing["type"], str(standing.get("reason", ""))) if standing else ("Unknown", "")
            summaries.append(
                ExperimentSummary(
                    name=row.name,
                    namespace=row.namespace,
                    state=state,
                    reason=reason,
                    trials=total,
                    succeeded=succeeded,
                    best_objective=high if objective.get("type") == c.OBJECTIVE_MAXIMIZE else low,
                    objective_metric=objective.get("objectiveMetricName", ""),
                    created_at=row.created_at,
                )
            )
        return summaries

    return store.transaction(run)


def delete_experiment(store: Store, experiment_id: int) -> int:
    """Delete an experiment with its trials and observations; returns how many trials went with it."""

    def run(session: Session) -> int:
        store.lock_experiment(session, experiment_id)
        session.execute(delete(ObservationRow).where(ObservationRow.experiment_id == experiment_id))
        removed = session.execute(
            select(func.count()).select_from(TrialRow).where(TrialRow.experiment_id == experiment_id)
        ).scalar_one()
        session.execute(delete(TrialRow).where(TrialRow.experiment_id == experiment_id))
        session.execute(delete(ExperimentRow).where(ExperimentRow.id == experiment_id))
        return int(removed or 0)

    return store.transaction(run)


def _by_name(session: Session, name: str, namespace: str) -> ExperimentRow | None:
    return session.execute(
        select(ExperimentRow).where(ExperimentRow.name == name, ExperimentRow.namespace == namespace)
    ).scalar_one_or_none()


def _seed(experiment: Experiment) -> int:
    algorithm = experiment.spec.algorithm
    for setting in (algorithm.algorithm_settings or []) if algorithm else []:
        if setting.name == "random_state" and setting.value and setting.value.isdigit():
            return int(setting.value)
    return secrets.randbits(31)


def _without_budgets(document: dict[str, Any]) -> dict[str, Any]:
    spec = {k: v for k, v in document.get("spec", {}).items() if k not in _BUDGETS}
    return {**{k: v for k, v in document.items() if k not in ("spec", "status")}, "spec": spec}


def _check_update(row: ExperimentRow, document: dict[str, Any], session: Session) -> None:
    if _without_budgets(row.spec) != _without_budgets(document):
        raise SpecError.single(
            "spec",
            "only spec.parallelTrialCount, spec.maxTrialCount and spec.maxFailedTrialCount can change "
            "when an experiment is resumed (Katib's update rule); use a new metadata.name for a different experiment",
        )
    if row.spec == document:
        return
    trials = session.execute(
        select(func.count())
        .select_from(TrialRow)
        .where(TrialRow.experiment_id == row.id, TrialRow.state != TrialState.KILLED.value)
    ).scalar_one()
    new_max = document["spec"].get("maxTrialCount")
    if row.completed:
        final = final_condition(row.conditions)
        reason = final["reason"] if final else ""
        policy = document["spec"].get("resumePolicy")
        if reason != Reason.MAX_TRIALS[1] or policy not in (c.RESUME_LONG_RUNNING, c.RESUME_FROM_VOLUME):
            raise SpecError.single(
                "spec.resumePolicy",
                "a completed experiment can be restarted only if it succeeded by reaching maxTrialCount and "
                "spec.resumePolicy is LongRunning or FromVolume (Katib's restart rule)",
            )
    if new_max is not None and new_max <= trials:
        raise SpecError.single("spec.maxTrialCount", f"must be greater than the {trials} trials already run")
    stamp = now()
    row.spec = document
    row.updated_at = stamp
    if row.completed:
        row.completed = False
        row.completion_time = None
        row.algorithm_state = {**row.algorithm_state, "exhausted": False}
        row.conditions = set_condition(row.conditions, Reason.RESTARTING, stamp)
        row.conditions = set_condition(row.conditions, Reason.RUNNING, stamp)
