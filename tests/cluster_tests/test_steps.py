"""The Argo steps' engine side, driven like an Argo lane, with real trial processes, on SQLite and MariaDB."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from katib_flow import Experiment, algorithm, collector, minimize, search
from katib_flow.cluster.starting import init_step
from katib_flow.cluster.steps import collect_step, decide_step, finish_step, suggest_step
from katib_flow.engine.render import local_command
from katib_flow.exceptions import SpecError
from katib_flow.history import TrialState
from katib_flow.spec import Experiment as Wire
from katib_flow.store import ObservationRow, Store

PROGRAM = (
    "import sys\n"
    "x = float(sys.argv[1])\n"
    "for step in range(3):\n"
    "    print(f'epoch {step}: loss={(x - 0.3) ** 2 + 0.1 / (step + 1):.6f}')\n"
    "sys.exit(3 if x > 0.9 else 0)\n"
)


def experiment(*, max_trials: int = 4, parallel: int = 2, goal: float | None = None, **kwargs: object) -> Wire:
    return Experiment(
        "lanes",
        namespace="team",
        objective=minimize("loss", goal=goal),
        algorithm=algorithm("random", random_state=3),
        parameters={"x": search.double(0.0, 1.0)},
        image="python:3.11",
        command=[sys.executable, "-c", PROGRAM, "${trialParameters.x}"],
        max_trial_count=max_trials,
        parallel_trial_count=parallel,
        max_failed_trial_count=max_trials,
        **kwargs,  # type: ignore[arg-type]
    ).to_model()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def run_trial(wire: Wire, run_object: dict[str, object]) -> tuple[bool, list[str]]:
    """What the cluster does with the run object, here: run its primary container as a process."""
    command = local_command(wire, run_object)
    done = subprocess.run(command.argv, capture_output=True, text=True, check=False)
    return done.returncode == 0, done.stdout.splitlines()


def lane(store: Store, wire: Wire, lane_index: int, iterations: int) -> list[str]:
    """One Argo lane: suggest -> trial -> collect -> decide, until decide says stop."""
    names = []
    for iteration in range(iterations):
        suggestion = suggest_step(store, "lanes", "team", lane_index, iteration, max_wait_seconds=0)
        if suggestion.runnable:
            assert suggestion.run_object is not None
            succeeded, lines = run_trial(wire, suggestion.run_object)
            collect_step(store, "lanes", "team", suggestion.trial, succeeded=succeeded, log_lines=lines)
            names.append(suggestion.trial)
        if not decide_step(store, "lanes", "team").proceed:
            break
    return names


def test_lanes_run_an_experiment_to_max_trial_count_and_output_the_best(store: Store) -> None:
    wire = experiment(max_trials=4, parallel=2)
    init_step(store, wire)
    first = lane(store, wire, 0, 10)
    second = lane(store, wire, 1, 10)
    assert len(first) + len(second) == 4
    result = finish_step(store, "lanes", "team")
    assert (result.succeeded, result.reason) == (True, "ExperimentMaxTrialsReached")
    assert result.best_trial in first + second and set(result.best_parameters) == {"x"}
    x = float(result.best_parameters["x"])
    # min over the reported values, minimize's default strategy
    assert result.best_objective == pytest.approx((x - 0.3) ** 2 + 0.1 / 3, abs=1e-6)
    assert result.status["trialsSucceeded"] + result.status.get("trialsFailed", 0) == 4


def test_a_retried_suggest_returns_the_same_trial_and_a_retried_collect_stores_nothing_twice(store: Store) -> None:
    wire = experiment(max_trials=2, parallel=1)
    init_step(store, wire)
    first = suggest_step(store, "lanes", "team", 0, 0)
    again = suggest_step(store, "lanes", "team", 0, 0)  # Argo retried the step
    assert (again.trial, again.run_object, again.state) == (first.trial, first.run_object, first.state)
    assert first.state == TrialState.RUNNING.value
    # the retry knows the trial was started before: its lane waits for the object instead of creating it
    assert (first.resumed, again.resumed) == (False, True)
    assert first.run_object is not None
    succeeded, lines = run_trial(wire, first.run_object)
    done = collect_step(store, "lanes", "team", first.trial, succeeded=succeeded, log_lines=lines)
    redone = collect_step(store, "lanes", "team", first.trial, succeeded=succeeded, log_lines=lines)
    assert redone == done
    with store.session() as session:
        stored = session.execute(select(func.count()).select_from(ObservationRow)).scalar_one()
    assert stored == 3
    finished = suggest_step(store, "lanes", "team", 0, 0)  # a killed lane rerun from the start
    assert finished.trial == first.trial and not finished.runnable  # its run object is not created again


def test_suggest_waits_a_bounded_time_while_parallelism_holds_the_lane_back(store: Store) -> None:
    init_step(store, experiment(max_trials=3, parallel=1))
    assert suggest_step(store, "lanes", "team", 0, 0).runnable
    pauses: list[float] = []
    held = suggest_step(store, "lanes", "team", 1, 0, poll_seconds=2, max_wait_seconds=5, sleep=pauses.append)
    assert (held.trial, held.completed, held.runnable) == ("", False, False)
    assert pauses == [2, 2, 1]


def test_failed_run_object_and_goal(store: Store) -> None:
    wire = experiment(max_trials=6, parallel=1, goal=0.2)
    init_step(store, wire)
    suggestion = suggest_step(store, "lanes", "team", 0, 0)
    failed = collect_step(store, "lanes", "team", suggestion.trial, succeeded=False, log_lines=["loss=0.01"])
    assert failed.state is TrialState.FAILED and "failure condition" in failed.message
    second = suggest_step(store, "lanes", "team", 0, 1)
    reached = collect_step(store, "lanes", "team", second.trial, succeeded=True, log_lines=["loss=0.05"])
    assert reached.state is TrialState.SUCCEEDED
    decision = decide_step(store, "lanes", "team")
    assert (decision.proceed, decision.reason) == (False, "ExperimentGoalReached")
    assert suggest_step(store, "lanes", "team", 0, 2).completed


def test_file_collector_reads_the_trials_metrics_file(store: Store, tmp_path: Path) -> None:
    wire = experiment(max_trials=1, parallel=1, metrics_collector=collector.file("/var/log/katib/metrics.log"))
    init_step(store, wire)
    suggestion = suggest_step(store, "lanes", "team", 0, 0)
    metrics = tmp_path / suggestion.trial / "metrics.log"
    metrics.parent.mkdir()
    metrics.write_text("loss=0.4\nloss=0.25\n")
    trial = collect_step(store, "lanes", "team", suggestion.trial, succeeded=True, metrics_path=metrics)
    assert trial.objective == pytest.approx(0.25)
    assert decide_step(store, "lanes", "team").reason == "ExperimentMaxTrialsReached"


def test_init_reads_a_configmap_template_once_through_the_api(tmp_path: Path) -> None:
    import yaml

    from katib_flow.kubeapi import config_map_lookup
    from katib_flow.spec import parse_experiment

    from ..spec_tests.test_template_source import configmap_experiment
    from ..trial_kinds import config_map
    from .fake_kubernetes import fake_kubernetes

    doc, trial_spec = configmap_experiment("cm-cluster")
    experiment = parse_experiment(yaml.safe_dump(doc))
    with fake_kubernetes() as (fake, core), Store(f"sqlite:///{tmp_path / 'db'}") as store:
        missing = config_map_lookup(core.api_client)
        with pytest.raises(SpecError, match="was not found in the cluster"):
            init_step(store, experiment, lambda: missing)
        fake.objects[("configmaps", "kubeflow", "trial-templates")] = config_map(trial_spec)
        stored = init_step(store, experiment, lambda: config_map_lookup(core.api_client))
        template = stored.experiment.spec.trial_template
        assert template is not None and template.trial_spec is not None
        assert template.trial_spec["spec"] == trial_spec["spec"]
        # The ConfigMap is edited: a successor generation's init keeps the stored template.
        edited = copy.deepcopy(trial_spec)
        edited["spec"]["template"]["spec"]["containers"][0]["image"] = "changed:2"
        fake.objects[("configmaps", "kubeflow", "trial-templates")] = config_map(edited)
        again = init_step(store, experiment, lambda: config_map_lookup(core.api_client))
        assert again.id == stored.id and again.experiment.spec.trial_template == template
        assert sum("configmaps" in r for r in fake.requests) == 2  # the missing one, then the first read
