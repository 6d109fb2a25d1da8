"""The Suggester plugin interface.

A suggester is rebuilt for every call from the search space, the settings and
the full history; it keeps nothing between calls. Whatever state an algorithm
needs is either computed from the history or attached to the trials it
proposes (:attr:`Proposal.data`) and handed back in :attr:`TrialRecord.data`.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from ..history import Proposal, TrialRecord
from ..settings import SettingsModel
from ..space import SearchSpace
from ..spec import constants as c

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Suggester"]

S = TypeVar("S", bound=SettingsModel)


class Suggester(ABC, Generic[S]):
    """Proposes new parameter assignments from the whole history.

    Contract (checked for every registered algorithm by the conformance suite):

    * ``suggest(history, n)`` returns at most ``n`` proposals; every value lies in
      the space, with the parameter's type, step and list respected;
    * points of running trials and of the batch itself are never proposed again
      where the space is finite, and are taken into account (constant liar,
      pending points) where it is not;
    * an empty list while nothing is running means the algorithm has nothing
      more to offer (the experiment ends with ExperimentSuggestionEndReached);
    * with the same seed and history the result is the same, in any process.
    """

    settings_class: ClassVar[type[SettingsModel]]

    def __init__(self, space: SearchSpace, objective_type: str, settings: S, seed: int) -> None:
        self.space = space
        self.objective_type = objective_type
        self.settings = settings
        random_state = getattr(settings, "random_state", None)
        self.seed: int = random_state if random_state is not None else seed

    @property
    def minimize(self) -> bool:
        return self.objective_type != c.OBJECTIVE_MAXIMIZE

    @abstractmethod
    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        """Up to ``n`` new proposals given every trial so far (in creation order)."""

    def call_seed(self, history: Sequence[TrialRecord], salt: str = "") -> int:
        """A seed for this call: the experiment's seed mixed with the history length.

        Deriving it from the history (not from a generator kept between calls)
        is what makes a rebuilt suggester continue exactly where a live one would.
        """
        digest = hashlib.sha256(f"{self.seed}:{len(history)}:{salt}".encode()).digest()
        return int.from_bytes(digest[:4], "little")

    def call_rng(self, history: Sequence[TrialRecord], salt: str = "") -> np.random.Generator:
        import numpy as np  # here, not at import: validation and the light steps need the registry, not NumPy

        return np.random.default_rng(self.call_seed(history, salt))
