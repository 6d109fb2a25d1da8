"""``hyperband``: Katib's Hyperband, with its bracket state computed from the history.

The schedule is fixed by ``r_l`` and ``eta``: brackets ``s = s_max .. 0``; bracket
``s`` starts ``n = ceil((s_max + 1) * eta**s / (s + 1))`` random configurations
with resource ``int(r_l * eta**-s)``; each following rung keeps the best
``ceil(n_prev / eta)`` of the previous rung and gives them
``int(r * eta**i)``. Like Katib, the resource parameter is overwritten (its
feasible space is not used), a rung waits until the previous rung has
finished, and the next bracket starts as soon as the last rung of the current
one has been proposed.

Katib keeps the bracket counters in the Suggestion object and sizes the first
rung by the number of trials the controller happens to request at once;
katib-flow tags each trial with its bracket and rung and sizes rungs from
``r_l`` and ``eta`` alone, so the schedule survives restarts and does not depend
on parallelism. When the last bracket is done it returns nothing and the
experiment ends with ExperimentSuggestionEndReached.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..history import Proposal, TrialRecord
from ._values import from_unit
from .base import Suggester
from .settings import HyperbandSettings

__all__ = ["HyperbandSuggester", "Rung", "schedule"]

_BRACKET = "hyperband_bracket"
_RUNG = "hyperband_rung"


@dataclass(frozen=True)
class Rung:
    bracket: int
    index: int
    size: int
    resource: int


def schedule(settings: HyperbandSettings) -> list[Rung]:
    """Every rung of the run, in the order they are proposed."""
    eta, s_max = settings.eta, settings.s_max
    rungs = []
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) * eta**s / (s + 1))
        r = settings.r_l * eta ** (-s)
        size = n
        for i in range(s + 1):
            if i > 0:
                size = math.ceil(math.ceil(n * eta ** (-(i - 1))) / eta)
            rungs.append(Rung(s, i, size, int(r * eta**i + 1e-9)))
    return rungs


class HyperbandSuggester(Suggester[HyperbandSettings]):
    """Successive halving over brackets, as Katib's hyperband service runs it."""

    settings_class = HyperbandSettings

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        rungs = schedule(self.settings)
        members: dict[tuple[int, int], list[TrialRecord]] = {}
        for t in history:
            if _BRACKET in t.data and _RUNG in t.data:
                members.setdefault((int(t.data[_BRACKET]), int(t.data[_RUNG])), []).append(t)
        position = max((k for k, r in enumerate(rungs) if (r.bracket, r.index) in members), default=0)
        rng = self.call_rng(history)
        proposals: list[Proposal] = []
        while len(proposals) < n and position < len(rungs):
            rung = rungs[position]
            trials = members.get((rung.bracket, rung.index), [])
            new_here = [p for p in proposals if _in(p, rung)]
            candidates: list[dict[str, str]] | None = None
            wanted = rung.size
            if rung.index > 0:
                previous = members.get((rung.bracket, rung.index - 1), [])
                if any(t.state.is_active for t in previous):
                    break  # promotion needs every result of the previous rung
                candidates = self._promoted(previous, rung.size)
                wanted = len(candidates)
            done = len(trials) + len(new_here)
            if done < wanted:
                for j in range(done, min(wanted, done + n - len(proposals))):
                    point = dict(candidates[j]) if candidates is not None else self._random_point(rng)
                    point[self.settings.resource_name] = str(rung.resource)
                    proposals.append(Proposal(point, {_BRACKET: rung.bracket, _RUNG: rung.index}))
                continue
            last_of_bracket = position + 1 == len(rungs) or rungs[position + 1].bracket != rung.bracket
            if not last_of_bracket and (new_here or any(t.state.is_active for t in trials)):
                break  # the next rung of this bracket waits for this one's results
            position += 1
        return proposals

    def _promoted(self, previous: list[TrialRecord], size: int) -> list[dict[str, str]]:
        """The ``size`` best finished trials of the previous rung, best first."""
        sign = 1.0 if self.minimize else -1.0
        scored = [
            (sign * t.objective, i, t)
            for i, t in enumerate(previous)
            if t.state.has_objective and t.objective is not None
        ]
        scored.sort(key=lambda item: (item[0], item[1]))
        return [dict(t.assignments) for _, _, t in scored[:size]]

    def _random_point(self, rng: np.random.Generator) -> dict[str, str]:
        return {p.name: from_unit(p, float(rng.random())) for p in self.space.parameters}


def _in(proposal: Proposal, rung: Rung) -> bool:
    return proposal.data.get(_BRACKET) == rung.bracket and proposal.data.get(_RUNG) == rung.index
