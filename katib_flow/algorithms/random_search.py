"""``random``: independent draws from each parameter's distribution."""

from __future__ import annotations

from collections.abc import Sequence

from ..history import Proposal, TrialRecord
from ._values import draw_free, finite_size, from_unit, taken_keys
from .base import Suggester
from .settings import RandomSettings

__all__ = ["RandomSuggester"]


class RandomSuggester(Suggester[RandomSettings]):
    """Random search over all four distributions.

    On a finite space (ints, categoricals, discretes and stepped doubles only)
    no point of the history or of the batch is proposed twice, and the
    experiment ends when every point has been tried. Katib's random search can
    repeat points and never runs out.
    """

    settings_class = RandomSettings

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        rng = self.call_rng(history)
        if finite_size(self.space) is None:
            return [
                Proposal({p.name: from_unit(p, float(rng.random())) for p in self.space.parameters}) for _ in range(n)
            ]
        return [Proposal(point) for point in draw_free(self.space, rng, taken_keys(self.space, history), n)]
