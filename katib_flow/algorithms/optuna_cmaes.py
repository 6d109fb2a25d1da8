"""``cmaes``: Optuna's CmaEsSampler, its optimizer state carried by the trials."""

from __future__ import annotations

from collections.abc import Sequence

import optuna

from ..history import Proposal, TrialRecord
from ._optuna import ask_proposals, quiet_optuna, rebuild_study
from .base import Suggester
from .settings import CmaesSettings

__all__ = ["CmaesSuggester"]


class CmaesSuggester(Suggester[CmaesSettings]):
    """CMA-ES over the int and double parameters (categoricals are sampled at random).

    CmaEsSampler stores the pickled optimizer and the generation number in
    trial system attributes. Rebuilt from bare (params, value) pairs it would
    restart from generation 0 on every call; here those attributes are stored
    with each trial and restored, so the search continues generation after
    generation across processes.
    """

    settings_class = CmaesSettings

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        s = self.settings
        seed = self.call_seed(history)
        with quiet_optuna():
            sampler = optuna.samplers.CmaEsSampler(
                sigma0=s.sigma,
                restart_strategy=None if s.restart_strategy == "none" else s.restart_strategy,
                n_startup_trials=1,
                independent_sampler=optuna.samplers.RandomSampler(seed=seed),
                warn_independent_sampling=False,
                seed=seed,
            )
            study = rebuild_study(self.space, self.minimize, sampler, history)
            return ask_proposals(study, self.space, history, n, self.call_rng(history, "duplicates"))
