"""Optimization quality: katib-flow's algorithms side by side with Optuna, hyperopt and scikit-optimize.

    python bench/quality.py                       # every problem and contender, 10 seeds
    python bench/quality.py --seeds 20            # 20 seeds
    python bench/quality.py --jobs 2 --problems branin mixed --contenders katib-flow/tpe/p1 optuna-tpe
    python bench/quality.py --report-only         # tables from the runs already stored
    python bench/quality.py --quick               # a one-minute smoke run (CI checks that it runs)
    python bench/quality.py --pbt                 # pbt vs hyperband vs random on a learning-curve task

Runs are appended to a JSON-lines file (``--results``, default
bench/quality-runs.jsonl) as they finish; a run already there is not repeated,
so an interrupted or partial benchmark is continued by running the same command
again, and more seeds can be added later. The report covers whatever is stored.
See bench/quality_problems.py (problems) and bench/quality_contenders.py.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_contenders import KATIB_ALGORITHMS, OWN_LIBRARY, contender_names, run
from quality_problems import SYNTHETIC, Problem, all_problems
from quality_stats import (
    average_ranks,
    best_so_far,
    exceedances_noise,
    fisher_p,
    holm,
    largest_loss_noise,
    less_p,
    log_regret,
    mean_loss_interval,
    median,
    score,
    within_margin_p,
    worse_by_more_than_p,
)

DEFAULT_RESULTS = Path(__file__).resolve().parent / "quality-runs.jsonl"
CHECKPOINTS = (25, 50, 100)
MIN_SEEDS = 3
# The target: parallelism 4 loses at most this many decades of median regret.
TOLERANCE = 0.3
MODEL_BASED = ("tpe", "multivariate-tpe", "cmaes", "bayesianoptimization")


@dataclass(frozen=True)
class Run:
    problem: str
    contender: str
    seed: int
    budget: int
    values: list[float]
    duplicates: int
    seconds: float

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.problem, self.contender, self.seed, self.budget)


def _problems(patterns: list[str] | None, quick: bool) -> list[Problem]:
    problems = all_problems()
    if quick:
        problems = [replace(p, budget=12) for p in problems if p.name in ("branin", "mixed")]
    if patterns:
        problems = [p for p in problems if any(fnmatch.fnmatch(p.name, pat) or p.family == pat for pat in patterns)]
    return problems


def _single_threaded() -> None:
    # One thread per run: the runs share the cores through --jobs, and OpenMP (HistGradientBoosting)
    # or BLAS threads inside each run would oversubscribe them. threadpoolctl only reaches libraries
    # already loaded, so the ones the runs load later (scikit-learn's OpenMP, SciPy's OpenBLAS) are
    # loaded first.
    import scipy.linalg  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _one(problem_name: str, budget: int, contender: str, seed: int) -> Run:
    (problem,) = [replace(p, budget=budget) for p in all_problems() if p.name == problem_name]
    started = time.perf_counter()
    trace = run(contender, problem, seed)
    return Run(problem_name, contender, seed, budget, trace.values, trace.duplicates, time.perf_counter() - started)


def load_runs(path: Path) -> dict[tuple[str, str, int, int], Run]:
    runs: dict[tuple[str, str, int, int], Run] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                r = Run(**json.loads(line))
                runs[r.key] = r
    return runs


def execute(problems: list[Problem], contenders: list[str], seeds: int, jobs: int, path: Path) -> None:
    done = load_runs(path)
    todo = [
        (p.name, p.budget, contender, seed)
        for seed in range(seeds)
        for p in problems
        for contender in contenders
        if (p.name, contender, seed, p.budget) not in done
    ]
    print(f"{len(todo)} runs to do ({len(done)} stored in {path})", file=sys.stderr)
    with ProcessPoolExecutor(jobs, initializer=_single_threaded) as pool:
        futures = [pool.submit(_one, *task) for task in todo]
        for i, future in enumerate(as_completed(futures), 1):
            r = future.result()
            # Opened per run: a file held open for hours keeps writing to the old copy when git
            # (a checkout, a stash) replaces the runs file, and those runs are lost with it.
            with path.open("a") as out:
                out.write(json.dumps(r.__dict__) + "\n")
            print(f"[{i}/{len(todo)}] {r.problem} {r.contender} seed {r.seed}: {r.seconds:.1f} s", file=sys.stderr)


# ---- the report ---------------------------------------------------------------------------------


def _by_problem(
    runs: dict[tuple[str, str, int, int], Run], problem: Problem, contenders: list[str], budget: int
) -> dict[str, list[float]]:
    """Per contender, the best value within ``budget`` of each seed's run."""
    out: dict[str, list[float]] = {}
    for r in runs.values():
        if r.problem == problem.name and r.budget == problem.budget and r.contender in contenders:
            out.setdefault(r.contender, []).append(best_so_far(r.values, budget))
    return out


def _fmt(x: float, digits: int = 2) -> str:
    if math.isnan(x):
        return "-"
    text = f"{x:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text  # no "-0" for a value that rounds to zero


def _fmt_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else _fmt(p, 3)


def report(problems: list[Problem], contenders: list[str], runs: dict[tuple[str, str, int, int], Run]) -> Iterator[str]:
    known = [p for p in problems if p.optimum is not None]
    sklearn = [p for p in problems if p.optimum is None]
    seeds = sorted({r.seed for r in runs.values()})
    yield f"Machine: {platform.machine()}, {platform.python_version()}; seeds stored: {len(seeds)}"
    yield ""

    # Median log10 simple regret at each checkpoint.
    regret: dict[int, dict[str, dict[str, float]]] = {}
    samples: dict[int, dict[str, dict[str, list[float]]]] = {}
    for budget in sorted({*CHECKPOINTS, *(p.budget for p in known)}):
        for p in known:
            if budget > p.budget:
                continue
            assert p.optimum is not None
            per = {
                n: [log_regret(b, p.optimum) for b in v] for n, v in _by_problem(runs, p, contenders, budget).items()
            }
            samples.setdefault(budget, {})[p.name] = per
            regret.setdefault(budget, {})[p.name] = {n: median(v) for n, v in per.items()}
    if regret:
        yield from _regret_tables(known, contenders, regret)
    if sklearn:
        yield from _sklearn_table(sklearn, contenders, runs)
    if samples:
        yield from _targets(known, contenders, runs, samples, regret)
    # The same runs' best-so-far at the earlier checkpoints, last so the final budget leads.
    for budget in sorted(regret, reverse=True)[1:]:
        yield from _median_table(known, contenders, regret, budget)


def _median_table(
    known: list[Problem], contenders: list[str], regret: dict[int, dict[str, dict[str, float]]], budget: int
) -> Iterator[str]:
    yield f"### Median log10 simple regret after {budget} trials (lower is better; -8 = optimum found)"
    yield ""
    names = [p.name for p in known if p.name in regret[budget]]
    yield "| contender | " + " | ".join(names) + " |"
    yield "| --- |" + " ---: |" * len(names)
    for c in contenders:
        cells = [_fmt(regret[budget][n].get(c, math.nan)) for n in names]
        yield f"| {c} | " + " | ".join(cells) + " |"
    yield ""


def _regret_tables(
    known: list[Problem], contenders: list[str], regret: dict[int, dict[str, dict[str, float]]]
) -> Iterator[str]:
    final = max(regret)
    yield from _median_table(known, contenders, regret, final)

    yield "### Average rank by median regret (problems with a known optimum; 1 = best)"
    yield ""
    ranks = {b: average_ranks(regret[b]) for b in regret}
    yield "| contender | " + " | ".join(f"{b} trials" for b in ranks) + " |"
    yield "| --- |" + " ---: |" * len(ranks)
    for c in sorted(contenders, key=lambda c: ranks[final].get(c, math.inf)):
        yield f"| {c} | " + " | ".join(_fmt(ranks[b].get(c, math.nan)) for b in ranks) + " |"
    yield ""


def _sklearn_table(
    problems: list[Problem], contenders: list[str], runs: dict[tuple[str, str, int, int], Run]
) -> Iterator[str]:
    yield "### scikit-learn tasks: median best 3-fold CV error after 50 trials, and score"
    yield ""
    yield "Score: 0 = random search's median result (katib-flow random, p1), 100 = the best error any run reached."
    yield ""
    yield "| contender | seeds | " + " | ".join(f"{p.name} error | score" for p in problems) + " | mean score |"
    yield "| --- | ---: |" + " ---: | ---: |" * len(problems) + " ---: |"
    cells: dict[str, list[str]] = {c: [] for c in contenders}
    scores: dict[str, list[float]] = {c: [] for c in contenders}
    seeds: dict[str, list[int]] = {c: [] for c in contenders}
    for p in problems:
        per = _by_problem(runs, p, contenders, p.budget)
        best_ever = min((min(v) for v in per.values() if v), default=math.nan)
        random_median = median(per.get("katib-flow/random/p1", []))
        for c in contenders:
            m = median(per.get(c, []))
            seeds[c].append(len(per.get(c, [])))
            scores[c].append(score(m, random_median, best_ever) if not math.isnan(m) else math.nan)
            cells[c] += [_fmt(m, 4), _fmt(scores[c][-1], 0)]
    for c in contenders:
        if any(seeds[c]):  # contenders never run on these tasks (parallel modes) get no row
            mean = statistics.fmean(scores[c]) if not any(math.isnan(v) for v in scores[c]) else math.nan
            yield f"| {c} | {min(seeds[c])} | " + " | ".join(cells[c]) + f" | {_fmt(mean, 0)} |"
    yield ""


def _targets(
    known: list[Problem],
    contenders: list[str],
    runs: dict[tuple[str, str, int, int], Run],
    samples: dict[int, dict[str, dict[str, list[float]]]],
    regret: dict[int, dict[str, dict[str, float]]],
) -> Iterator[str]:
    final = max(samples)

    def tested(problems: list[Problem], *names: str) -> list[Problem]:
        # A one-sided Mann-Whitney test on fewer than MIN_SEEDS runs a side cannot reach significance.
        by = samples[final]
        return [p for p in problems if p.name in by and all(len(by[p.name].get(n, [])) >= MIN_SEEDS for n in names)]

    yield "### Targets"
    yield ""
    yield "One-sided Mann-Whitney tests on log10 regret across seeds after the final budget, Holm-corrected over"
    yield f"the problems of each comparison (family-wise alpha 0.05), on the problems with >= {MIN_SEEDS} seeds a side."
    yield ""
    yield "| comparison | significantly better | no significant difference | significantly worse |"
    yield "| --- | ---: | ---: | ---: |"
    for algo, library in OWN_LIBRARY.items():
        ours = f"katib-flow/{algo}/p1"
        if ours in contenders and library in contenders:
            problems = tested(known, ours, library)
            label = f"{ours} vs {library} (its own library, {len(problems)} problems)"
            yield _comparison_row(label, ours, library, problems, samples[final])
    synthetic = tested([p for p in known if p.family == SYNTHETIC], "katib-flow/random/p1")
    for algo in MODEL_BASED:
        ours = f"katib-flow/{algo}/p1"
        if ours in contenders and "katib-flow/random/p1" in contenders:
            row = _comparison_row(
                f"{ours} vs katib-flow random ({len(synthetic)} synthetic)",
                ours,
                "katib-flow/random/p1",
                synthetic,
                samples[final],
            )
            yield row
    yield ""
    yield "Parallelism 4 against 1: points proposed twice at once (within a batch, or equal to a running trial;"
    yield f"every run); over the problems with >= {MIN_SEEDS} seeds, the mean loss of median log10 regret (decades)"
    yield "with its 90% bootstrap interval (resampling each problem's runs), and the largest loss;"
    yield "then three one-sided Mann-Whitney tests per problem, each Holm-corrected over the problems (family-wise"
    yield f"alpha 0.05): where parallelism 4 is significantly worse; where it is worse by more than {TOLERANCE} decades"
    yield f"(against parallelism 1's regrets plus {TOLERANCE}); and on how many problems it is shown to lose less than"
    yield f"{TOLERANCE} (non-inferiority: parallelism 4 better than parallelism 1 plus {TOLERANCE}). Sobol's points do"
    yield "not depend on parallelism, so its count is what this protocol can show for an algorithm that loses nothing."
    yield f"Median loss > {TOLERANCE}: the target read problem by problem, noise included; in brackets, on how"
    yield "many problems parallelism 1 loses that much against itself, exceeded one time in twenty (bootstrap from"
    yield "its own runs, as for the seed-noise column): no more problems than that is not evidence of a loss."
    yield "All problems together:"
    yield "Fisher's combination of the per-problem tests of the first kind, small when small losses recur on many"
    yield "problems."
    yield "Seed noise: the largest loss parallelism 1 shows against itself over the same problems and numbers of"
    yield "seeds, exceeded one time in twenty (bootstrap from its own runs): a largest loss below it is what"
    yield "re-running with other seeds gives."
    yield ""
    yield (
        "| algorithm | duplicate points | mean loss, decades (90% interval) | largest loss, decades (problem) "
        f"| median loss > {TOLERANCE} | significantly worse at 4 | all problems together, p "
        f"| worse by > {TOLERANCE} | shown within {TOLERANCE} | seed noise, decades |"
    )
    yield "| --- | ---: | --- | --- | ---: | --- | ---: | --- | ---: | ---: |"
    pairs = [(f"{a}, batches of 4", f"katib-flow/{a}/p1", f"katib-flow/{a}/p4") for a in KATIB_ALGORITHMS]
    pairs.append(("optuna-cmaes, asked 4 at a time (reference)", "optuna-cmaes", "optuna-cmaes-batch4"))
    pairs += [
        (f"{a}, 4 slots refilled as trials finish", f"katib-flow/{a}/p1", f"katib-flow/{a}/a4")
        for a in KATIB_ALGORITHMS
    ]
    pairs.append(("optuna-cmaes, 4 slots refilled (reference)", "optuna-cmaes", "optuna-cmaes-slots4"))
    by_seed = samples[final]
    for label, p1, p4 in pairs:
        if p1 not in contenders or p4 not in contenders:
            continue
        dups = sum(r.duplicates for r in runs.values() if r.contender == p4)
        compared = [
            p for p in tested(known, p1, p4) if not math.isnan(regret[final][p.name][p1] + regret[final][p.name][p4])
        ]
        losses = {p.name: regret[final][p.name][p4] - regret[final][p.name][p1] for p in compared}
        mean, low, high = mean_loss_interval([(by_seed[n][p1], by_seed[n][p4]) for n in losses])
        worst = max(losses.items(), key=lambda kv: kv[1], default=("-", math.nan))
        worse_p = {name: less_p(by_seed[name][p1], by_seed[name][p4]) for name in losses}
        worse = holm(worse_p)
        beyond = holm({name: worse_by_more_than_p(by_seed[name][p1], by_seed[name][p4], TOLERANCE) for name in losses})
        within = holm({name: within_margin_p(by_seed[name][p1], by_seed[name][p4], TOLERANCE) for name in losses})
        chance_of = [(by_seed[n][p1], len(by_seed[n][p1]), len(by_seed[n][p4])) for n in losses]
        noise = largest_loss_noise(chance_of)
        chance = exceedances_noise(chance_of, TOLERANCE)
        yield (
            f"| {label} | {dups} | {_fmt(mean)} ({_fmt(low)} to {_fmt(high)}) | {_fmt(worst[1])} ({worst[0]}) "
            f"| {sum(v > TOLERANCE for v in losses.values())} of {len(losses)} (chance: {chance}) "
            f"| {_significant(worse)} | {_fmt_p(fisher_p(list(worse_p.values())))} | {_significant(beyond)} "
            f"| {sum(within.values())} of {len(within)} | {_fmt(noise)} |"
        )
    yield ""


def _significant(rejected: dict[str, bool]) -> str:
    return ", ".join(name for name, significant in rejected.items() if significant) or "none"


def _comparison_row(
    label: str, ours: str, other: str, problems: list[Problem], samples: dict[str, dict[str, list[float]]]
) -> str:
    better = {
        p.name: less_p(samples[p.name].get(ours, []), samples[p.name].get(other, []))
        for p in problems
        if p.name in samples
    }
    worse = {
        p.name: less_p(samples[p.name].get(other, []), samples[p.name].get(ours, []))
        for p in problems
        if p.name in samples
    }
    b, w = holm(better), holm(worse)
    n_better, n_worse = sum(b.values()), sum(w.values())
    worse_names = ", ".join(k for k, v in w.items() if v)
    worse_cell = f"{n_worse} ({worse_names})" if worse_names else str(n_worse)
    return f"| {label} | {n_better} | {len(better) - n_better - n_worse} | {worse_cell} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seeds", type=int, default=10, help="seeds per problem and contender (default 10; 20 for the full protocol)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--problems", nargs="+", help="problem names, globs or families (synthetic, bbob, sklearn, mixed)"
    )
    parser.add_argument("--contenders", nargs="+", help="contender names or globs, e.g. 'katib-flow/*/p1' optuna-tpe")
    parser.add_argument(
        "--results", type=Path, help=f"runs file (default {DEFAULT_RESULTS.name}; --quick: a temporary one)"
    )
    parser.add_argument("--report-only", action="store_true", help="print the tables of the stored runs only")
    parser.add_argument("--quick", action="store_true", help="2 problems, 12 trials, 3 seeds, no GP: a smoke run")
    parser.add_argument(
        "--pbt",
        action="store_true",
        help="only pbt, hyperband and random at equal compute on a learning-curve task (bench/quality_pbt.py)",
    )
    args = parser.parse_args()
    if args.pbt:
        from quality_pbt import pbt_report

        for line in pbt_report(MIN_SEEDS if args.quick else args.seeds):
            print(line)
        return
    problems = _problems(args.problems, args.quick)
    contenders = contender_names()
    if args.quick:
        contenders = [c for c in contenders if "bayesianoptimization" not in c and "skopt" not in c]
        args.seeds = min(args.seeds, MIN_SEEDS)
    if args.contenders:
        contenders = [c for c in contenders if any(fnmatch.fnmatch(c, pat) for pat in args.contenders)]
    with tempfile.TemporaryDirectory() as tmp:
        results = args.results or (Path(tmp) / "runs.jsonl" if args.quick else DEFAULT_RESULTS)
        if not args.report_only:
            execute(problems, contenders, args.seeds, args.jobs, results)
        runs = {k: r for k, r in load_runs(results).items() if k[2] < args.seeds or args.report_only}
    for line in report(problems, contenders, runs):
        print(line)


if __name__ == "__main__":
    main()
