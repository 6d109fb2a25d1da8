"""Experiments with many finished trials for report tests and bench/report_render.py, built through the engine.

The trials are reserved with the experiment's real algorithm and finished with
the engine's own calls (mark_running, record_observations, finish_trial), as a
driver would: only the training is replaced by a formula of the parameters,
so 1,000 trials take seconds, not an afternoon.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from katib_flow import Experiment, algorithm, minimize, search
from katib_flow.collectors import Observation
from katib_flow.engine import (
    Outcome,
    StoredExperiment,
    evaluate,
    finish_trial,
    init_experiment,
    mark_running,
    record_observations,
    reserve_trials,
)
from katib_flow.engine.clock import now
from katib_flow.spec import Experiment as Wire
from katib_flow.store import Store

__all__ = ["FAMILIES", "family_experiment", "loss_of", "populate", "wide_experiment"]

WIDE = {
    "lr": search.double(1e-4, 1e-1, distribution="logUniform"),
    "momentum": search.double(0.5, 0.99),
    "units": search.int(8, 256),
    "batch": search.discrete([16, 32, 64, 128]),
    "optimizer": search.categorical(["sgd", "adam", "rmsprop"]),
}
# Grid search needs every parameter countable.
COUNTABLE = {
    "lr": search.double(0.001, 0.041, step=0.01),
    "units": search.int(64, 192, step=64),
    "optimizer": search.categorical(["sgd", "adam"]),
}
# Each algorithm family with a space and settings it accepts.
FAMILIES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "random": (WIDE, {"random_state": "3"}),
    "grid": (COUNTABLE, {}),
    "sobol": (WIDE, {}),
    "bayesianoptimization": (WIDE, {"random_state": "3", "n_initial_points": "4"}),
    "tpe": (WIDE, {"random_state": "3"}),
    "multivariate-tpe": (WIDE, {"random_state": "3"}),
    "cmaes": ({k: WIDE[k] for k in ("lr", "momentum", "units")}, {"random_state": "3"}),
    "hyperband": (
        {"epochs": search.int(1, 9), **{k: WIDE[k] for k in ("lr", "units", "optimizer")}},
        {"r_l": "9", "eta": "3", "resource_name": "epochs"},
    ),
}


def family_experiment(algo: str, trials: int) -> Wire:
    parameters, settings = FAMILIES[algo]
    parallel = 9 if algo == "hyperband" else 3  # hyperband's first bracket is r_l=9 trials at once
    return wide_experiment(f"report-{algo}", trials, algo=algo, parallel=parallel, parameters=parameters, **settings)


def wide_experiment(
    name: str,
    trials: int,
    *,
    algo: str = "random",
    parallel: int = 50,
    parameters: dict[str, Any] | None = None,
    **settings: str,
) -> Wire:
    """By default every parameter kind: log-uniform and uniform doubles, an int, a discrete, a categorical."""
    return Experiment(
        name,
        objective=minimize("loss", additional_metrics=["accuracy"]),
        algorithm=algorithm(algo, **settings),
        parameters=parameters or WIDE,
        image="python:3.11",
        command=["python3", "train.py", "--lr=${trialParameters.lr}"],
        max_trial_count=trials,
        parallel_trial_count=min(parallel, trials),
        max_failed_trial_count=trials,
    ).to_model()


def loss_of(assignments: dict[str, str]) -> float:
    """A smooth bowl with its best at lr=0.01, momentum=0.9, units=128, adam; batch barely matters."""
    lr = math.log10(float(assignments.get("lr", "0.01")))
    momentum = float(assignments.get("momentum", "0.9"))
    units = float(assignments.get("units", "128"))
    penalty = {"adam": 0.0, "rmsprop": 0.05, "sgd": 0.15}.get(assignments.get("optimizer", "adam"), 0.0)
    batch = float(assignments.get("batch", "32"))
    return 0.05 + (lr + 2) ** 2 * 0.1 + (momentum - 0.9) ** 2 + ((units - 128) / 256) ** 2 + penalty + batch * 1e-5


def populate(
    store: Store,
    experiment: Wire,
    *,
    steps: int = 8,
    fail_every: int = 0,
    early_stop_every: int = 0,
    leave_running: int = 0,
) -> StoredExperiment:
    """Run ``experiment`` to ``maxTrialCount`` trials, the last ``leave_running`` of them left Running.

    Each trial reports ``steps`` decreasing losses; every ``fail_every``-th
    trial fails with a message, every ``early_stop_every``-th is early-stopped
    after half its steps.
    """
    stored = init_experiment(store, experiment)
    lanes = experiment.spec.parallel_trial_count or 1
    total = experiment.spec.max_trial_count or 0
    start = now()
    done = iteration = 0
    while done < total:
        wanted = min(lanes, total - done)
        trials = [t for t in reserve_trials(store, stored.id, [(lane, iteration) for lane in range(wanted)]) if t]
        iteration += 1
        if not trials:
            break
        for trial in trials:
            done += 1
            mark_running(store, stored.id, trial.name)
            if done > total - leave_running:
                continue  # left Running: a runner still has it
            final = loss_of(trial.assignments)
            stopped = bool(early_stop_every) and done % early_stop_every == 0
            count = max(1, steps // 2) if stopped else steps
            observations = []
            for k in range(count):
                stamp = start + timedelta(seconds=done, milliseconds=k)
                loss = final * (1 + 2 * math.exp(-k / 2))
                observations += [
                    Observation("loss", repr(loss), stamp, step=k),
                    Observation("accuracy", repr(1 - loss), stamp, step=k),
                ]
            if bool(fail_every) and done % fail_every == 0:
                finish_trial(
                    store,
                    stored.id,
                    trial.name,
                    Outcome.FAILED,
                    "Traceback (most recent call last):\n  ...\nRuntimeError: CUDA out of memory",
                )
                continue
            record_observations(store, stored.id, trial.name, observations, first_seq=0)
            finish_trial(store, stored.id, trial.name, Outcome.EARLY_STOPPED if stopped else Outcome.SUCCEEDED)
    evaluate(store, stored.id)
    return stored
