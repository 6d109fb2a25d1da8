"""Katib's observation log over katib-flow's store: what Katib's DBManager service reads, writes and deletes.

Katib's DBManager knows trials by name only (Katib's trial names are unique in
a namespace); katib-flow's are unique within an experiment, so a trial is
found by name: the Running one of that name, else the only one
(:func:`trial_by_name`). Reported observations are appended as pushed ones
(source ``katib``), so a Custom collector or Katib's SDK ``report_metrics``
reporting through the DBManager behaves like ``katib_flow.report_metrics``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..collectors import Observation
from ..exceptions import StorageError
from ..history import TrialState
from ..store import ObservationRow, Store, TrialRow
from .trials import record_observations

__all__ = ["delete_observation_log", "observation_log", "report_observation_log", "trial_by_name"]


def trial_by_name(session: Session, name: str, store: Store) -> int:
    """The experiment id of trial ``name``: its Running trial, else its only trial; StorageError otherwise."""
    rows = list(session.execute(select(TrialRow.experiment_id, TrialRow.state).where(TrialRow.name == name)))
    running = [experiment for experiment, state in rows if state == TrialState.RUNNING.value]
    if len(running) == 1:
        return int(running[0])
    if len(rows) == 1:
        return int(rows[0][0])
    what = "no trial" if not rows else f"{len(rows)} trials ({len(running)} Running)"
    raise StorageError(f"{what} named {name!r} in {store.display_url}")


def report_observation_log(store: Store, name: str, observations: Sequence[Observation]) -> None:
    """Append ``observations`` to trial ``name``'s log."""
    experiment_id = store.transaction(lambda session: trial_by_name(session, name, store))
    record_observations(store, experiment_id, name, observations, source="katib")


def observation_log(
    store: Store, name: str, metric: str = "", start: datetime | None = None, end: datetime | None = None
) -> list[Observation]:
    """Trial ``name``'s observations in report order, of ``metric`` if given, within [start, end] if given."""

    def run(session: Session) -> list[Observation]:
        experiment_id = trial_by_name(session, name, store)
        query = select(
            ObservationRow.metric_name, ObservationRow.value, ObservationRow.time, ObservationRow.step
        ).where(ObservationRow.experiment_id == experiment_id, ObservationRow.trial_name == name)
        if metric:
            query = query.where(ObservationRow.metric_name == metric)
        if start is not None:
            query = query.where(ObservationRow.time >= start)
        if end is not None:
            query = query.where(ObservationRow.time <= end)
        query = query.order_by(ObservationRow.time, ObservationRow.id)
        return [Observation(m, v, t, s) for m, v, t, s in session.execute(query)]

    return store.transaction(run)


def delete_observation_log(store: Store, name: str) -> int:
    """Delete trial ``name``'s observations; how many there were."""

    def run(session: Session) -> int:
        experiment_id = trial_by_name(session, name, store)
        rows = (ObservationRow.experiment_id == experiment_id, ObservationRow.trial_name == name)
        count = session.execute(select(func.count()).select_from(ObservationRow).where(*rows)).scalar_one()
        session.execute(delete(ObservationRow).where(*rows))
        return int(count)

    return store.transaction(run)
