"""Opening a store with a bad URL, a missing driver, no database or a silent server: one clear error each."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from katib_flow.exceptions import StorageError
from katib_flow.store import Store
from katib_flow.store import store as store_module


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "the database URL is empty"),
        ("   ", "the database URL is empty"),
        ("mysql+pymysql://user:secret@db:port/katib", r"invalid database URL 'mysql\+pymysql://user:\*\*\*@db:port"),
        ("foo://x/y", "unknown database scheme 'foo'; katib-flow supports sqlite:///PATH and mysql"),
        ("postgresql://u@127.0.0.1/db", "unknown database scheme 'postgresql'"),
        ("mysql://u@127.0.0.1/db", r"mysqlclient driver \(mysql://\), which is not installed; use mysql\+pymysql"),
        ("mysql+mysqlconnector://u@127.0.0.1/db", "the driver of mysql\\+mysqlconnector:// is not installed"),
    ],
)
def test_url_problems_are_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        Store(url)


def test_missing_pymysql_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymysql", None)  # import pymysql now fails as on a machine without it
    with pytest.raises(StorageError, match=r'PyMySQL is not installed: pip install "katib-flow\[mysql\]"'):
        Store("mysql+pymysql://u:p@127.0.0.1/db")


def test_sqlite_file_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="cannot create the folder of"):
        Store(f"sqlite:///{blocker / 'db' / 'x.db'}")
    with pytest.raises(StorageError, match="is a folder, not a database file"):
        Store(f"sqlite:///{tmp_path}")
    with pytest.raises(StorageError, match=r"unable to open database file \(is its folder writable\?\)"):
        Store("sqlite:////proc/1/katib-flow.db")  # a folder nobody, not even root, can create files in


def test_read_only_opening_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "katib-flow.db"
    with pytest.raises(StorageError, match=r"no katib-flow database at .*nothing was created"):
        Store(f"sqlite:///{missing}", create=False)
    assert not missing.parent.exists()
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).close()  # an empty SQLite file: not katib-flow's
    with pytest.raises(StorageError, match="holds no katib-flow experiments"):
        Store(f"sqlite:///{other}", create=False)
    with Store(f"sqlite:///{tmp_path / 'real.db'}"):
        pass
    with Store(f"sqlite:///{tmp_path / 'real.db'}", create=False) as store:
        assert store.dialect == "sqlite"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on loopback that accepts connections and never answers (a hung MySQL)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_server_that_never_answers_is_an_error_not_a_hang(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_RETRY_SECONDS", 2.0)
    started = time.monotonic()
    with pytest.raises(StorageError, match=r"127\.0\.0\.1"):
        Store(f"mysql+pymysql://u:p@127.0.0.1:{silent_server}/db?read_timeout=1")
    assert time.monotonic() - started < 15  # PyMySQL's default would wait for the greeting forever
    assert store_module._MYSQL_TIMEOUTS["read_timeout"] > 0  # what a URL without its own timeouts gets
