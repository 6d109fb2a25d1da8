"""A third-party suggester, as a plugin package would ship it (used by test_plugins.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from katib_flow.algorithms.base import Suggester
from katib_flow.history import Proposal, TrialRecord
from katib_flow.settings import SettingsModel


class MidpointSettings(SettingsModel):
    plugin_name: ClassVar[str] = "algorithm midpoint"
    fraction: float = Field(default=0.5, ge=0, le=1)


class MidpointSuggester(Suggester[MidpointSettings]):
    """Proposes the point at ``fraction`` of every numeric range, once."""

    settings_class = MidpointSettings

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        if history:
            return []
        point = {}
        for p in self.space.parameters:
            low, high = float(getattr(p, "min", 0)), float(getattr(p, "max", 0))
            point[p.name] = repr(low + self.settings.fraction * (high - low))
        return [Proposal(point)][:n]
