"""StdOut and File (TEXT) collectors: Katib's regular-expression filters.

Each filter has two capture groups, the metric name and its value; every match
in a line is an observation if the name is one of the experiment's metrics
(exact match). A line that starts with an RFC 3339 timestamp (Katib's pod log
format, ``2026-01-23T05:19:53Z INFO ...``) is stamped with it; other lines get
the time they were read (Katib stamps them with the zero time).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from ..spec import constants as c
from .base import Collector, Observation

__all__ = ["TextCollector", "parse_rfc3339"]

_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_rfc3339(text: str) -> datetime | None:
    """An RFC 3339 timestamp (nanoseconds truncated to microseconds), or None."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or ".0")[1:7].ljust(6, "0"))
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    except ValueError:
        return None
    if zone in ("Z", "z"):
        return stamp.replace(tzinfo=timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    offset = sign * (int(zone[1:3]) * 60 + int(zone[4:6]))
    return stamp.replace(tzinfo=timezone.utc) - timedelta(minutes=offset)


class TextCollector(Collector):
    """Katib's StdOut and File/TEXT collectors (``metricsFormat`` filters, default filter otherwise)."""

    def __init__(self, metric_names: Sequence[str], filters: Sequence[str] = ()) -> None:
        super().__init__(metric_names)
        self.filters = [re.compile(f) for f in (filters or [c.DEFAULT_METRICS_FILTER])]

    def parse_line(self, line: str, read_time: datetime) -> list[Observation]:
        if not any(name in line for name in self.metric_names):
            return []  # the cheap test Katib also makes before running the filters
        first, _, _ = line.partition(" ")
        stamp = parse_rfc3339(first) or read_time
        found = []
        for pattern in self.filters:
            for match in pattern.finditer(line):
                if match.re.groups < 2:
                    continue
                name, value = (match.group(1) or "").strip(), (match.group(2) or "").strip()
                if name in self._wanted and value:
                    found.append(Observation(name, value, stamp))
        return found
