"""The Store: one database (SQLite by default, MySQL/MariaDB for clusters), short transactions.

Every engine operation is one transaction. Those that reserve or change an
experiment's trials take a write lock on the experiment first (``SELECT ... FOR
UPDATE`` on MySQL, ``BEGIN IMMEDIATE`` on SQLite), so two processes (two local
slots, two Argo lanes) never act on a stale view. Deadlocks, lock timeouts and
dropped connections are retried with exponential backoff.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..exceptions import StorageError
from .models import ExperimentRow
from .schema import ensure_schema

__all__ = ["ENV_URL", "Store", "default_url", "resolve_url"]

ENV_URL = "KATIB_FLOW_DB_URL"
T = TypeVar("T")

# MySQL/MariaDB error codes worth another try: deadlock, lock wait timeout, server gone away,
# lost connection, cannot connect (while a server restarts).
_TRANSIENT_MYSQL = {1213, 1205, 2006, 2013, 2003}
_ATTEMPTS = 8
# Statements on the per-trial path are built once: building a select costs more than running it.
_EXPERIMENT = select(ExperimentRow).where(ExperimentRow.id == bindparam("experiment_id"))
_EXPERIMENT_FOR_UPDATE = _EXPERIMENT.with_for_update()


def default_url() -> str:
    return f"sqlite:///{Path.cwd() / '.katib-flow' / 'katib-flow.db'}"


def resolve_url(url: str | None) -> str:
    """``--db``, else ``KATIB_FLOW_DB_URL``, else a SQLite file under ``./.katib-flow/``."""
    return url or os.environ.get(ENV_URL) or default_url()


class Store:
    """A connection to one experiment database; safe to share between threads."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as err:
            raise StorageError(f"invalid database URL {self.url!r}: {err}") from None
        self.dialect = parsed.get_backend_name()
        self.engine = _create_engine(self.url, self.dialect)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._local_writer: AbstractContextManager[object] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext()
        )
        self.retry(lambda: ensure_schema(self.engine))

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        # SQLite admits one writer; threads of this process queue on a lock instead of SQLite's
        # busy handler, which sleeps in steps of up to 100 ms. Other processes still use the handler.
        with self._local_writer, self._sessions() as session, session.begin():
            yield session

    def lock_experiment(self, session: Session, experiment_id: int) -> ExperimentRow:
        """The experiment row, write-locked until the transaction ends."""
        # SQLite's BEGIN IMMEDIATE already holds the write lock
        query = _EXPERIMENT if self.dialect == "sqlite" else _EXPERIMENT_FOR_UPDATE
        row = session.execute(query, {"experiment_id": experiment_id}).scalar_one_or_none()
        if row is None:
            raise StorageError(f"experiment id {experiment_id} does not exist in {self.display_url}")
        return row

    def retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a whole transaction), again after transient database errors."""
        for attempt in range(_ATTEMPTS):
            try:
                return fn()
            except (OperationalError, DBAPIError) as err:
                if attempt == _ATTEMPTS - 1 or not _transient(err):
                    raise StorageError(f"{self.display_url}: {_describe(err)}") from err
                time.sleep(min(2.0, 0.02 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    def transaction(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` inside one transaction, retried as a whole after transient errors."""

        def attempt() -> T:
            with self.session() as session:
                return fn(session)

        return self.retry(attempt)


def _create_engine(url: str, dialect: str) -> Engine:
    if dialect == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Manage transactions ourselves so that BEGIN IMMEDIATE below is what starts them.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if dialect in ("mysql", "mariadb"):
        return create_engine(url, pool_pre_ping=True, pool_recycle=3600, isolation_level="READ COMMITTED")
    return create_engine(url, pool_pre_ping=True)


def _transient(err: DBAPIError) -> bool:
    if err.connection_invalidated:
        return True
    orig = err.orig
    if isinstance(orig, sqlite3.OperationalError):
        return "locked" in str(orig) or "busy" in str(orig)
    code = orig.args[0] if orig is not None and orig.args else None
    return isinstance(code, int) and code in _TRANSIENT_MYSQL


def _describe(err: DBAPIError) -> str:
    orig = err.orig
    return str(orig.args[1] if orig is not None and len(orig.args) > 1 else orig or err).strip()
