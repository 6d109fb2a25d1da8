"""One runner per experiment: a lease in the experiment row, kept alive by a heartbeat.

A second ``katib-flow run`` on the same experiment is refused while the lease is
fresh. A lease whose process is gone (``kill -9`` on this machine) or that
stopped beating (a crashed machine) is taken over, and the trials its runner
left Created or Running are marked Killed: their slots are given to new
trials, and no finished trial is touched.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine import Outcome, finish_trial
from ..engine.clock import now
from ..exceptions import KatibFlowError, TrialExecutionError
from ..history import TrialState
from ..store import Store, TrialRow

__all__ = ["STALE_AFTER", "Lease", "runner_alive"]

HEARTBEAT_SECONDS = 2.0
STALE_AFTER = timedelta(seconds=10)


def _host_and_pid(owner: str) -> tuple[str, str]:
    host, pid, _ = [*owner.split(":"), "", ""][:3]
    return host, pid


def _alive(owner: str) -> bool:
    """False when the owner is a process of this host that no longer exists (``kill -9``)."""
    host, pid = _host_and_pid(owner)
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runner_alive(owner: str | None, heartbeat: datetime | None) -> bool:
    """Whether a runner holds the experiment now (for status: running, or interrupted)."""
    if not owner or heartbeat is None:
        return False
    return now() - heartbeat < STALE_AFTER and _alive(owner)


class Lease:
    def __init__(self, store: Store, experiment_id: int, name: str) -> None:
        self.store, self.experiment_id, self.name = store, experiment_id, name
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: KatibFlowError | None = None

    def acquire(self) -> list[str]:
        """Take the lease; returns the names of orphaned trials that were marked Killed."""

        def run(session: Session) -> list[str]:
            row = self.store.lock_experiment(session, self.experiment_id)
            stamp = now()
            age = stamp - row.owner_heartbeat if row.owner_heartbeat is not None else STALE_AFTER
            if row.owner and row.owner != self.owner and age < STALE_AFTER and _alive(row.owner):
                host, pid = _host_and_pid(row.owner)
                raise TrialExecutionError(
                    f"experiment {self.name!r} is being run by another katib-flow process (pid {pid} on {host}, "
                    f"seen {age.total_seconds():.0f} s ago); wait for it or stop it"
                )
            row.owner, row.owner_heartbeat = self.owner, stamp
            orphans = session.execute(
                select(TrialRow.name).where(
                    TrialRow.experiment_id == self.experiment_id,
                    TrialRow.state.in_([TrialState.CREATED.value, TrialState.RUNNING.value]),
                )
            ).scalars()
            return list(orphans)

        orphans = self.store.transaction(run)
        for trial in orphans:
            finish_trial(self.store, self.experiment_id, trial, Outcome.KILLED, "Trial is killed: its runner stopped")
        self._thread = threading.Thread(target=self._beat, name="katib-flow-lease", daemon=True)
        self._thread.start()
        return orphans

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.store.transaction(self._touch)
            except KatibFlowError as err:
                # The slots meet the same database and end the run with one clear line; a
                # traceback from this thread would only bury it. Beating resumes if it comes back.
                self.error = err

    def _touch(self, session: Session) -> None:
        row = self.store.lock_experiment(session, self.experiment_id)
        if row.owner == self.owner:
            row.owner_heartbeat = now()

    def release(self, *, quiet: bool = False) -> None:
        """Give the lease up; with ``quiet`` (the run is already failing) a database error is not raised."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

        def run(session: Session) -> None:
            row = self.store.lock_experiment(session, self.experiment_id)
            if row.owner == self.owner:
                row.owner, row.owner_heartbeat = None, None

        try:
            self.store.transaction(run)
        except KatibFlowError:
            if not quiet:
                raise
