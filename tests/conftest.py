"""Shared fixtures: Katib's own examples live beside the project, in ../shared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .mariadb import MariaDB, mariadb_server

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
KATIB_EXAMPLES = SHARED / "katib-examples"


def katib_example_files() -> list[Path]:
    """Katib's example experiments, or an empty list when ../shared is absent."""
    return sorted(KATIB_EXAMPLES.glob("*.yaml")) if KATIB_EXAMPLES.is_dir() else []


@pytest.fixture
def katib_examples() -> list[Path]:
    files = katib_example_files()
    if not files:
        pytest.skip(f"Katib examples not found at {KATIB_EXAMPLES}")
    return files


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A MariaDB server for the whole test session (skips when no server binary exists)."""
    yield from mariadb_server(tmp_path_factory)


@pytest.fixture
def mysql_url(mariadb: MariaDB) -> str:
    """A fresh MariaDB database, what the Argo steps use on a cluster: the longest interpreter runs use it
    alone (the store's behaviour on both backends is covered by the engine, step and runner tests)."""
    return mariadb.database_url()


@pytest.fixture(params=["sqlite", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL: the same tests run on SQLite and on a real MariaDB."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'katib-flow.db'}"
    server: MariaDB = request.getfixturevalue("mariadb")
    return server.database_url()
