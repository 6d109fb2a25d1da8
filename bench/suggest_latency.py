"""Suggestion latency: one "rebuild from history + suggest 3" call per algorithm and history size.

    python bench/suggest_latency.py                  # sizes 10 100 500 1000, 3 repeats
    python bench/suggest_latency.py --sizes 10 100 --repeats 1 --baseline-max 100

The space has five parameters (log-uniform double, stepped double, int,
categorical, discrete). Histories are random points with a toy objective; the
last trial carries the data the algorithm itself attached on a warm-up call
(CMA-ES state, GP hyperparameters, Sobol position), as in a real run.

Baselines, measured in the same run on the same history:
  * tpe, multivariate-tpe, cmaes: a live Optuna study that already holds the
    history, asked 3 times (what a long-lived process would pay);
  * bayesianoptimization: scikit-optimize's default GP path as Katib's skopt
    service runs it (every double log-uniform, tell all, ask 3 with cl_min),
    up to --baseline-max trials (it takes about two minutes at 500).
The ratio is katib-flow's time over the baseline's.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import optuna

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import median_seconds

from katib_flow.algorithms import algorithm_names, create_suggester
from katib_flow.algorithms._optuna import distributions, quiet_optuna, rebuild_study
from katib_flow.algorithms._values import from_unit
from katib_flow.history import TrialRecord, TrialState
from katib_flow.space import SearchSpace
from katib_flow.spec import AlgorithmSetting, ExperimentSpec, FeasibleSpace, ParameterSpec

BATCH = 3


def _param(name: str, ptype: str, **fs: object) -> ParameterSpec:
    return ParameterSpec(name=name, parameter_type=ptype, feasible_space=FeasibleSpace.model_validate(fs))


def _space_with(lr: ParameterSpec) -> SearchSpace:
    rest = [
        _param("dropout", "double", min="0.0", max="0.5", step="0.05"),
        _param("epochs", "int", min="1", max="27"),
        _param("optimizer", "categorical", list=["sgd", "adam", "rmsprop"]),
        _param("batch", "discrete", list=["16", "32", "64", "128"]),
    ]
    return SearchSpace.from_spec(ExperimentSpec(parameters=[lr, *rest]))


SPACE = _space_with(_param("lr", "double", min="0.0001", max="0.1", distribution="logUniform"))
# Grid search needs a step on every double: the same space with lr on a 0.0001 grid (3.6 million points).
GRID_SPACE = _space_with(_param("lr", "double", min="0.0001", max="0.1", step="0.0001"))
SETTINGS = {
    "hyperband": [
        AlgorithmSetting(name="r_l", value="27"),
        AlgorithmSetting(name="eta", value="3"),
        AlgorithmSetting(name="resource_name", value="epochs"),
    ],
}


def _objective(a: dict[str, str]) -> float:
    return (
        (math.log10(float(a["lr"])) + 2.5) ** 2
        + (float(a["dropout"]) - 0.2) ** 2
        + abs(int(a["epochs"]) - 12) / 27
        + {"sgd": 0.2, "adam": 0.0, "rmsprop": 0.1}[a["optimizer"]]
        + abs(math.log2(float(a["batch"])) - 5) / 10
    )


def _history(space: SearchSpace, size: int, seed: int) -> list[TrialRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(size):
        point = {p.name: from_unit(p, float(rng.random())) for p in space.parameters}
        out.append(TrialRecord(f"t{i}", point, TrialState.SUCCEEDED, _objective(point)))
    return out


def _warm(name: str, history: list[TrialRecord]) -> list[TrialRecord]:
    """Replace the last trial by one the algorithm proposed, so its attached data is realistic."""
    proposal = create_suggester(name, _space(name), "minimize", SETTINGS.get(name), seed=1).suggest(history[:-1], 1)[0]
    last = TrialRecord(
        "warm", proposal.assignments, TrialState.SUCCEEDED, _objective(proposal.assignments), (), proposal.data
    )
    return [*history[:-1], last]


def _optuna_live(name: str, history: list[TrialRecord]) -> Callable[[], object]:
    with quiet_optuna():
        if name == "cmaes":
            sampler: optuna.samplers.BaseSampler = optuna.samplers.CmaEsSampler(seed=1, warn_independent_sampling=False)
        else:
            sampler = optuna.samplers.TPESampler(seed=1, multivariate=name == "multivariate-tpe", constant_liar=True)
        study = rebuild_study(SPACE, True, sampler, history)
    dists = distributions(SPACE)

    def ask() -> None:
        with quiet_optuna():
            for _ in range(BATCH):
                study.ask(dists)

    return ask


def _skopt_katib(history: list[TrialRecord]) -> Callable[[], object]:
    from skopt import Optimizer
    from skopt.space import Categorical, Integer, Real

    dims = [
        Real(0.0001, 0.1, "log-uniform"),  # Katib makes every double log-uniform;
        Real(0.0, 0.5),  # a log-uniform prior cannot start at 0, so this one stays uniform (same cost)
        Integer(1, 27),
        Categorical(["sgd", "adam", "rmsprop"]),
        Categorical(["16", "32", "64", "128"]),
    ]
    X = [
        [
            float(t.assignments["lr"]),
            float(t.assignments["dropout"]),
            int(t.assignments["epochs"]),
            t.assignments["optimizer"],
            t.assignments["batch"],
        ]
        for t in history
    ]
    y = [t.objective or 0.0 for t in history]

    def run() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = Optimizer(dims, base_estimator="GP", n_initial_points=10, acq_func="gp_hedge", random_state=1)
            opt.tell(X, y)
            opt.ask(n_points=BATCH, strategy="cl_min")

    return run


def _space(name: str) -> SearchSpace:
    return GRID_SPACE if name == "grid" else SPACE


def _ours(name: str, history: list[TrialRecord]) -> None:
    create_suggester(name, _space(name), "minimize", SETTINGS.get(name), seed=3).suggest(history, BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-max", type=int, default=500, help="largest history for the skopt baseline")
    parser.add_argument("--algorithms", nargs="+", default=algorithm_names())
    args = parser.parse_args()

    print(
        f"# suggest latency, batch {BATCH}, median of {args.repeats}; {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, optuna {optuna.__version__}"
    )
    print("| algorithm | trials | katib-flow s | baseline | baseline s | ratio |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    for name in args.algorithms:
        for size in args.sizes:
            history = _warm(name, _history(_space(name), size, seed=size))
            ours_s = median_seconds(partial(_ours, name, history), args.repeats)
            base_name, base_s = "-", math.nan
            if name in ("tpe", "multivariate-tpe", "cmaes"):
                base_name, base_s = "live Optuna study", median_seconds(_optuna_live(name, history), args.repeats)
            elif name == "bayesianoptimization" and size <= args.baseline_max:
                base_name, base_s = "skopt default (Katib)", median_seconds(_skopt_katib(history), 1)
            ratio = f"{ours_s / base_s:.2f}" if not math.isnan(base_s) else "-"
            shown = f"{base_s:.4f}" if not math.isnan(base_s) else "-"
            print(f"| {name} | {size} | {ours_s:.4f} | {base_name} | {shown} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
