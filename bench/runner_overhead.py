"""Runner overhead: trivial trials through ``katib-flow run`` against bare interpreter starts.

    python bench/runner_overhead.py                # 200 trials, parallelism 1 and 2, 5 rounds
    python bench/runner_overhead.py --trials 40 --rounds 1

Each trial is ``python -c "print('loss=...')"``. The baseline, measured in the
same run, starts the same command the same number of times with the same
parallelism and nothing else. The ratio is the runner's wall time over the
baseline's; the target is <= 1.3. Interpreter start times drift by 20% or more
between runs on a shared machine, so each round measures the baseline right
before the runner, and the table gives the median over rounds of each time
and of the per-round ratio.

The whole-run ratio includes what a run pays once (opening the store, the
lease, the first suggester). The marginal ratio leaves that out: each round
also runs a quarter of the trials, and the cost of one more trial is
``(T(n) - T(n/4)) / (n - n/4)``, for the runner and for the bare starts alike.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from katib_flow import Experiment, algorithm, minimize, search
from katib_flow.runner import run_experiment

PROGRAM = "import sys; print('loss=' + sys.argv[1])"


def _bare(trials: int, parallel: int) -> float:
    command = [sys.executable, "-c", PROGRAM, "0.5"]
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda _: subprocess.run(command, capture_output=True, check=True), range(trials)))
    return time.perf_counter() - start


def _runner(trials: int, parallel: int, workdir: Path, run: int) -> float:
    experiment = Experiment(
        f"overhead-{parallel}-{run}",
        objective=minimize("loss"),
        algorithm=algorithm("random", random_state=1),
        parameters={"x": search.double(0, 1)},
        image="python:3.11",
        command=[sys.executable, "-c", PROGRAM, "${trialParameters.x}"],
        max_trial_count=trials,
        parallel_trial_count=parallel,
        max_failed_trial_count=0,
    ).to_model()
    start = time.perf_counter()
    result = run_experiment(
        experiment, db=f"sqlite:///{workdir / f'db-{parallel}-{run}.sqlite'}", workdir=workdir, progress="none"
    )
    elapsed = time.perf_counter() - start
    assert result.succeeded and result.status["trialsSucceeded"] == trials, result.status
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    few = max(args.trials // 4, 1)
    # per parallelism: (runner n, bare n, runner n/4, bare n/4) of each round
    times: dict[int, list[tuple[float, float, float, float]]] = {p: [] for p in args.parallel}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.rounds):
            for parallel in args.parallel:
                bare = _bare(args.trials, parallel)
                ours = _runner(args.trials, parallel, Path(tmp), run)
                bare_few = _bare(few, parallel)
                ours_few = _runner(few, parallel, Path(tmp), 1000 + run)
                times[parallel].append((ours, bare, ours_few, bare_few))
                print(
                    f"round {run + 1}: parallelism {parallel}: {ours:.2f} s / {bare:.2f} s; "
                    f"{few} trials {ours_few:.2f} s / {bare_few:.2f} s",
                    file=sys.stderr,
                )
    print(f"{args.rounds} rounds; medians over rounds")
    print()
    print(
        "| parallelism | trials | katib-flow run s | bare starts s | ratio (median of rounds) | ratio range "
        "| marginal ms/trial, runner | marginal ms/trial, bare | marginal ratio (median) | marginal range |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    extra = args.trials - few
    for parallel, rounds in times.items():
        ratios = [ours / bare for ours, bare, _, _ in rounds]
        ours_ms = [1000 * (ours - ours_few) / extra for ours, _, ours_few, _ in rounds]
        bare_ms = [1000 * (bare - bare_few) / extra for _, bare, _, bare_few in rounds]
        marginal = [o / b for o, b in zip(ours_ms, bare_ms, strict=True)]
        print(
            f"| {parallel} | {args.trials} | {statistics.median(r[0] for r in rounds):.2f} "
            f"| {statistics.median(r[1] for r in rounds):.2f} | {statistics.median(ratios):.2f} "
            f"| {min(ratios):.2f}-{max(ratios):.2f} | {statistics.median(ours_ms):.1f} "
            f"| {statistics.median(bare_ms):.1f} | {statistics.median(marginal):.2f} "
            f"| {min(marginal):.2f}-{max(marginal):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
