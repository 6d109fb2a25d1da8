"""Statistics of ``bench/quality.py``: regret, ranks, Mann-Whitney tests with Holm's correction."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import combine_pvalues, mannwhitneyu, rankdata

REGRET_FLOOR = 1e-8  # below this a run counts as having found the optimum (log10 regret -8)


def best_so_far(values: Sequence[float], budget: int) -> float:
    """The best value among the first ``budget`` evaluations (a grid may stop early: its best so far)."""
    return min(values[:budget]) if values else math.inf


def log_regret(best: float, optimum: float) -> float:
    return math.log10(max(best - optimum, REGRET_FLOOR))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def holm(p_values: Mapping[str, float], alpha: float = 0.05) -> dict[str, bool]:
    """Which hypotheses Holm's step-down procedure rejects at family-wise level ``alpha``."""
    ordered = sorted(p_values.items(), key=lambda kv: kv[1])
    rejected: dict[str, bool] = dict.fromkeys(p_values, False)
    m = len(ordered)
    for i, (key, p) in enumerate(ordered):
        if p > alpha / (m - i):
            break
        rejected[key] = True
    return rejected


def less_p(a: Sequence[float], b: Sequence[float]) -> float:
    """One-sided Mann-Whitney p-value for "values of ``a`` tend to be smaller than those of ``b``"."""
    if len(a) < 2 or len(b) < 2:
        return 1.0
    if set(a) == set(b) and len(set(a)) == 1:
        return 1.0  # identical constant samples: no evidence either way
    return float(mannwhitneyu(a, b, alternative="less").pvalue)


def worse_by_more_than_p(base: Sequence[float], other: Sequence[float], margin: float) -> float:
    """One-sided Mann-Whitney p-value for "``other`` is worse (larger) than ``base`` by more than ``margin``".

    The test of ``base`` shifted by ``margin`` against ``other``: under a shift model, rejecting it
    says the loss exceeds ``margin``; not rejecting it does not show that the loss is smaller.
    """
    return less_p([v + margin for v in base], other)


def within_margin_p(base: Sequence[float], other: Sequence[float], margin: float) -> float:
    """One-sided Mann-Whitney p-value for "``other`` is worse than ``base`` by less than ``margin``".

    The non-inferiority test: rejecting "``other`` >= ``base`` + ``margin``" shows the loss is below
    ``margin``, which ``worse_by_more_than_p`` failing to reject does not.
    """
    return less_p(other, [v + margin for v in base])


def fisher_p(p_values: Sequence[float]) -> float:
    """Fisher's combined p-value of independent one-sided tests (one per problem).

    Small when small losses recur across many problems although none is significant alone, which
    Holm's per-problem view cannot see. Mann-Whitney p-values are discrete, which makes it conservative.
    """
    if not p_values:
        return math.nan
    return float(combine_pvalues(list(p_values), method="fisher").pvalue)


def mean_loss_interval(
    problems: Sequence[tuple[Sequence[float], Sequence[float]]], level: float = 0.90, resamples: int = 2000
) -> tuple[float, float, float]:
    """The mean over problems of ``median(B) - median(A)``, with a bootstrap interval at ``level``.

    ``problems`` holds, per problem, the runs of side A and of side B; each draw resamples the runs
    of every problem. The upper end of a 90% interval bounds the average loss at 95% one-sided: the
    pooled answer to "does B lose more than a margin", which one problem at 10-20 seeds cannot give.
    """
    usable = [(np.asarray(a, dtype=float), np.asarray(b, dtype=float)) for a, b in problems if len(a) and len(b)]
    if not usable:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(0)
    estimate = float(np.mean([np.median(b) - np.median(a) for a, b in usable]))
    draws = np.zeros(resamples)
    for a, b in usable:
        draws += np.median(rng.choice(b, size=(resamples, len(b))), axis=1)
        draws -= np.median(rng.choice(a, size=(resamples, len(a))), axis=1)
    low, high = np.quantile(draws / len(usable), [(1 - level) / 2, (1 + level) / 2])
    return estimate, float(low), float(high)


def _losses_by_chance(problems: Sequence[tuple[Sequence[float], int, int]], resamples: int) -> np.ndarray:
    """Bootstrap draws of ``median(B) - median(A)`` with both sides taken from one algorithm's runs.

    ``problems`` holds, per problem, the runs and the numbers of seeds ``n_a`` and ``n_b`` of the two
    sides compared; the result has one row per usable problem and one column per draw. A fixed
    generator keeps reports reproducible.
    """
    usable = [(np.asarray(v, dtype=float), n_a, n_b) for v, n_a, n_b in problems if len(v) >= 2 and n_a and n_b]
    rng = np.random.default_rng(0)
    losses = np.zeros((len(usable), resamples))
    for row, (values, n_a, n_b) in enumerate(usable):
        a = np.median(rng.choice(values, size=(resamples, n_a)), axis=1)
        b = np.median(rng.choice(values, size=(resamples, n_b)), axis=1)
        losses[row] = b - a
    return losses


def largest_loss_noise(
    problems: Sequence[tuple[Sequence[float], int, int]], quantile: float = 0.95, resamples: int = 2000
) -> float:
    """The largest loss of median regret an algorithm shows against itself, by chance alone.

    ``problems`` as for ``_losses_by_chance``. Each bootstrap draw keeps the largest loss over the
    problems, as the "largest loss" column does; the result is that maximum's ``quantile``. Taking
    the maximum matters: the largest of 20 noisy losses is far more than the typical one.
    """
    losses = _losses_by_chance(problems, resamples)
    if not len(losses):
        return math.nan
    return float(np.quantile(losses.max(axis=0), quantile))


def exceedances_noise(
    problems: Sequence[tuple[Sequence[float], int, int]], margin: float, quantile: float = 0.95, resamples: int = 2000
) -> int:
    """On how many problems an algorithm loses more than ``margin`` against itself, by chance alone.

    The ``quantile`` of that count over bootstrap draws (``problems`` as for ``_losses_by_chance``):
    more problems than this with a median loss above ``margin`` is a loss that chance explains less
    than one time in twenty; as many is not evidence of one. For an algorithm whose regrets spread
    widely, several problems above a 0.3-decade margin are what re-running with other seeds gives.
    """
    losses = _losses_by_chance(problems, resamples)
    if not len(losses):
        return 0
    return int(np.quantile((losses > margin).sum(axis=0), quantile, method="higher"))


def average_ranks(medians: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Average over problems of each contender's rank by median (1 = best; ties share the mean rank).

    ``medians[problem][contender]``; a contender missing on a problem is left out of that problem.
    """
    totals: dict[str, list[float]] = {}
    for by_contender in medians.values():
        names = [n for n, v in by_contender.items() if not math.isnan(v)]
        for name, rank in zip(names, rankdata([by_contender[n] for n in names]), strict=True):
            totals.setdefault(name, []).append(float(rank))
    return {name: statistics.fmean(ranks) for name, ranks in totals.items()}


def score(best: float, random_median: float, best_ever: float) -> float:
    """0 = random search's median result, 100 = the best value any contender ever reached."""
    if random_median == best_ever:
        return 100.0 if best <= best_ever else 0.0
    return 100 * (random_median - best) / (random_median - best_ever)
