"""``grid``: every point of the grid, once each."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..history import Proposal, TrialRecord
from ._values import finite_size, point_at, point_key, taken_keys
from .base import Suggester
from .settings import GridSettings

__all__ = ["GridSuggester"]


class GridSuggester(Suggester[GridSettings]):
    """Full enumeration of the grid (doubles need a ``step``).

    Points are visited in row-major order, or in a seeded pseudo-random order
    when ``random_state`` is set (the order is a fixed permutation of the grid,
    so it survives restarts). When every point has been proposed it returns
    nothing and the experiment ends with ExperimentSuggestionEndReached; Katib
    keeps the experiment running forever in that case.
    """

    settings_class = GridSettings

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        size = finite_size(self.space)
        if size is None:  # validation refuses this; kept as a guard for direct API use
            raise ValueError("grid search needs a step for every double parameter")
        taken = taken_keys(self.space, history)
        stride, offset = self._permutation(size)
        proposals: list[Proposal] = []
        # The first len(history) + n positions hold every taken point plus n free ones, unless
        # the history holds points off the grid; scanning on until the grid ends covers that.
        for position in range(size):
            if len(proposals) >= n:
                break
            point = point_at(self.space, (stride * position + offset) % size)
            key = point_key(self.space, point)
            if key not in taken:
                taken.add(key)
                proposals.append(Proposal(point))
        return proposals

    def _permutation(self, size: int) -> tuple[int, int]:
        """An affine permutation ``i -> (stride * i + offset) mod size`` of the grid indices."""
        if self.settings.random_state is None or size < 3:
            return 1, 0
        seed = self.settings.random_state
        stride = (seed * 2654435761) % size or 1
        while math.gcd(stride, size) != 1:
            stride = stride % size + 1
        return stride, (seed * 40503) % size
