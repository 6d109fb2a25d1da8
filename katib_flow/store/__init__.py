"""The experiment store: SQLAlchemy models, schema versions, and the Store."""

from __future__ import annotations

from .models import Base, ExperimentRow, ObservationRow, SchemaInfo, TrialRow
from .schema import MIGRATIONS, SCHEMA_VERSION, ensure_schema
from .store import ENV_URL, Store, default_url, resolve_url

__all__ = [
    "ENV_URL",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Base",
    "ExperimentRow",
    "ObservationRow",
    "SchemaInfo",
    "Store",
    "TrialRow",
    "default_url",
    "ensure_schema",
    "resolve_url",
]
