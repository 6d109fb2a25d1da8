"""Early-stopping rules and the EarlyStopper plugin interface.

A rule is Katib's ``EarlyStoppingRule``: ``{metric, value, comparison, start_step}``.
It is applied the way Katib's metrics collector applies it: the first
``start_step - 1`` reports of the metric are skipped; from then on the rule
holds as soon as one report satisfies the comparison; a trial stops when every
rule holds.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Generic, TypeVar

from ..history import TrialRecord
from ..settings import SettingsModel

__all__ = ["Comparison", "EarlyStopper", "StopRule", "should_stop"]

S = TypeVar("S", bound=SettingsModel)


class Comparison(str, Enum):
    EQUAL = "equal"
    LESS = "less"
    GREATER = "greater"


@dataclass(frozen=True)
class StopRule:
    metric: str
    value: float
    comparison: Comparison
    start_step: int = 0

    def holds_for(self, reported: float) -> bool:
        """Whether one reported value satisfies the comparison."""
        if math.isnan(reported):
            return False
        if self.comparison is Comparison.LESS:
            return reported < self.value
        if self.comparison is Comparison.GREATER:
            return reported > self.value
        return reported == self.value

    def is_met(self, reports: Sequence[float]) -> bool:
        """Whether the rule holds for a metric's reports, in report order."""
        return any(self.holds_for(v) for v in reports[max(self.start_step - 1, 0) :])

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> StopRule:
        """The inverse of :meth:`to_dict`."""
        return cls(
            str(data["name"]),
            float(str(data["value"])),
            Comparison(str(data["comparison"])),
            int(str(data.get("startStep", 0))),
        )

    def to_dict(self) -> dict[str, str | int]:
        """Katib's wire form (value as a string)."""
        return {
            "name": self.metric,
            "value": repr(self.value),
            "comparison": self.comparison.value,
            "startStep": self.start_step,
        }


def should_stop(rules: Sequence[StopRule], reports: Mapping[str, Sequence[float]]) -> bool:
    """Katib's decision: stop when there are rules and every one of them holds."""
    return bool(rules) and all(rule.is_met(reports.get(rule.metric, ())) for rule in rules)


class EarlyStopper(ABC, Generic[S]):
    """Turns the history of finished trials into stop rules for running ones."""

    settings_class: ClassVar[type[SettingsModel]]

    def __init__(self, objective_metric: str, objective_type: str, settings: S) -> None:
        self.objective_metric = objective_metric
        self.objective_type = objective_type
        self.settings = settings

    @abstractmethod
    def rules(self, history: Sequence[TrialRecord]) -> list[StopRule]:
        """The rules every running trial is held to now (none until there is enough history)."""
