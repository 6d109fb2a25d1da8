"""Katib's metric strategies: each metric summarised as ``{name, min, max, latest}``.

``min`` and ``max`` consider numeric values only; ``latest`` is the last value
reported (by timestamp, then report order), whatever it is. The objective value
of a trial is its objective metric's summary under the objective's strategy;
when there is no numeric value the trial is MetricsUnavailable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..spec import constants as c
from .base import Observation, as_number

__all__ = ["MetricSummary", "objective_value", "summarize"]


@dataclass(frozen=True)
class MetricSummary:
    name: str
    min: float | None
    max: float | None
    latest: str

    def to_dict(self) -> dict[str, str]:
        """Katib's ``observation.metrics[]`` entry (values as strings, "unavailable" when absent)."""
        return {
            "name": self.name,
            "min": "unavailable" if self.min is None else repr(self.min),
            "max": "unavailable" if self.max is None else repr(self.max),
            "latest": self.latest,
        }

    def value(self, strategy: str) -> float | None:
        """The metric under ``strategy`` as a number, or None when unavailable."""
        if strategy == c.STRATEGY_MIN:
            return self.min
        if strategy == c.STRATEGY_MAX:
            return self.max
        return as_number(self.latest)


def summarize(observations: Iterable[Observation], names: Iterable[str]) -> list[MetricSummary]:
    """One summary per name that has at least one observation, in ``names`` order."""
    ordered = sorted(enumerate(observations), key=lambda item: (item[1].timestamp, item[0]))
    summaries = []
    for name in names:
        values = [o for _, o in ordered if o.metric == name]
        if not values:
            continue
        numbers = [n for n in (o.number for o in values) if n is not None]
        summaries.append(
            MetricSummary(name, min(numbers) if numbers else None, max(numbers) if numbers else None, values[-1].value)
        )
    return summaries


def objective_value(summaries: Iterable[MetricSummary], metric: str, strategies: Mapping[str, str]) -> float | None:
    for summary in summaries:
        if summary.name == metric:
            return summary.value(strategies.get(metric, c.STRATEGY_LATEST))
    return None
