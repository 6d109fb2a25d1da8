"""``cmaes``: Optuna's CmaEsSampler, its optimizer state carried by the trials."""

from __future__ import annotations

import math
from collections.abc import Sequence

import optuna
from optuna.distributions import CategoricalDistribution

from ..history import Proposal, TrialRecord
from ..space import SearchSpace
from ._optuna import ask_proposals, distributions, quiet_optuna, rebuild_study
from .base import Suggester
from .cmaes_generations import GenerationFillingCmaEsSampler
from .cmaes_restarts import current_restart
from .settings import CmaesSettings

__all__ = ["CmaesSuggester", "population_size"]


def population_size(space: SearchSpace) -> int:
    """CMA-ES's default population, ``4 + floor(3 ln d)`` over the dimensions CMA-ES samples.

    Those are the int and double parameters with more than one value; Optuna
    samples categorical (and discrete) ones independently.
    """
    dims = sum(
        1 for d in distributions(space).values() if not isinstance(d, CategoricalDistribution) and not d.single()
    )
    return 4 + math.floor(3 * math.log(max(dims, 1)))


class CmaesSuggester(Suggester[CmaesSettings]):
    """CMA-ES over the int and double parameters (categoricals are sampled at random).

    CmaEsSampler stores the pickled optimizer and the generation number in
    trial system attributes. Rebuilt from bare (params, value) pairs it would
    restart from generation 0 on every call; here those attributes are stored
    with each trial and restored, so the search continues generation after
    generation across processes.

    With trials in parallel, a generation takes exactly ``popsize`` trials,
    finished or running, and a trial asked beyond that is drawn from a
    provisional update (:mod:`.cmaes_generations`): with fewer trials in
    parallel than the population no trial is wasted and a parallel run makes
    as many updates as a sequential one.

    ``restart_strategy`` ``ipop`` and ``bipop`` restart CMA-ES once it has
    converged (:mod:`.cmaes_restarts`).
    """

    settings_class = CmaesSettings

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        s = self.settings
        seed = self.call_seed(history)
        restart = current_restart(history, self.space, s.restart_strategy, population_size(self.space), self.seed)
        with quiet_optuna():
            sampler = GenerationFillingCmaEsSampler(
                x0=restart.x0,
                sigma0=s.sigma,
                n_startup_trials=1,
                independent_sampler=optuna.samplers.RandomSampler(seed=seed),
                warn_independent_sampling=False,
                popsize=restart.popsize,
                seed=seed,
            )
            # Each restart keeps its own generations and optimizer under its own attribute prefix.
            sampler._attr_prefix = restart.prefix
            study = rebuild_study(self.space, self.minimize, sampler, history)
            return ask_proposals(study, self.space, history, n, self.call_rng(history, "duplicates"))
