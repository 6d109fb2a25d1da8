"""The quality benchmark's own parts: problems evaluate to their known optima, statistics are right."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from .conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from quality_contenders import grid_params, run
from quality_problems import Problem, all_problems, mixed_problem, synthetic_problems
from quality_stats import (
    average_ranks,
    exceedances_noise,
    fisher_p,
    holm,
    largest_loss_noise,
    less_p,
    log_regret,
    mean_loss_interval,
    score,
    within_margin_p,
    worse_by_more_than_p,
)

# Known minimisers of the synthetic functions (from the literature) and of the mixed problem.
ARGMIN = {
    "branin": [math.pi, 2.275],
    "hartmann3": [0.114614, 0.555649, 0.852547],
    "hartmann6": [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573],
    "rosenbrock4": [1.0] * 4,
    "ackley5": [0.0] * 5,
    "levy5": [1.0] * 5,
    "styblinski-tang5": [-2.903534] * 5,
}


@pytest.mark.parametrize("problem", synthetic_problems(), ids=lambda p: p.name)
def test_synthetic_functions_reach_their_stated_optimum_at_the_known_minimiser(problem: Problem) -> None:
    assert problem.optimum is not None
    value = problem.evaluate({f"x{i}": x for i, x in enumerate(ARGMIN[problem.name])})
    assert value == pytest.approx(problem.optimum, abs=1e-4)
    # and the optimum is a minimum: a nearby point is worse
    assert problem.evaluate({f"x{i}": x + 0.05 for i, x in enumerate(ARGMIN[problem.name])}) > problem.optimum


def test_mixed_problem_optimum() -> None:
    best: dict[str, float | int | str] = {"lr": 10**-2.5, "dropout": 0.3, "layers": 5, "batch": 64.0}
    best["optimizer"] = "adam"
    assert mixed_problem().evaluate(best) == pytest.approx(0.0)


def test_bbob_problems_state_ioh_optima_and_never_beat_them() -> None:
    bbob = [p for p in all_problems() if p.family == "bbob"]
    assert len(bbob) == 12
    for p in bbob:
        assert p.optimum is not None
        assert p.evaluate({f"x{i}": 0.0 for i in range(5)}) >= p.optimum


def test_grid_space_has_about_budget_points_with_linear_steps() -> None:
    branin = synthetic_problems()[0]
    grid = grid_params(branin.params, 100)
    assert (grid["x0"].min, grid["x0"].max, grid["x1"].step) == ("-5.0", "10.0", "1.666666666")
    trace = run("katib-flow/grid/p1", branin, 0)
    assert len(trace.values) == 100  # 10 x 10 points


def test_contenders_spend_exactly_the_budget() -> None:
    mixed = mixed_problem()
    small = Problem(mixed.name, mixed.family, mixed.params, mixed.evaluate, mixed.optimum, budget=6)
    for contender in ("katib-flow/tpe/p4", "optuna-cmaes", "hyperopt-tpe", "random-uniform"):
        assert len(run(contender, small, 0).values) == 6


def test_holm_steps_down_and_stops_at_the_first_non_rejection() -> None:
    # m = 3: thresholds 0.05/3, 0.05/2, 0.05/1
    assert holm({"a": 0.01, "b": 0.02, "c": 0.04}) == {"a": True, "b": True, "c": True}
    assert holm({"a": 0.01, "b": 0.06, "c": 0.001}) == {"a": True, "b": False, "c": True}
    assert holm({"a": 0.02, "b": 0.02, "c": 0.001}) == {"a": True, "b": True, "c": True}
    assert holm({"a": 0.03, "b": 0.02, "c": 0.02}) == {"a": False, "b": False, "c": False}  # 0.02 > 0.05 / 3


def test_one_sided_mann_whitney_direction() -> None:
    low, high = [0.1, 0.2, 0.3, 0.4, 0.5], [1.1, 1.2, 1.3, 1.4, 1.5]
    assert less_p(low, high) < 0.01
    assert less_p(high, low) > 0.99
    assert less_p([1.0] * 5, [1.0] * 5) == 1.0


def test_worse_by_more_than_a_margin() -> None:
    base = [0.1 * i for i in range(20)]
    assert worse_by_more_than_p(base, [v + 1.0 for v in base], 0.3) < 0.01  # a loss of 1 exceeds 0.3
    assert worse_by_more_than_p(base, [v + 0.2 for v in base], 0.3) > 0.5  # a loss of 0.2 does not
    assert less_p(base, [v + 0.2 for v in base]) < worse_by_more_than_p(base, [v + 0.2 for v in base], 0.3)


def test_within_a_margin_needs_evidence_of_a_small_loss() -> None:
    base = [0.1 * i for i in range(20)]
    assert within_margin_p(base, base, 1.0) < 0.01  # identical runs are shown within a wide margin
    assert within_margin_p(base, base, 0.1) > 0.05  # but not within one narrower than their spread allows
    assert within_margin_p(base, [v + 1.0 for v in base], 0.3) > 0.99  # a loss of 1 is not within 0.3


def test_fisher_p_sees_small_losses_that_recur() -> None:
    assert fisher_p([0.1] * 20) < 0.001  # no problem significant alone after Holm, all together are
    assert fisher_p([0.5] * 20) > 0.5
    assert fisher_p([0.01]) == pytest.approx(0.01)
    assert math.isnan(fisher_p([]))


def test_mean_loss_interval_pools_the_problems() -> None:
    spread = [0.1 * i for i in range(20)]
    estimate, low, high = mean_loss_interval([(spread, spread)] * 5)
    assert estimate == 0 and low < 0 < high  # no loss: the interval holds zero
    estimate, low, high = mean_loss_interval([(spread, [v + 1.0 for v in spread])] * 5)
    assert estimate == pytest.approx(1.0) and 0.5 < low < 1.0 < high < 1.5  # a loss of one decade everywhere
    _, one_low, one_high = mean_loss_interval([(spread, spread)])
    assert one_high - one_low > high - low  # five problems pin the mean down better than one
    assert math.isnan(mean_loss_interval([])[0])


def test_largest_loss_noise_is_what_an_algorithm_loses_against_itself() -> None:
    assert largest_loss_noise([([1.0] * 20, 20, 20)]) == 0  # every run alike: two medians never differ
    bimodal = [-3.0] * 10 + [-1.0] * 10  # Hartmann6-like: global or local basin, half and half
    assert largest_loss_noise([(bimodal, 20, 20)]) == pytest.approx(2.0)  # which basin holds the median is chance
    spread = [0.1 * i for i in range(20)]
    one = largest_loss_noise([(spread, 20, 20)])
    assert 0.1 < one < largest_loss_noise([(spread, 5, 5)]) < 2.0  # fewer seeds, more noise
    assert one < largest_loss_noise([(spread, 20, 20)] * 20)  # the largest of 20 losses exceeds a typical one
    assert math.isnan(largest_loss_noise([([1.0], 20, 20)]))


def test_exceedances_noise_counts_the_problems_chance_puts_beyond_the_margin() -> None:
    alike = ([1.0] * 20, 20, 20)
    assert exceedances_noise([alike] * 20, 0.3) == 0  # runs that never differ never lose
    bimodal = ([-3.0] * 10 + [-1.0] * 10, 20, 20)  # which basin holds the median is chance
    narrow = ([0.01 * i for i in range(20)], 20, 20)  # spread far below the margin
    assert exceedances_noise([narrow] * 20, 0.3) == 0
    some = exceedances_noise([bimodal] * 20, 0.3)
    assert 5 <= some < 20  # about half lose 2 decades or gain them; a tail of draws has more losers
    assert exceedances_noise([bimodal] * 20, 0.3, quantile=0.5) < some
    assert exceedances_noise([bimodal] * 10 + [narrow] * 10, 0.3) < some  # only the noisy problems count
    assert exceedances_noise([([1.0], 20, 20)], 0.3) == 0  # one run: nothing to resample


def test_ranks_regret_and_score() -> None:
    ranks = average_ranks({"p": {"a": 1.0, "b": 2.0, "c": 2.0}, "q": {"a": 3.0, "b": 1.0, "c": math.nan}})
    assert ranks == {"a": 1.5, "b": 1.75, "c": 2.5}  # ties share 2.5; c is left out of q
    assert log_regret(1.001, 1.0) == pytest.approx(-3)
    assert log_regret(1.0, 1.0) == -8
    assert score(0.5, random_median=0.5, best_ever=0.1) == 0
    assert score(0.1, random_median=0.5, best_ever=0.1) == 100


def test_sklearn_table_scores_medians_against_random_and_leaves_out_contenders_never_run() -> None:
    from quality import Run, report

    (task,) = [p for p in all_problems() if p.name == "svc-digits"]
    errors = {"katib-flow/random/p1": [0.04, 0.05, 0.06], "katib-flow/tpe/p1": [0.01, 0.03, 0.02]}
    runs = {
        run.key: run
        for contender, values in errors.items()
        for seed, error in enumerate(values)
        for run in [Run(task.name, contender, seed, task.budget, [0.09, error], 0, 1.0)]
    }
    lines = list(report([task], [*errors, "katib-flow/tpe/p4"], runs))
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in lines if "/p" in line}
    # seeds, median error, score (0 = random's median 0.05, 100 = best ever 0.01), mean score
    assert rows["katib-flow/random/p1"] == ["3", "0.0500", "0", "0"]
    assert rows["katib-flow/tpe/p1"] == ["3", "0.0200", "75", "75"]
    assert "katib-flow/tpe/p4" not in rows  # parallel modes are not run on these tasks


def test_report_gives_median_regret_at_every_checkpoint_final_budget_first() -> None:
    from quality import Run, report

    (branin,) = [p for p in all_problems() if p.name == "branin"]
    assert branin.optimum is not None and branin.budget == 100
    # Each run's best-so-far is optimum + 10 until trial 25, + 1 until trial 50, then + 10**(-seed - 2).
    runs = {}
    for seed in range(3):
        values = [branin.optimum + 10] * 25 + [branin.optimum + 1] * 25 + [branin.optimum + 10.0 ** (-seed - 2)] * 50
        r = Run(branin.name, "katib-flow/tpe/p1", seed, 100, values, 0, 1.0)
        runs[r.key] = r
    lines = list(report([branin], ["katib-flow/tpe/p1"], runs))
    headings = [line for line in lines if line.startswith("### Median log10 simple regret")]
    assert [h.split(" after ")[1].split(" trials")[0] for h in headings] == ["100", "50", "25"]
    cells = [float(line.split("|")[2]) for line in lines if line.startswith("| katib-flow/tpe/p1 |")]
    assert cells[0] == pytest.approx(-3, abs=1e-6)  # median of -2, -3, -4
    assert cells[-2:] == [pytest.approx(0, abs=1e-6), pytest.approx(1, abs=1e-6)]


def test_benchmark_workers_run_every_thread_pool_single_threaded() -> None:
    # In a fresh interpreter: limits set here would stay on for the rest of the test session.
    code = (
        "import quality; quality._single_threaded(); from threadpoolctl import threadpool_info; "
        "print(sorted({(i['internal_api'], i['num_threads']) for i in threadpool_info()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT / "bench", capture_output=True, text=True, check=True
    ).stdout
    assert "openmp" in out  # scikit-learn's OpenMP is loaded, so it is limited too
    assert out.strip() == str(sorted({("openblas", 1), ("openmp", 1)}))


def test_pbt_quality_table_runs_and_pbt_uses_its_parents_state() -> None:
    from quality_pbt import best_accuracy, pbt_report

    lines = pbt_report(2, budgets=(100,))
    assert lines[0].startswith("| epochs in all | pbt: median") and lines[2].startswith("| 100 |")
    # with enough compute the population's schedule reaches what no single learning rate does
    assert best_accuracy("pbt", 1600, 0) > best_accuracy("random", 1600, 0)
