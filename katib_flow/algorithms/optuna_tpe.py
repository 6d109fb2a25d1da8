"""``tpe`` and ``multivariate-tpe``: Optuna's TPESampler with every default set explicitly."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import optuna

from ..history import Proposal, TrialRecord
from ._optuna import ask_proposals, quiet_optuna, rebuild_study
from .base import Suggester
from .settings import MultivariateTpeSettings, TpeSettings

__all__ = ["MultivariateTpeSuggester", "TpeSuggester"]


def _hyperopt_gamma(fraction: float, n: int) -> int:
    # hyperopt's TPE puts ceil(gamma * sqrt(n)) trials in the "good" group, capped at 25.
    return min(math.ceil(fraction * math.sqrt(n)), 25)


def _optuna_gamma(n: int) -> int:
    # Optuna's default_gamma, spelled out so a change of Optuna's default cannot change katib-flow's.
    return min(math.ceil(0.1 * n), 25)


class TpeSuggester(Suggester[TpeSettings]):
    """Tree-structured Parzen Estimator.

    Katib serves ``tpe`` with hyperopt; its setting names (``gamma``,
    ``prior_weight``, ``n_EI_candidates``) keep hyperopt's meaning here. With
    ``constant_liar`` (on by default) running trials count as pending, so a
    batch does not cluster on one point as Katib's hyperopt batches do.
    """

    settings_class = TpeSettings

    def sampler(self, seed: int) -> optuna.samplers.TPESampler:
        s = self.settings
        gamma: Callable[[int], int] = partial(_hyperopt_gamma, s.gamma) if s.gamma is not None else _optuna_gamma
        return optuna.samplers.TPESampler(
            n_startup_trials=s.n_startup_trials,
            n_ei_candidates=s.ei_candidates,
            gamma=gamma,
            prior_weight=s.prior_weight if s.prior_weight is not None else 1.0,
            multivariate=s.multivariate,
            constant_liar=s.constant_liar,
            seed=seed,
        )

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        seed = self.call_seed(history)
        with quiet_optuna():
            study = rebuild_study(self.space, self.minimize, self.sampler(seed), history)
            return ask_proposals(study, self.space, history, n, self.call_rng(history, "duplicates"))


class MultivariateTpeSuggester(TpeSuggester):
    """TPE that models the parameters jointly (Optuna ``multivariate=True``)."""

    settings_class = MultivariateTpeSettings
