"""The contenders of ``bench/quality.py``: katib-flow's algorithms and the reference libraries used directly.

Every contender returns the objective values in evaluation order (a "trace").
katib-flow's algorithms run through the path the local runner and the Argo
steps use: a new suggester per call, built from the stored history
(``create_suggester(...).suggest(history, n)``), nothing kept between calls.
Two kinds of parallelism: ``pN`` asks for N trials per call and evaluates all
N before the next call (synchronous batches: the harshest case, as the
algorithm learns nothing between the points of a batch); ``aN`` is what the
local runner and the Argo lanes do: N slots, each refilled as soon as its
trial finishes, with the other N - 1 trials still running (pending) when the
algorithm is asked. Trial durations are drawn at random (seeded), so trials
finish out of order.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from quality_problems import Point, Problem, Value, decode

from katib_flow import algorithm, search
from katib_flow.algorithms import create_suggester
from katib_flow.dsl import SearchParameter
from katib_flow.history import TrialRecord, TrialState
from katib_flow.space import SearchSpace
from katib_flow.spec import ExperimentSpec
from katib_flow.spec import constants as c

KATIB_ALGORITHMS = ("random", "grid", "sobol", "tpe", "multivariate-tpe", "cmaes", "bayesianoptimization")
# Optuna 5's default TPESampler is multivariate for single-objective studies; katib-flow's ``tpe``
# is the independent TPE of Katib and hyperopt, so its own library is TPESampler(multivariate=False).
REFERENCES = (
    "optuna-tpe",
    "optuna-tpe-independent",
    "optuna-cmaes",
    "optuna-cmaes-batch4",  # CMA-ES asked 4 at a time: what batching costs Optuna's own sampler
    "optuna-cmaes-slots4",  # 4 running at once, refilled as they finish: the same for the runner's way
    "hyperopt-tpe",
    "skopt-gp_minimize",
    "random-uniform",
)
# Which reference is each katib-flow algorithm's own library (the "within seed noise" target).
OWN_LIBRARY = {
    "tpe": "optuna-tpe-independent",
    "multivariate-tpe": "optuna-tpe",
    "cmaes": "optuna-cmaes",
    "bayesianoptimization": "skopt-gp_minimize",
    "random": "random-uniform",
}


@dataclass(frozen=True)
class Trace:
    values: list[float]
    duplicates: int = 0  # points proposed twice within one batch


def contender_names(parallelism: tuple[str, ...] = ("p1", "p4", "a4")) -> list[str]:
    return [f"katib-flow/{a}/{p}" for p in parallelism for a in KATIB_ALGORITHMS] + list(REFERENCES)


def run(contender: str, problem: Problem, seed: int) -> Trace:
    if contender.startswith("katib-flow/"):
        _, name, mode = contender.split("/")
        if mode.startswith("a"):
            return run_katib_slots(name, problem, seed, int(mode[1:]))
        return run_katib(name, problem, seed, int(mode[1:]))
    return _REFERENCE[contender](problem, seed)


# ---- katib-flow ---------------------------------------------------------------------------------


def _space(params: dict[str, SearchParameter]) -> SearchSpace:
    return SearchSpace.from_spec(ExperimentSpec(parameters=[p.to_spec(name) for name, p in params.items()]))


def grid_params(params: dict[str, SearchParameter], budget: int) -> dict[str, SearchParameter]:
    """The space with steps, about ``budget`` points in all: Katib's grid needs a step on every double.

    Steps are linear even for log-scaled parameters, as Katib's grid has no log steps.
    """
    numeric = [n for n, p in params.items() if p.parameter_type in (c.PARAM_DOUBLE, c.PARAM_INT)]
    choices = math.prod(len(p.values or ()) for n, p in params.items() if n not in numeric)
    per_dim = max(2, math.floor((budget / choices) ** (1 / max(1, len(numeric))) + 1e-9))
    out = dict(params)
    for name in numeric:
        p = params[name]
        low, high = float(p.min or 0), float(p.max or 0)
        if p.parameter_type == c.PARAM_INT:
            out[name] = search.int(int(low), int(high), max(1, int(high - low) // (per_dim - 1)))
        else:
            # Rounded down, so that float error cannot drop the last grid point.
            out[name] = search.double(low, high, math.floor((high - low) / (per_dim - 1) * 1e9) / 1e9)
    return out


def run_katib(name: str, problem: Problem, seed: int, parallel: int) -> Trace:
    params = grid_params(problem.params, problem.budget) if name == "grid" else problem.params
    space = _space(params)
    settings = algorithm(name, random_state=seed).to_spec().algorithm_settings
    history: list[TrialRecord] = []
    duplicates = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(history) < problem.budget:
            wanted = min(parallel, problem.budget - len(history))
            proposals = create_suggester(name, space, "minimize", settings, seed=seed).suggest(history, wanted)
            if not proposals:
                break  # grid exhausted
            keys = [tuple(sorted(p.assignments.items())) for p in proposals]
            duplicates += len(keys) - len(set(keys))
            for proposal in proposals:
                point = {n: decode(params[n], v) for n, v in proposal.assignments.items()}
                value = problem.evaluate(point)
                history.append(
                    TrialRecord(
                        f"t{len(history)}", proposal.assignments, TrialState.SUCCEEDED, value, (), proposal.data
                    )
                )
    return Trace([t.objective for t in history if t.objective is not None], duplicates)


def run_katib_slots(name: str, problem: Problem, seed: int, slots: int) -> Trace:
    """``slots`` trials at a time, each slot refilled when its trial finishes, as the runner does."""
    params = grid_params(problem.params, problem.budget) if name == "grid" else problem.params
    space = _space(params)
    settings = algorithm(name, random_state=seed).to_spec().algorithm_settings
    durations = np.random.default_rng(seed + 10_000)
    history: list[TrialRecord] = []
    running: dict[int, tuple[float, float]] = {}  # index in history -> (finish time, objective value)
    values: list[float] = []
    duplicates, now = 0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(values) < problem.budget:
            wanted = min(slots - len(running), problem.budget - len(history))
            if wanted > 0:
                proposals = create_suggester(name, space, "minimize", settings, seed=seed).suggest(history, wanted)
                pending = {tuple(sorted(history[i].assignments.items())) for i in running}
                keys = [tuple(sorted(p.assignments.items())) for p in proposals]
                duplicates += len(keys) - len(set(keys)) + sum(k in pending for k in keys)
                for proposal in proposals:
                    point = {n: decode(params[n], v) for n, v in proposal.assignments.items()}
                    running[len(history)] = (now + float(durations.uniform(0.5, 1.5)), problem.evaluate(point))
                    history.append(
                        TrialRecord(
                            f"t{len(history)}", proposal.assignments, TrialState.RUNNING, None, (), proposal.data
                        )
                    )
            if not running:
                break  # grid exhausted
            done = min(running, key=lambda i: running[i][0])
            now, value = running.pop(done)
            t = history[done]
            history[done] = TrialRecord(t.name, t.assignments, TrialState.SUCCEEDED, value, (), t.data)
            values.append(value)
    return Trace(values, duplicates)


# ---- reference libraries, used directly in-process ----------------------------------------------


def _is_log(p: SearchParameter) -> bool:
    return p.distribution == c.DIST_LOG_UNIFORM


def _optuna(make_sampler: Callable[[int], Any], batch: int = 1, slots: int = 0) -> Callable[[Problem, int], Trace]:
    """Optuna's ask-and-tell; with ``batch``, that many trials are asked before any is told; with
    ``slots``, that many run at once, each replaced when it finishes (durations as in ``aN``)."""

    def run_optuna(problem: Problem, seed: int) -> Trace:
        import optuna
        from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        dists: dict[str, BaseDistribution] = {}
        for n, p in problem.params.items():
            if p.parameter_type == c.PARAM_DOUBLE:
                dists[n] = FloatDistribution(float(p.min or 0), float(p.max or 0), log=_is_log(p))
            elif p.parameter_type == c.PARAM_INT:
                dists[n] = IntDistribution(int(p.min or 0), int(p.max or 0))
            else:
                dists[n] = CategoricalDistribution(list(p.values or ()))
        study = optuna.create_study(sampler=make_sampler(seed))
        values: list[float] = []

        def evaluate(trial: Any) -> float:
            return problem.evaluate({n: decode(problem.params[n], str(v)) for n, v in trial.params.items()})

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            durations = np.random.default_rng(seed + 10_000)
            running: list[tuple[float, Any, float]] = []  # (finish time, trial, value)
            now, asked = 0.0, 0
            while slots and len(values) < problem.budget:
                while len(running) < slots and asked < problem.budget:
                    trial = study.ask(dists)
                    asked += 1
                    running.append((now + float(durations.uniform(0.5, 1.5)), trial, evaluate(trial)))
                now, trial, value = min(running, key=lambda r: r[0])
                running = [r for r in running if r[1] is not trial]
                study.tell(trial, value)
                values.append(value)
            while len(values) < problem.budget:
                trials = [study.ask(dists) for _ in range(min(batch, problem.budget - len(values)))]
                for trial in trials:
                    value = evaluate(trial)
                    study.tell(trial, value)
                    values.append(value)
        return Trace(values)

    return run_optuna


def _tpe(seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed)  # Optuna 5's default: multivariate


def _independent_tpe(seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed, multivariate=False)


def _cmaes(seed: int) -> Any:
    import optuna

    return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)


def _hyperopt(problem: Problem, seed: int) -> Trace:
    from hyperopt import STATUS_OK, fmin, hp, tpe

    space: dict[str, Any] = {}
    for n, p in problem.params.items():
        low, high = float(p.min or 0), float(p.max or 0)
        if p.parameter_type == c.PARAM_DOUBLE:
            space[n] = hp.loguniform(n, math.log(low), math.log(high)) if _is_log(p) else hp.uniform(n, low, high)
        elif p.parameter_type == c.PARAM_INT:
            space[n] = hp.uniformint(n, low, high)
        else:
            space[n] = hp.choice(n, list(p.values or ()))
    values: list[float] = []

    def objective(point: dict[str, Any]) -> dict[str, Any]:
        value = problem.evaluate({n: decode(problem.params[n], _text(v)) for n, v in point.items()})
        values.append(value)
        return {"loss": value, "status": STATUS_OK}

    fmin(
        objective,
        space,
        algo=tpe.suggest,
        max_evals=problem.budget,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return Trace(values)


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _skopt(problem: Problem, seed: int) -> Trace:
    from skopt import gp_minimize
    from skopt.space import Categorical, Integer, Real

    names = list(problem.params)
    dims: list[Any] = []
    for p in problem.params.values():
        if p.parameter_type == c.PARAM_DOUBLE:
            dims.append(Real(float(p.min or 0), float(p.max or 0), prior="log-uniform" if _is_log(p) else "uniform"))
        elif p.parameter_type == c.PARAM_INT:
            dims.append(Integer(int(p.min or 0), int(p.max or 0)))
        else:
            dims.append(Categorical(list(p.values or ())))
    values: list[float] = []

    def objective(x: list[Any]) -> float:
        value = problem.evaluate({n: decode(problem.params[n], _text(v)) for n, v in zip(names, x, strict=True)})
        values.append(value)
        return value

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gp_minimize(objective, dims, n_calls=problem.budget, random_state=seed)
    return Trace(values)


def _uniform(problem: Problem, seed: int) -> Trace:
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(problem.budget):
        point: dict[str, Value] = {}
        for n, p in problem.params.items():
            if p.parameter_type == c.PARAM_DOUBLE:
                low, high = float(p.min or 0), float(p.max or 0)
                u = float(rng.random())
                point[n] = math.exp(math.log(low) + u * math.log(high / low)) if _is_log(p) else low + u * (high - low)
            elif p.parameter_type == c.PARAM_INT:
                point[n] = int(rng.integers(int(p.min or 0), int(p.max or 0) + 1))
            else:
                choice = str(rng.choice(list(p.values or ())))
                point[n] = decode(p, choice)
        values.append(problem.evaluate(point))
    return Trace(values)


_REFERENCE: dict[str, Callable[[Problem, int], Trace]] = {
    "optuna-tpe": _optuna(_tpe),
    "optuna-tpe-independent": _optuna(_independent_tpe),
    "optuna-cmaes": _optuna(_cmaes),
    "optuna-cmaes-batch4": _optuna(_cmaes, batch=4),
    "optuna-cmaes-slots4": _optuna(_cmaes, slots=4),
    "hyperopt-tpe": _hyperopt,
    "skopt-gp_minimize": _skopt,
    "random-uniform": _uniform,
}

__all__ = ["KATIB_ALGORITHMS", "OWN_LIBRARY", "REFERENCES", "Point", "Trace", "contender_names", "run"]
