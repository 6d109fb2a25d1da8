"""Parameter importance: Optuna's fANOVA over the trials that have an objective.

fANOVA (Hutter et al., 2014) fits a random forest to (parameters -> objective)
and splits the variance of its prediction by parameter. Optuna's evaluator is
used as is; only the forest is smaller than Optuna's default (64 trees of depth
64), which takes 12 s on 1,000 trials: 32 trees of depth 8 take 1 s there and
gave the same order, values within 0.02 (bench/RESULTS.md, report rendering).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import optuna
from optuna.importance import FanovaImportanceEvaluator, get_param_importances

from ..algorithms._optuna import quiet_optuna, rebuild_study
from ..engine import Trial
from ..history import TrialRecord
from ..space import SearchSpace

__all__ = ["Importance", "parameter_importance"]

_TREES, _DEPTH = 32, 8
MIN_TRIALS = 3  # fewer finished trials say nothing about which parameter matters


@dataclass(frozen=True)
class Importance:
    """Importance per parameter (summing to 1), most important first; ``note`` says why there is none."""

    values: tuple[tuple[str, float], ...] = ()
    note: str = ""


def parameter_importance(space: SearchSpace, minimize: bool, scored: Sequence[Trial]) -> Importance:
    """fANOVA importance of each parameter over ``scored``: trials with a finite objective (ReportData.scored)."""
    if len(scored) < MIN_TRIALS:
        return Importance(note=f"needs at least {MIN_TRIALS} trials with an objective (has {len(scored)})")
    if not space.parameters:
        return Importance(note="the experiment has no parameters")
    if len({t.objective for t in scored}) < 2:
        return Importance(note="every trial reached the same objective value: no parameter made a difference")
    history = [
        TrialRecord(name=t.name, assignments=t.assignments, state=t.state, objective=t.objective) for t in scored
    ]
    with quiet_optuna():
        study = rebuild_study(space, minimize, optuna.samplers.RandomSampler(seed=0), history)
        try:
            found = get_param_importances(
                study, evaluator=FanovaImportanceEvaluator(n_trees=_TREES, max_depth=_DEPTH, seed=0)
            )
        except (ValueError, RuntimeError) as err:  # Optuna's word for a study it cannot evaluate
            return Importance(note=f"fANOVA could not be computed: {err}")
    ranked = sorted(((name, float(value)) for name, value in found.items()), key=lambda item: -item[1])
    return Importance(values=tuple(ranked))
