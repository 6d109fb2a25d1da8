"""Population Based Training, as Katib's ``pbt`` service does it, rebuilt from the history on every call.

Katib's service (``pkg/suggestion/v1beta1/pbt/service.py``) keeps a job queue in
memory; here the population is read back from the trials: each proposal carries
its generation, its place in the generation and its parent (the trial whose
checkpoint it starts from) in :attr:`Proposal.data`, with Katib's trial labels
``pbt.suggestion.katib.kubeflow.org/generation`` and ``.../parent``. So it
resumes after a crash and runs behind ``katib-flow serve`` and in Argo steps.

* Generation 0 is ``n_population`` points drawn from the space.
* Generation g+1 is planned once generation g has ``n_population`` members
  with an objective: Katib's truncation selection (``_segment_sample_pool``).
  Objectives are ranked as Katib ranks them (maximized: a minimized objective
  is negated); members below the ``truncation_threshold`` quantile are
  *exploited* and take the hyperparameters of a member at or above the
  ``1 - truncation_threshold`` quantile, at most ``int(n * threshold)`` of
  them; the others are *explored*: each value perturbed (x0.8 or x1.2, clipped
  to the space, on its step; a category moves to a neighbour, wrapping round),
  or with ``resample_probability`` resampled from the space.
* A member whose trial failed (Failed, MetricsUnavailable) is proposed again
  with the same values, generation and parent, as Katib re-queues it; a Killed
  one is run again by the engine.

Departures from Katib, on purpose (docs/algorithms.md):

* An exploited member continues from the checkpoint of the member whose
  hyperparameters it takes (PBT's exploit, Jaderberg et al. 2017); Katib's
  service copies the good member's hyperparameters but names the poor member as
  the parent, so the poor model's weights train on.
* While a generation's last members run, no extra members are drawn from the
  previous generation: the next generation waits for the whole current one, so
  every generation has exactly ``n_population`` members and the plan of a
  generation depends on nothing but its parents (and the experiment's seed).
* A double parameter without a step is sampled and perturbed continuously
  (Katib's sampler needs a step and fails without one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..history import Proposal, TrialRecord, TrialState, finite_objective
from ..space import CategoricalParameter, DiscreteParameter, Parameter
from ._values import from_unit, snap
from .base import Suggester
from .settings import PbtSettings

__all__ = ["GENERATION_LABEL", "PARENT_LABEL", "PBT_DATA", "PbtSuggester", "pbt_data"]

GENERATION_LABEL = "pbt.suggestion.katib.kubeflow.org/generation"
PARENT_LABEL = "pbt.suggestion.katib.kubeflow.org/parent"
PBT_DATA = "pbt"  # the key of a proposal's data: {"generation": g, "member": k, "parent": trial name or None}


def pbt_data(data: Any) -> dict[str, Any] | None:
    """A trial's PBT record (generation, member, parent), or None for a trial PBT did not propose."""
    found = data.get(PBT_DATA) if isinstance(data, dict) else None
    return found if isinstance(found, dict) else None


class PbtSuggester(Suggester[PbtSettings]):
    settings_class = PbtSettings

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        members: dict[int, dict[int, list[TrialRecord]]] = {}
        for t in history:
            record = pbt_data(t.data)
            if record is not None:
                members.setdefault(int(record["generation"]), {}).setdefault(int(record["member"]), []).append(t)
        generation = max(members, default=0)
        size = self.settings.n_population
        current = members.get(generation, {})
        if generation in members and all(_scored(trials) for trials in _each(current, size)):
            generation += 1  # the whole generation has an objective: the next one can be planned
        plan = self._plan(generation, members)
        proposals: list[Proposal] = []
        for index, (assignments, parent) in enumerate(plan):
            if len(proposals) == n:
                break
            if _needs_trial(members.get(generation, {}).get(index, [])):
                proposals.append(self._proposal(assignments, generation, index, parent))
        return proposals

    def _plan(
        self, generation: int, members: dict[int, dict[int, list[TrialRecord]]]
    ) -> list[tuple[dict[str, str], str | None]]:
        """Generation ``generation``'s members: (values, parent); the same in every call and process."""
        rng = np.random.default_rng([self.seed, generation])
        size = self.settings.n_population
        if generation == 0:
            return [({p.name: self._sample(p, rng) for p in self.space.parameters}, None) for _ in range(size)]
        pool = [_best(trials) for trials in _each(members[generation - 1], size)]
        return self._next_generation(pool, rng)

    def _next_generation(
        self, pool: list[TrialRecord], rng: np.random.Generator
    ) -> list[tuple[dict[str, str], str | None]]:
        """Katib's truncation selection over ``pool`` (``PbtJobQueue._segment_sample_pool`` and ``generate``)."""
        size, threshold = self.settings.n_population, self.settings.truncation_threshold
        sign = -1.0 if self.minimize else 1.0  # Katib always maximizes
        values = [sign * float(t.objective or 0.0) for t in pool]
        lower, upper = np.quantile(values, (threshold, 1 - threshold))
        exploit = [i for i, v in enumerate(values) if v < lower]
        explore = [i for i, v in enumerate(values) if v >= lower]
        top = [i for i, v in enumerate(values) if v >= upper]
        rng.shuffle(exploit)
        rng.shuffle(explore)
        exploit = exploit[: int(size * threshold)]
        explore = explore[: size - len(exploit)]
        plan: list[tuple[dict[str, str], str | None]] = []
        for donor in rng.choice(top, len(exploit)) if exploit else []:
            plan.append((dict(pool[int(donor)].assignments), pool[int(donor)].name))
        for i in explore:
            plan.append((self._explore(pool[i].assignments, rng), pool[i].name))
        return plan

    def _explore(self, assignments: Mapping[str, str], rng: np.random.Generator) -> dict[str, str]:
        out = {}
        for p in self.space.parameters:
            value = assignments[p.name]
            probability = self.settings.resample_probability
            if probability is None:
                out[p.name] = _perturb(p, value, rng)
            elif rng.random() < probability:
                out[p.name] = self._sample(p, rng)
            else:
                out[p.name] = value
        return out

    @staticmethod
    def _sample(param: Parameter, rng: np.random.Generator) -> str:
        return from_unit(param, float(rng.random()))

    @staticmethod
    def _proposal(assignments: dict[str, str], generation: int, member: int, parent: str | None) -> Proposal:
        labels = {GENERATION_LABEL: str(generation)}
        if parent is not None:
            labels[PARENT_LABEL] = parent
        record = {"generation": generation, "member": member, "parent": parent}
        return Proposal(dict(assignments), {PBT_DATA: record, "labels": labels})


def _perturb(param: Parameter, value: str, rng: np.random.Generator) -> str:
    """Katib's ``HyperParameterSampler.perturb``: x0.8 or x1.2 clipped (kept on the step), or a neighbour."""
    if isinstance(param, (CategoricalParameter, DiscreteParameter)):
        values = list(param.values)
        index = (values.index(value) + int(rng.choice([-1, 1]))) % len(values) if value in values else 0
        return values[index]
    return snap(param, float(value) * float(rng.choice([0.8, 1.2])))


def _each(generation: dict[int, list[TrialRecord]], size: int) -> list[list[TrialRecord]]:
    return [generation.get(index, []) for index in range(size)]


def _usable(t: TrialRecord) -> bool:
    return finite_objective(t.state, t.objective) is not None


def _scored(trials: list[TrialRecord]) -> bool:
    return any(_usable(t) for t in trials)


def _best(trials: list[TrialRecord]) -> TrialRecord:
    """The member's trial with an objective (a re-run after a failure is the same member)."""
    return next(t for t in reversed(trials) if _usable(t))


def _needs_trial(trials: list[TrialRecord]) -> bool:
    """No trial of the member runs, has a usable objective, or was killed (the engine runs those again): a
    failed one (or one whose objective is not a number) is proposed again, as Katib re-queues it."""
    return not any(t.state.is_active or t.state is TrialState.KILLED or _usable(t) for t in trials)
