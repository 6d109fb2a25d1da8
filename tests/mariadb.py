"""A real MariaDB server for the tests, started in a temporary directory on a loopback port.

``.ci/run`` installs Debian's ``mariadb-server``; the server is started here, not
as a system service, so tests need no root setup and leave nothing behind. Tests
that need it skip with a clear reason only when no server binary exists.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_NAMES = ("mariadbd", "mysqld")
INSTALL_NAMES = ("mariadb-install-db", "mysql_install_db")
SEARCH_PATH = "/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name, path=SEARCH_PATH)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MariaDB:
    """A running server; :meth:`database_url` creates a fresh, empty database."""

    def __init__(self, base: Path) -> None:
        server, install = _find(SERVER_NAMES), _find(INSTALL_NAMES)
        if server is None or install is None:
            reason = "MariaDB server binaries not found (apt-get install mariadb-server)"
            if os.environ.get("KATIB_FLOW_REQUIRE_MARIADB"):
                pytest.fail(f"{reason}; KATIB_FLOW_REQUIRE_MARIADB is set, as in CI")
            pytest.skip(reason)
        self.base = base
        self.port = _free_port()
        data = base / "data"
        subprocess.run(
            [
                install,
                f"--datadir={data}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.log = base / "server.log"
        self.process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={base / 'mysqld.sock'}",
                f"--pid-file={base / 'mysqld.pid'}",
                f"--log-error={self.log}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
                "--innodb-flush-log-at-trx-commit=2",
                "--max-connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        import pymysql

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {self.log.read_text()[-2000:]}")
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="").close()
                return
            except pymysql.err.OperationalError:
                time.sleep(0.2)
        raise RuntimeError("mariadbd did not accept connections within 60 s")

    def database_url(self) -> str:
        import pymysql

        name = f"kf_{uuid.uuid4().hex[:12]}"
        with pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="") as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    try:
        yield server
    finally:
        server.stop()
