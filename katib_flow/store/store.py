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
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, create_engine, event, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..exceptions import StorageError
from .models import ExperimentRow
from .schema import ensure_schema

__all__ = ["ENV_URL", "Store", "absolute_sqlite", "default_url", "resolve_url"]

ENV_URL = "KATIB_FLOW_DB_URL"
T = TypeVar("T")

# MySQL/MariaDB error codes worth another try: deadlock, lock wait timeout, server gone away,
# lost connection, cannot connect (while a server restarts).
_TRANSIENT_MYSQL = {1213, 1205, 2006, 2013, 2003}
_ATTEMPTS = 8
# Retries stop after this long even with attempts left: a server that accepts connections and never
# answers would otherwise hold a command for attempts x read timeout.
_RETRY_SECONDS = 60.0
# PyMySQL waits forever by default, also for the greeting of a server that accepted the connection.
_MYSQL_TIMEOUTS = {"connect_timeout": 10, "read_timeout": 30, "write_timeout": 30}
_SQLITE_FILE = re.compile(r"^(?P<scheme>sqlite(?:\+\w+)?):///(?P<path>[^?]*)(?P<query>\?.*)?$")
# The drivers katib-flow knows how to name in an error; others are reported by SQLAlchemy's words.
_DRIVER_HINTS = {
    "pymysql": 'PyMySQL is not installed: pip install "katib-flow[mysql]"',
    "mysqldb": "the URL asks for the mysqlclient driver (mysql://), which is not installed; use "
    'mysql+pymysql://... after pip install "katib-flow[mysql]"',
}
_DIALECTS = {"sqlite", "mysql", "mariadb"}
# Statements on the per-trial path are built once: building a select costs more than running it.
_EXPERIMENT = select(ExperimentRow).where(ExperimentRow.id == bindparam("experiment_id"))
_EXPERIMENT_FOR_UPDATE = _EXPERIMENT.with_for_update()


def default_url() -> str:
    return f"sqlite:///{Path.cwd() / '.katib-flow' / 'katib-flow.db'}"


def resolve_url(url: str | None) -> str:
    """``--db``, else ``KATIB_FLOW_DB_URL``, else a SQLite file under ``./.katib-flow/``.

    A relative SQLite path is made absolute here, once: trial processes run in
    their own folders and must open the same file (``report_metrics``).
    """
    if url is not None and not url.strip():
        raise StorageError("the database URL is empty (leave --db out for the default SQLite file)")
    chosen = url or os.environ.get(ENV_URL) or default_url()
    return absolute_sqlite(chosen)


def absolute_sqlite(url: str) -> str:
    """``url`` with a relative SQLite file path resolved against the current folder."""
    match = _SQLITE_FILE.match(url)
    if match is None:
        return url
    path = match.group("path")
    if not path or path == ":memory:" or path.startswith("file:") or os.path.isabs(path):
        return url
    return f"{match.group('scheme')}:///{Path(path).resolve()}{match.group('query') or ''}"


class Store:
    """A connection to one experiment database; safe to share between threads."""

    def __init__(self, url: str | None = None, *, create: bool = True) -> None:
        """Open (and with ``create``, create) the database; read-only commands pass ``create=False``."""
        self.url = resolve_url(url)
        try:
            parsed = make_url(self.url)
            parsed.port  # noqa: B018 (a port that is not a number fails here, not at the first query)
        except (ArgumentError, ValueError) as err:
            raise StorageError(f"invalid database URL {_hidden(self.url)!r}: {err}") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in _DIALECTS:
            raise StorageError(
                f"{_hidden(parsed)}: unknown database scheme {parsed.drivername!r}; katib-flow supports "
                "sqlite:///PATH and mysql+pymysql://USER:PASSWORD@HOST/DATABASE (MySQL or MariaDB)"
            )
        self.engine = _create_engine(parsed, self.dialect, create=create)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._local_writer: AbstractContextManager[object] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext()
        )
        self.retry(lambda: ensure_schema(self.engine, create=create))

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
        deadline = time.monotonic() + _RETRY_SECONDS
        for attempt in range(_ATTEMPTS):
            try:
                return fn()
            except (OperationalError, DBAPIError) as err:
                if attempt == _ATTEMPTS - 1 or not _transient(err) or time.monotonic() > deadline:
                    raise StorageError(f"{self.display_url}: {_describe(err)}") from err
                time.sleep(min(2.0, 0.02 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    def transaction(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` inside one transaction, retried as a whole after transient errors."""

        def attempt() -> T:
            with self.session() as session:
                return fn(session)

        return self.retry(attempt)


def _create_engine(url: URL, dialect: str, *, create: bool) -> Engine:
    try:
        return _engine_for(url, dialect, create=create)
    except (ModuleNotFoundError, NoSuchModuleError) as err:
        driver = str(getattr(err, "name", None) or url.get_driver_name()).lower()
        hint = _DRIVER_HINTS.get(driver) or _DRIVER_HINTS.get(url.get_driver_name())
        hint = hint or (
            f"the driver of {url.drivername}:// is not installed ({err}); katib-flow is tested with "
            'mysql+pymysql://... (pip install "katib-flow[mysql]")'
        )
        raise StorageError(f"{_hidden(url)}: {hint}") from None


def _engine_for(url: URL, dialect: str, *, create: bool) -> Engine:
    if dialect == "sqlite":
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            if not create and not path.is_file():
                raise StorageError(f"no katib-flow database at {path} (nothing was created)")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StorageError(f"cannot create the folder of {path}: {err.strerror or err}") from None
            if path.is_dir():
                raise StorageError(f"{path} is a folder, not a database file")
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
        timeouts = {k: v for k, v in _MYSQL_TIMEOUTS.items() if k not in url.query}
        if url.get_driver_name() != "pymysql":
            timeouts = {}
        return create_engine(
            url, pool_pre_ping=True, pool_recycle=3600, isolation_level="READ COMMITTED", connect_args=timeouts
        )
    return create_engine(url, pool_pre_ping=True)


def _hidden(url: str | URL) -> str:
    try:
        return (make_url(url) if isinstance(url, str) else url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r":[^:@/]*@", ":***@", str(url))


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
    text = str(orig.args[1] if orig is not None and len(orig.args) > 1 else orig or err).strip()
    if isinstance(orig, sqlite3.OperationalError) and "unable to open" in text:
        text += " (is its folder writable?)"
    return text
