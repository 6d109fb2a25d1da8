"""``sobol``: a scrambled Sobol sequence (SciPy), continued across calls and processes."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from scipy.stats import qmc

from ..history import Proposal, TrialRecord
from ._values import finite_size, from_unit, point_key, taken_keys
from .base import Suggester
from .settings import SobolSettings

__all__ = ["SobolSuggester"]

_INDEX = "sobol_index"
# On a finite space Sobol points can coincide; how far past a duplicate to look for a fresh point.
_SKIP_LIMIT = 1024


class SobolSuggester(Suggester[SobolSettings]):
    """Low-discrepancy points from one scrambled Sobol sequence per experiment.

    The scramble is seeded with the experiment's seed and each trial stores
    its position in the sequence, so a fresh process continues the sequence
    exactly where the last proposal stopped.
    """

    settings_class = SobolSettings

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        start = 1 + max((int(t.data[_INDEX]) for t in history if _INDEX in t.data), default=len(history) - 1)
        size = finite_size(self.space)
        taken = taken_keys(self.space, history) if size is not None else set()
        engine = qmc.Sobol(d=len(self.space.parameters), scramble=True, seed=self.seed % 2**32)
        if start:  # SciPy rejects fast_forward(0) on a fresh engine
            engine.fast_forward(start)
        proposals: list[Proposal] = []
        index = start
        with warnings.catch_warnings():
            # Sobol's balance warning is about sample sizes that are not powers of two; a
            # sequence consumed a few points at a time is still the same sequence.
            warnings.simplefilter("ignore", UserWarning)
            while len(proposals) < n and index < start + n + _SKIP_LIMIT:
                if size is not None and len(taken) >= size:
                    break
                (unit,) = engine.random(1)
                point = {p.name: from_unit(p, float(u)) for p, u in zip(self.space.parameters, unit, strict=True)}
                key = point_key(self.space, point)
                if size is None or key not in taken:
                    taken.add(key)
                    proposals.append(Proposal(point, {_INDEX: index}))
                index += 1
        return proposals
