"""What the cluster steps do when the cluster misbehaves: pods gone, restarts, stalled generations, Katib's env."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from katib_flow import collector
from katib_flow.cluster.generations import CHAIN_LABEL, GenerationWatch
from katib_flow.cluster.kube import KubernetesApi
from katib_flow.cluster.pods import PodLogs
from katib_flow.cluster.starting import init_step, resume_generation
from katib_flow.cluster.steps import collect_step, finish_step, primary_log, suggest_step
from katib_flow.exceptions import ExperimentStalledError
from katib_flow.history import TrialState
from katib_flow.store import Store

from .fake_kubernetes import FakeKubernetes, fake_kubernetes
from .test_steps import experiment, run_trial


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def test_a_succeeded_trial_whose_pod_is_gone_is_metrics_unavailable_not_a_failed_step(store: Store) -> None:
    init_step(store, experiment(max_trials=2, parallel=1))
    suggestion = suggest_step(store, "lanes", "team", 0, 0)
    with fake_kubernetes() as (_, core):  # no pod at all: garbage-collected, or a node lost with it
        lines = primary_log(store, "lanes", "team", suggestion.trial, PodLogs(core), "katib-flow")
        done = collect_step(store, "lanes", "team", suggestion.trial, succeeded=True, log_lines=lines)
    assert done.state is TrialState.METRICS_UNAVAILABLE
    assert done.message.startswith("Metrics are not available: no pod in namespace 'katib-flow' matches")


def test_suggest_places_the_run_object_in_the_workflows_namespace_with_katibs_environment(store: Store) -> None:
    init_step(store, experiment(max_trials=2, parallel=1))  # the experiment's namespace is "team"
    suggestion = suggest_step(store, "lanes", "team", 0, 0, run_namespace="katib-flow", db_secret="db")
    assert suggestion.run_object is not None
    assert suggestion.run_object["metadata"]["namespace"] == "katib-flow"
    (container,) = suggestion.run_object["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [{"name": "KATIB_TRIAL_NAME", "value": suggestion.trial}]  # StdOut: no DB URL


def test_a_push_trial_on_the_cluster_gets_the_database_and_reports_with_katibs_variable_alone(
    store: Store, tmp_path: Path
) -> None:
    wire = experiment(max_trials=2, parallel=1, metrics_collector=collector.push())
    stored = init_step(store, wire)
    suggestion = suggest_step(store, "lanes", "team", 0, 0, run_namespace="katib-flow", db_secret="db")
    assert suggestion.run_object is not None
    (container,) = suggestion.run_object["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {"name": "KATIB_TRIAL_NAME", "value": suggestion.trial},
        {"name": "KATIB_FLOW_TRIAL_NAME", "value": suggestion.trial},
        {"name": "KATIB_FLOW_EXPERIMENT_ID", "value": str(stored.id)},
        {"name": "KATIB_FLOW_DB_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
    ]
    # A training script written for Katib's SDK only has KATIB_TRIAL_NAME: its report still lands
    script = "from katib_flow import report_metrics\nreport_metrics({'loss': 0.25})\n"
    env = {"PATH": os.environ["PATH"], "KATIB_TRIAL_NAME": suggestion.trial, "KATIB_FLOW_DB_URL": store.url}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    finished = collect_step(store, "lanes", "team", suggestion.trial, succeeded=True)
    assert finished.state is TrialState.SUCCEEDED and finished.objective == 0.25


def test_a_resubmitted_experiment_starts_at_the_first_generation_with_slots_to_go_through(store: Store) -> None:
    wire = experiment(max_trials=10, parallel=2)
    stored = init_step(store, wire)
    assert resume_generation(store, stored, 0, 2) == 0  # nothing claimed yet
    for lane in (0, 1):
        for iteration in range(3):  # generations 0 (iterations 0-1) and 1 (2-3) of 2 iterations per lane
            suggestion = suggest_step(store, "lanes", "team", lane, iteration)
            if iteration < 2 or lane == 0:
                assert suggestion.run_object is not None
                succeeded, lines = run_trial(wire, suggestion.run_object)
                collect_step(store, "lanes", "team", suggestion.trial, succeeded=succeeded, log_lines=lines)
    # lane 1's trial of iteration 2 still runs: generation 1 must run again to resume it; generation 0 need not
    assert resume_generation(store, stored, 0, 2) == 1
    assert resume_generation(store, stored, 3, 2) == 3  # never backwards


def watch(fake: FakeKubernetes, core: Any, **kwargs: Any) -> GenerationWatch:
    clock = iter(range(0, 100_000, 10))  # each call ten seconds later
    options: dict[str, Any] = {"stall_seconds": 60.0, "clock": lambda: float(next(clock)), **kwargs}
    return GenerationWatch(KubernetesApi(core.api_client), "katib-flow", "hpo-abcde", "lanes", **options)


def generation(fake: FakeKubernetes, number: int, phase: str, message: str = "") -> None:
    name = f"hpo-abcde-g{number}"
    labels = {CHAIN_LABEL: "hpo-abcde", "katib-flow/generation": str(number)}
    fake.objects[("workflows", "katib-flow", name)] = {
        "metadata": {"name": name, "labels": labels},
        "status": {"phase": phase, "message": message},
    }


def test_waiting_generation_0_fails_when_no_generation_is_alive() -> None:
    with fake_kubernetes() as (fake, core):
        check = watch(fake, core)
        generation(fake, 1, "Succeeded")
        generation(fake, 2, "Running")
        check()  # generation 2 runs
        generation(fake, 2, "Failed", "child 'lane-0' failed")
        check()  # one poll without a live generation: a successor may be being created
        with pytest.raises(ExperimentStalledError, match="the last, hpo-abcde-g2, ended Failed: child 'lane-0'"):
            check()


def test_waiting_generation_0_fails_when_the_next_generation_never_starts() -> None:
    with fake_kubernetes() as (fake, core):
        check = watch(fake, core)
        generation(fake, 1, "Pending", "Workflow processing has been postponed because too many workflows")
        for _ in range(7):  # at 0, 10, ..., 60 s: still within the 60 s it may take to start
            check()
        with pytest.raises(ExperimentStalledError, match=r"has not started in 60 s .*postponed.*parallelism"):
            check()


def test_finish_wait_stops_at_its_deadline(store: Store) -> None:
    init_step(store, experiment(max_trials=2, parallel=1))
    clock = iter(range(0, 1000, 10))
    check = GenerationWatch(None, "katib-flow", "", "lanes", deadline_seconds=25, clock=lambda: float(next(clock)))
    with pytest.raises(ExperimentStalledError, match="did not complete within 25 s"):
        finish_step(store, "lanes", "team", wait=True, poll_seconds=0, watch=check, sleep=lambda _: None)
