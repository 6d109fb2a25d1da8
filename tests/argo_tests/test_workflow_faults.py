"""A compiled Workflow on a cluster that misbehaves: namespaces, evicted step pods, restarts, failed experiments."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from katib_flow.argo.compiler import compile_workflow
from katib_flow.cluster.kube import KubernetesApi, RunObjects
from katib_flow.cluster.starting import init_step
from katib_flow.cluster.steps import suggest_step
from katib_flow.engine import evaluate, find_experiment
from katib_flow.engine.trials import load_trial
from katib_flow.store import Store

from ..cluster_tests.fake_kubernetes import FakeKubernetes, fake_kubernetes
from .test_workflow_runs import _trials, experiment, run_on_argo, sqlite_url


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with fake_kubernetes() as (state, _):
        yield state


def test_run_objects_go_to_the_workflows_namespace_not_the_experiments(kube: FakeKubernetes, tmp_path: Path) -> None:
    # Katib's examples say namespace: kubeflow; the documented install is namespace katib-flow, whose Role
    # covers that namespace only (run_on_argo forbids every other one, as the API server would).
    wire = experiment("elsewhere", parallel=1, max_trials=2, max_failed=2).model_copy(deep=True)
    wire.metadata.namespace = "kubeflow"
    db_url = sqlite_url(tmp_path)
    argo = run_on_argo(wire, db_url, kube, tmp_path, namespace="katib-flow")
    assert {job["metadata"]["namespace"] for job in argo.created} == {"katib-flow"}
    with Store(db_url) as store:
        status = evaluate(store, find_experiment(store, "elsewhere", "kubeflow").id).status
    assert status["trials"] == 2 and status.get("trialsFailed", 0) == 1  # x = 0.86 fails, as everywhere
    assert kube.created("Job") == []  # each deleted by collect once its trial was finished (no retain)


def test_an_evicted_run_trial_pod_leaves_its_job_running_and_collect_waits_for_it(
    kube: FakeKubernetes, tmp_path: Path
) -> None:
    db_url = sqlite_url(tmp_path)
    wire = experiment("evicted", parallel=1, max_trials=2, max_failed=2)
    argo = run_on_argo(wire, db_url, kube, tmp_path, errors={"run-trial": 1})
    with Store(db_url) as store:
        experiment_id = find_experiment(store, "evicted").id
        trials = _trials(store, "evicted")
        first = store.transaction(lambda s: load_trial(s, experiment_id, trials[0][0]).row)
    # random_state 11: x = 0.86 first (its program exits 1), then 0.36. The evicted step's Job was judged by
    # collect itself, with Katib's condition: the Job's own reason, not "met its failure condition".
    assert [state for _, state, _ in trials] == ["Failed", "Succeeded"]
    assert first.message == "BackoffLimitExceeded: Job has reached the specified backoff limit"
    assert len(kube.ever_created("Job")) == 2  # the evicted step's Job was found, not created again
    assert argo.calls["collect"] == 2


def test_a_trial_started_by_an_earlier_workflow_is_waited_for_not_created_again(
    mysql_url: str, kube: FakeKubernetes, tmp_path: Path
) -> None:
    from ..cluster_tests.fake_jobs import JobController

    wire = experiment("resumed", parallel=1, max_trials=2, max_failed=2)
    document = yaml.safe_load(compile_workflow(wire).to_yaml())
    namespace = document["metadata"].get("namespace") or "default"
    with Store(mysql_url) as store:  # an earlier Workflow claimed slot (0, 0), created its Job, then died
        init_step(store, wire)
        earlier = suggest_step(store, "resumed", None, 0, 0, run_namespace=namespace)
    assert earlier.run_object is not None
    JobController(kube).attach()
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = kube.url
    RunObjects(KubernetesApi(client.ApiClient(configuration))).get_or_create(earlier.run_object)
    argo = run_on_argo(wire, mysql_url, kube, tmp_path)
    with Store(mysql_url) as store:
        trials = _trials(store, "resumed")
    assert trials[0][0] == earlier.trial and [state for _, state, _ in trials] == ["Failed", "Succeeded"]
    assert [j["metadata"]["name"] for j in kube.ever_created("Job")].count(earlier.trial) == 1
    assert argo.calls["wait-trial"] == 1 and argo.calls["run-trial"] == 1  # the resumed one, the new one


ALWAYS_FAILS = "import sys\nprint('diverged at', sys.argv[1])\nsys.exit(1)\n"


def test_a_failed_experiment_fails_the_workflow_after_setting_its_outputs(kube: FakeKubernetes, tmp_path: Path) -> None:
    db_url = sqlite_url(tmp_path)
    wire = experiment("doomed", parallel=1, max_trials=4, max_failed=2).model_copy(deep=True)
    template = wire.spec.trial_template
    assert template is not None and template.trial_spec is not None
    container = template.trial_spec["spec"]["template"]["spec"]["containers"][0]
    container["command"] = [sys.executable, "-c", ALWAYS_FAILS, "${trialParameters.x}"]
    argo = run_on_argo(wire, db_url, kube, tmp_path, expect="Failed")
    assert argo.global_outputs["succeeded"] == "false"
    assert argo.global_outputs["reason"] == "ExperimentFailed"
    assert argo.calls["fail"] == 1 and argo.calls["record-status"] == 1
    with Store(db_url) as store:
        assert evaluate(store, find_experiment(store, "doomed").id).reason == "ExperimentFailed"


def test_retained_run_objects_stay_after_their_trial(kube: FakeKubernetes, tmp_path: Path) -> None:
    wire = experiment("kept", parallel=1, max_trials=2, max_failed=2, retain=True)
    run_on_argo(wire, sqlite_url(tmp_path), kube, tmp_path)
    assert len(kube.created("Job")) == 2
    assert not any(r.startswith("DELETE ") for r in kube.requests)
