"""Schema creation and versioned upgrades.

The schema version lives in ``katib_flow_schema``. A new database gets the
current schema; an older one is upgraded step by step by the functions in
:data:`MIGRATIONS`; a newer one (written by a later katib-flow) is refused, as is
a database that has katib-flow's table names but no version.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, insert, inspect, select, text, update

from ..exceptions import StorageError
from .models import Base, SchemaInfo

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "ensure_schema"]

SCHEMA_VERSION = 2


def _add_workdir(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE experiments ADD COLUMN workdir VARCHAR(1024) NULL"))


# MIGRATIONS[v] upgrades a version-v database to version v + 1, inside one transaction.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _add_workdir}

_OWN_TABLES = {"experiments", "trials", "observation_logs"}


def ensure_schema(engine: Engine, *, target: int | None = None, create: bool = True) -> int:
    """Create or upgrade the schema; returns the version the database is at.

    Without ``create`` a database with no katib-flow schema is refused rather
    than given one (read-only commands must not turn a mistyped URL into a new
    database); an older schema is still upgraded.
    """
    target = SCHEMA_VERSION if target is None else target
    with engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        if SchemaInfo.__tablename__ not in tables:
            if not create:
                raise StorageError(f"{_where(engine)} holds no katib-flow experiments (no katib_flow_schema table)")
            if tables & _OWN_TABLES:
                raise StorageError(
                    f"{_where(engine)} has tables named like katib-flow's ({', '.join(sorted(tables & _OWN_TABLES))}) "
                    "but no katib_flow_schema version; refusing to use it"
                )
            Base.metadata.create_all(conn)
            conn.execute(insert(SchemaInfo).values(id=1, version=target))
            return target
        version = conn.execute(select(SchemaInfo.version).where(SchemaInfo.id == 1)).scalar_one_or_none()
        if version is None:
            raise StorageError(f"{_where(engine)}: katib_flow_schema holds no version; refusing to use it")
        if version > target:
            raise StorageError(
                f"{_where(engine)} was written by a newer katib-flow (schema version {version}; this version "
                f"understands up to {target}); upgrade katib-flow to use it"
            )
        while version < target:
            step = MIGRATIONS.get(version)
            if step is None:
                raise StorageError(f"{_where(engine)}: no upgrade from schema version {version}")
            step(conn)
            version += 1
            conn.execute(update(SchemaInfo).where(SchemaInfo.id == 1).values(version=version))
        return version


def _where(engine: Engine) -> str:
    return f"the database at {engine.url.render_as_string(hide_password=True)}"
