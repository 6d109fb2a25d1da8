"""Observations and the Collector plugin interface.

A collector turns what a trial leaves behind (its output, a metrics file, an
event directory) into :class:`Observation` objects. Parsing works on plain
strings, one line at a time, so the local runner can feed a trial's output as
it is produced (early stopping acts mid-trial) and tests need no files.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["Collector", "Observation", "as_number", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Observation:
    """One reported metric value, as Katib's observation_logs stores it (the value is text)."""

    metric: str
    value: str
    timestamp: datetime
    step: int | None = None

    @property
    def number(self) -> float | None:
        return as_number(self.value)


def as_number(text: str) -> float | None:
    """A metric value as a finite float, or None ("unavailable", "nan", garbage)."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class Collector(ABC):
    """Parses a line-oriented metrics source; only the experiment's metric names are kept."""

    def __init__(self, metric_names: Sequence[str]) -> None:
        self.metric_names = tuple(metric_names)
        self._wanted = frozenset(metric_names)

    @abstractmethod
    def parse_line(self, line: str, read_time: datetime) -> list[Observation]:
        """Observations in one line; a malformed line gives none (it never raises)."""

    def parse_lines(self, lines: Iterable[str], read_time: datetime | None = None) -> Iterator[Observation]:
        """Observations of a stream of lines, lazily: a huge log is never held in memory."""
        for line in lines:
            yield from self.parse_line(line.rstrip("\r\n"), read_time or utc_now())

    def parse(self, text: str, read_time: datetime | None = None) -> list[Observation]:
        return list(self.parse_lines(text.splitlines(), read_time))
