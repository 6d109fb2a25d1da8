"""UTC timestamps as the store keeps them (naive, microsecond precision) and as Katib prints them."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["now", "rfc3339", "to_naive_utc"]


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_naive_utc(stamp: datetime) -> datetime:
    if stamp.tzinfo is None:
        return stamp
    return stamp.astimezone(timezone.utc).replace(tzinfo=None)


def rfc3339(stamp: datetime | None) -> str | None:
    """Katib's status time format (``2026-01-23T05:19:53Z``)."""
    if stamp is None:
        return None
    return to_naive_utc(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")
