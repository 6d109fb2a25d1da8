"""Small experiments for engine tests, built with the DSL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from katib_flow import Experiment, algorithm, maximize, minimize, search
from katib_flow.collectors import Observation
from katib_flow.engine import Outcome, Trial, finish_trial, mark_running, record_observations
from katib_flow.spec import Experiment as Wire
from katib_flow.store import Store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def experiment(
    name: str = "exp",
    *,
    maximize_metric: bool = False,
    goal: float | None = None,
    max_trials: int = 6,
    parallel: int = 2,
    max_failed: int | None = 2,
    algo: str = "random",
    params: dict[str, Any] | None = None,
    early_stopping: bool = False,
    **kwargs: Any,
) -> Wire:
    objective = (maximize if maximize_metric else minimize)("loss", goal=goal, additional_metrics=["accuracy"])
    es = None
    if early_stopping:
        from katib_flow import early_stopping as es_builder

        es = es_builder("medianstop", min_trials_required=2, start_step=2)
    built = Experiment(
        name,
        objective=objective,
        algorithm=algorithm(algo, random_state=7),
        early_stopping=es,
        parameters=params or {"lr": search.double(0.01, 0.1), "units": search.int(1, 4)},
        image="python:3.11",
        command=[
            "python3",
            "train.py",
            "--lr=${trialParameters.lr}",
            "--units=${trialParameters.units}",
            "--name=${trialParameters.trialName}",
        ],
        trial_parameters={"trialName": "${trialSpec.Name}"},
        max_trial_count=max_trials,
        parallel_trial_count=parallel,
        max_failed_trial_count=max_failed,
        **kwargs,
    )
    return built.to_model()


def complete(store: Store, trial: Trial, losses: list[float], outcome: Outcome = Outcome.SUCCEEDED) -> Trial:
    """Run a trial to its end: mark running, report losses, finish."""
    mark_running(store, trial.experiment_id, trial.name)
    observations = [Observation("loss", repr(v), T0 + timedelta(seconds=i)) for i, v in enumerate(losses)]
    record_observations(store, trial.experiment_id, trial.name, observations, first_seq=0)
    return finish_trial(store, trial.experiment_id, trial.name, outcome)
