"""File collector with ``format: JSON``: one JSON object per line.

Katib reads a metric only when its value is a JSON *string* and silently drops
numbers, so ``{"loss": 0.1}`` records nothing there. katib-flow takes numbers
and numeric strings alike. An optional ``timestamp`` key holds an RFC 3339
string or epoch seconds; an optional ``step`` (or ``epoch``) key an integer.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

from .base import Collector, Observation
from .text import parse_rfc3339

__all__ = ["JsonLinesCollector"]


def _stamp(raw: Any, read_time: datetime) -> datetime:
    if isinstance(raw, str):
        return parse_rfc3339(raw) or read_time
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
        try:
            return datetime.fromtimestamp(raw, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return read_time
    return read_time


class JsonLinesCollector(Collector):
    def parse_line(self, line: str, read_time: datetime) -> list[Observation]:
        try:
            obj = json.loads(line)
        except ValueError:
            return []
        if not isinstance(obj, dict):
            return []
        stamp = _stamp(obj.get("timestamp"), read_time)
        raw_step = obj.get("step", obj.get("epoch"))
        step = raw_step if isinstance(raw_step, int) and not isinstance(raw_step, bool) else None
        found = []
        for name in self.metric_names:
            value = obj.get(name)
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, (int, float)):
                found.append(
                    Observation(name, repr(float(value)) if isinstance(value, float) else str(value), stamp, step)
                )
            elif isinstance(value, str) and value.strip():
                found.append(Observation(name, value.strip(), stamp, step))
        return found
