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
    times: dict[int, list[tuple[float, float]]] = {p: [] for p in args.parallel}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.rounds):
            for parallel in args.parallel:
                bare = _bare(args.trials, parallel)
                ours = _runner(args.trials, parallel, Path(tmp), run)
                times[parallel].append((ours, bare))
                print(f"round {run + 1}: parallelism {parallel}: {ours:.2f} s / {bare:.2f} s", file=sys.stderr)
    print(f"{args.rounds} rounds; medians over rounds")
    print()
    print("| parallelism | trials | katib-flow run s | bare starts s | ratio (median of rounds) | ratio range |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for parallel, pairs in times.items():
        ratios = [ours / bare for ours, bare in pairs]
        print(
            f"| {parallel} | {args.trials} | {statistics.median(o for o, _ in pairs):.2f} "
            f"| {statistics.median(b for _, b in pairs):.2f} | {statistics.median(ratios):.2f} "
            f"| {min(ratios):.2f}-{max(ratios):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
