"""The wait step: run objects created through a (fake) Kubernetes API, judged by Katib's conditions, stopped early.

Real parts: the database (SQLite and MariaDB), the ``kubernetes`` client over
HTTP, and Job pods that are real processes whose output streams as their log.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from katib_flow import Experiment, algorithm, collector, early_stopping, minimize, search
from katib_flow.cluster.kube import KubernetesApi, RunObjects
from katib_flow.cluster.pods import PodLogs
from katib_flow.cluster.starting import init_step
from katib_flow.cluster.steps import suggest_step
from katib_flow.cluster.wait import Owner, wait_step
from katib_flow.engine import find_experiment
from katib_flow.engine.trials import load_trial
from katib_flow.exceptions import ClusterError
from katib_flow.history import TrialState
from katib_flow.spec import Experiment as Wire
from katib_flow.store import Store

from .fake_jobs import JobController
from .fake_kubernetes import FakeKubernetes, FakePod, fake_kubernetes

# Reports loss = x + 0.1/(step+1) for `steps` epochs, 0.05 s apart; exits 4 when x > 0.9.
PROGRAM = (
    "import sys, time\n"
    "x, steps = float(sys.argv[1]), int(sys.argv[2])\n"
    "for step in range(steps):\n"
    "    print(f'epoch {step}: loss={x + 0.1 / (step + 1):.6f}', flush=True)\n"
    "    time.sleep(0.05)\n"
    "sys.exit(4 if x > 0.9 else 0)\n"
)
OWNER = Owner("hpo-abcde", "0000-1111")


def waiting(**kwargs: Any) -> Wire:
    """An experiment "waiting" in namespace team, one lane, grid over x; ``kwargs`` override or add."""
    settings: dict[str, Any] = {
        "namespace": "team",
        "objective": minimize("loss"),
        "algorithm": algorithm("grid"),
        "parameters": {"x": search.discrete([0.1, 0.5])},
        "max_trial_count": 2,
        "parallel_trial_count": 1,
    }
    return Experiment("waiting", **{**settings, **kwargs}).to_model()


def experiment(steps: int = 3, **kwargs: Any) -> Wire:
    return waiting(
        parameters={"x": search.discrete([0.1, 0.5, 0.95])},
        image="python:3.11",
        command=[sys.executable, "-c", PROGRAM, "${trialParameters.x}", str(steps)],
        max_trial_count=3,
        max_failed_trial_count=3,
        **kwargs,
    )


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


@pytest.fixture
def kube() -> Iterator[tuple[FakeKubernetes, RunObjects, PodLogs]]:
    with fake_kubernetes() as (fake, core):
        JobController(fake).attach()
        yield fake, RunObjects(KubernetesApi(core.api_client)), PodLogs(core)


def next_trial(store: Store, iteration: int) -> str:
    suggestion = suggest_step(store, "waiting", "team", 0, iteration, max_wait_seconds=0)
    assert suggestion.runnable
    return suggestion.trial


def test_a_job_is_created_owned_by_the_workflow_judged_and_its_metrics_collected(
    store: Store, kube: tuple[FakeKubernetes, RunObjects, PodLogs]
) -> None:
    fake, objects, pods = kube
    init_step(store, experiment())
    name = next_trial(store, 0)
    done = wait_step(store, "waiting", "team", name, objects, pods, owner=OWNER, poll_seconds=0.05)
    assert done.state is TrialState.SUCCEEDED
    assert done.objective == pytest.approx(0.1 + 0.1 / 3, abs=1e-6)  # grid's first x is 0.1; the last epoch's loss
    (job,) = fake.ever_created("Job")
    assert job["metadata"]["namespace"] == "team"
    # blockOwnerDeletion false: true would need update on workflows/finalizers (OpenShift's admission)
    assert job["metadata"]["ownerReferences"] == [
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "name": "hpo-abcde", "uid": "0000-1111",
         "blockOwnerDeletion": False}
    ]  # fmt: skip
    # Katib's environment for its SDK's report_metrics, on the primary container
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert {"name": "KATIB_TRIAL_NAME", "value": name} in container["env"]
    assert "POST /apis/batch/v1/namespaces/team/jobs" in fake.requests
    # finished, not retained: deleted, as Katib's trial controller deletes it
    assert fake.created("Job") == []
    assert f"DELETE /apis/batch/v1/namespaces/team/jobs/{name}" in fake.requests


def test_the_run_object_goes_to_the_workflows_namespace_and_a_retained_one_stays(
    store: Store, kube: tuple[FakeKubernetes, RunObjects, PodLogs]
) -> None:
    fake, objects, pods = kube
    init_step(store, experiment(retain=True))  # the experiment's namespace is "team"
    name = next_trial(store, 0)
    done = wait_step(store, "waiting", "team", name, objects, pods, run_namespace="katib-flow", poll_seconds=0.05)
    assert done.state is TrialState.SUCCEEDED and done.objective is not None  # its pod's log was found there too
    (job,) = fake.created("Job")
    assert job["metadata"]["namespace"] == "katib-flow"
    assert not any(r.startswith("DELETE ") for r in fake.requests)
    assert not any("/namespaces/team/" in r for r in fake.requests)


def test_failure_condition_gives_the_reason_and_message_of_the_job(
    store: Store, kube: tuple[FakeKubernetes, RunObjects, PodLogs]
) -> None:
    init_step(store, experiment())
    for iteration in range(2):  # x = 0.1 and 0.5 succeed
        wait_step(store, "waiting", "team", next_trial(store, iteration), kube[1], kube[2], poll_seconds=0.05)
    failed = wait_step(store, "waiting", "team", next_trial(store, 2), kube[1], kube[2], poll_seconds=0.05)
    assert failed.state is TrialState.FAILED
    assert failed.message == "BackoffLimitExceeded: Job has reached the specified backoff limit"


def test_a_retried_wait_finds_the_object_its_first_attempt_created_and_runs_nothing_twice(
    store: Store, kube: tuple[FakeKubernetes, RunObjects, PodLogs]
) -> None:
    fake, objects, pods = kube
    init_step(store, experiment())
    name = next_trial(store, 0)
    run_object = find_trial_object(store, name)
    objects.get_or_create({**run_object, "metadata": {**run_object["metadata"], "namespace": "team"}})
    done = wait_step(store, "waiting", "team", name, objects, pods, poll_seconds=0.05)
    assert done.state is TrialState.SUCCEEDED
    assert len(fake.ever_created("Job")) == 1
    assert sum(r.startswith("POST ") for r in fake.requests) == 2  # the first attempt's, and the 409 one
    assert len([p for p in fake.pods if p.labels == {"job-name": name}]) == 1
    # and once the trial is finished, a retry touches neither the API nor the trial
    seen = len(fake.requests)
    assert wait_step(store, "waiting", "team", name, objects, pods) == done
    assert len(fake.requests) == seen


def find_trial_object(store: Store, name: str) -> dict[str, Any]:
    stored = find_experiment(store, "waiting", "team")
    run_object: dict[str, Any] | None = store.transaction(lambda s: load_trial(s, stored.id, name).row.run_object)
    assert run_object is not None
    return run_object


def test_early_stopping_on_the_cluster_deletes_the_run_object_and_keeps_the_metrics_so_far(
    store: Store, kube: tuple[FakeKubernetes, RunObjects, PodLogs]
) -> None:
    fake, objects, pods = kube
    # medianstop: after one succeeded trial, a trial whose loss is worse than its median from step 2 on stops
    stopper = early_stopping("medianstop", min_trials_required=1, start_step=2)
    init_step(store, experiment(steps=60, early_stopping=stopper))
    first = wait_step(store, "waiting", "team", next_trial(store, 0), objects, pods, poll_seconds=0.05)
    assert first.state is TrialState.SUCCEEDED
    stopped = wait_step(store, "waiting", "team", next_trial(store, 1), objects, pods, poll_seconds=0.05)
    assert stopped.state is TrialState.EARLY_STOPPED
    assert stopped.reason == "TrialEarlyStopped"
    assert stopped.objective is not None and stopped.objective > 0.5  # x = 0.5, stopped within its first epochs
    assert len(stopped.metrics) >= 1
    assert fake.created("Job") == []  # the stopped trial's Job is gone (and the finished one's)
    assert f"DELETE /apis/batch/v1/namespaces/team/jobs/{stopped.name}" in fake.requests
    (pod,) = [p for p in fake.pods if p.labels["job-name"] == stopped.name]
    lines = pod.logs["training-container"].splitlines()
    assert 2 <= len(lines) < 60  # killed long before its 60 epochs


def test_any_kind_with_user_conditions_is_judged_by_gjson(store: Store) -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "spec": {
            "x": "${trialParameters.x}",
            "template": {"spec": {"containers": [{"name": "training-container", "image": "python:3.11"}]}},
        },
    }
    wire = waiting(
        trial_spec=widget,
        primary_pod_labels={"app": "widget"},
        success_condition='status.phases.#(name=="Done")#|#(ok==true)#',
        failure_condition='status.phases.#(name=="Done")#|#(ok==false)#',
    )
    init_step(store, wire)
    name = next_trial(store, 0)
    with fake_kubernetes() as (fake, core):
        objects = RunObjects(KubernetesApi(core.api_client))

        def operator(created: dict[str, Any]) -> None:  # runs a pod, reports progress, then success
            fake.add_pod(FakePod("w-0", "team", {"app": "widget"}, "2026-01-01T00:00:00Z", {"training-container": ""}))

            def progress() -> None:
                for phases in ([{"name": "Done", "ok": None}], [{"name": "Done", "ok": True, "reason": "Fine"}]):
                    threading.Event().wait(0.2)
                    with fake.lock:
                        created["status"] = {"phases": phases}
                        fake.pods[0].logs["training-container"] = "loss=0.25\n"

            threading.Thread(target=progress, daemon=True).start()

        fake.on_create = operator
        done = wait_step(store, "waiting", "team", name, objects, PodLogs(core), poll_seconds=0.05)
    assert done.state is TrialState.SUCCEEDED
    assert done.message == "Fine"
    assert done.objective == pytest.approx(0.25)
    assert "/apis/example.com/v1" in fake.requests  # the plural came from discovery
    assert any("labelSelector=app%3Dwidget" in r for r in fake.requests)  # primaryPodLabels found the pod


def test_an_unknown_kind_and_a_vanished_object_are_clear_errors(
    store: Store, kube: tuple[FakeKubernetes, RunObjects, PodLogs]
) -> None:
    fake, objects, pods = kube
    with pytest.raises(ClusterError, match=r"serves no Gadget in example\.com/v1"):
        objects.get_or_create({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}})
    init_step(store, experiment(steps=200))
    name = next_trial(store, 0)

    def vanish(job: dict[str, Any]) -> None:
        with fake.lock:
            del fake.objects[("jobs", "team", job["metadata"]["name"])]

    fake.on_create = vanish
    done = wait_step(store, "waiting", "team", name, objects, pods, poll_seconds=0.05)
    assert done.state is TrialState.FAILED
    assert done.message == f"the Job {name} was deleted before it met a condition"


def test_the_file_collector_on_the_wait_path_reads_the_trials_folder_of_the_claim(store: Store, tmp_path: Path) -> None:
    program = "import sys\nopen(sys.argv[2], 'w').write(f'loss={float(sys.argv[1]) / 2}\\n')\n"
    wire = waiting(
        image="python:3.11",
        command=[sys.executable, "-c", program, "${trialParameters.x}", "/var/log/katib/metrics.log"],
        metrics_collector=collector.file("/var/log/katib/metrics.log"),
        success_condition='status.conditions.#(type=="Complete")',
        failure_condition='status.conditions.#(type=="Failed")',
    )
    init_step(store, wire)
    name = next_trial(store, 0)
    with fake_kubernetes() as (fake, core):
        JobController(fake, {"shared": tmp_path}).attach()
        objects = RunObjects(KubernetesApi(core.api_client))
        done = wait_step(
            store, "waiting", "team", name, objects, PodLogs(core),
            poll_seconds=0.05, metrics_claim="shared", metrics_root=str(tmp_path),
        )  # fmt: skip
        (job,) = fake.ever_created("Job")
    assert done.state is TrialState.SUCCEEDED and done.objective == pytest.approx(0.05)
    assert (tmp_path / name / "metrics.log").read_text() == "loss=0.05\n"
    mount = job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]
    assert (mount["mountPath"], mount["subPath"]) == ("/var/log/katib", name)


def test_early_stopping_with_the_file_collector_follows_the_file_on_the_claim(store: Store, tmp_path: Path) -> None:
    program = (
        "import sys, time\n"
        "x, path = float(sys.argv[1]), sys.argv[2]\n"
        "with open(path, 'a') as f:\n"
        "    for step in range(40):\n"
        "        f.write(f'loss={x + 0.1 / (step + 1):.6f}\\n'); f.flush(); time.sleep(0.05)\n"
    )
    wire = waiting(
        parameters={"x": search.discrete([0.1, 0.5])},
        image="python:3.11",
        command=[sys.executable, "-c", program, "${trialParameters.x}", "/var/log/katib/metrics.log"],
        metrics_collector=collector.file("/var/log/katib/metrics.log"),
        early_stopping=early_stopping("medianstop", min_trials_required=1, start_step=2),
    )
    init_step(store, wire)
    with fake_kubernetes() as (fake, core):
        JobController(fake, {"shared": tmp_path}).attach()
        objects = RunObjects(KubernetesApi(core.api_client))
        options: dict[str, Any] = {"poll_seconds": 0.05, "metrics_claim": "shared", "metrics_root": str(tmp_path)}
        first = wait_step(store, "waiting", "team", next_trial(store, 0), objects, PodLogs(core), **options)
        second = next_trial(store, 1)
        stopped = wait_step(store, "waiting", "team", second, objects, PodLogs(core), **options)
    assert first.state is TrialState.SUCCEEDED
    assert stopped.state is TrialState.EARLY_STOPPED and stopped.objective is not None
    written = (tmp_path / second / "metrics.log").read_text().splitlines()
    assert 2 <= len(written) < 40  # its Job was deleted long before its 40 steps


def test_a_train_job_trial_runs_through_the_wait_step(store: Store, tmp_path: Path) -> None:
    import yaml

    from katib_flow.spec import parse_experiment

    from ..trial_kinds import TRAIN_JOB, experiment_with

    doc = experiment_with(TRAIN_JOB, "waiting")
    doc["metadata"]["namespace"] = "team"
    doc["spec"]["trialTemplate"]["retain"] = True  # kept, to read its final status here
    doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["trainer"]["command"] = [
        sys.executable, "-c", PROGRAM, "${trialParameters.learningRate}", "3",
    ]  # fmt: skip
    init_step(store, parse_experiment(yaml.safe_dump(doc)))
    with fake_kubernetes() as (fake, core):
        JobController(fake).attach()
        objects = RunObjects(KubernetesApi(core.api_client))
        done = wait_step(store, "waiting", "team", next_trial(store, 0), objects, PodLogs(core), poll_seconds=0.05)
        (train_job,) = fake.created("TrainJob")
    # Katib's TrainJob defaults: Complete condition; metrics from node 0's "node" container (its primary pod labels)
    assert done.state is TrialState.SUCCEEDED and done.objective is not None
    assert train_job["status"]["conditions"] == [{"type": "Complete", "status": "True"}]
    (selector,) = [r for r in fake.requests if "/pods?labelSelector=" in r]
    assert "job-completion-index%3D0" in selector and "jobset-name%3D" + done.name in selector


def test_an_argo_workflow_trial_runs_through_the_wait_step_with_its_own_pods_read(store: Store) -> None:
    import yaml

    from katib_flow.spec import parse_experiment

    from ..trial_kinds import ARGO_WORKFLOW, experiment_with

    doc = experiment_with(ARGO_WORKFLOW, "waiting")
    doc["metadata"]["namespace"] = "team"
    workflow = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]
    workflow["templates"][0]["steps"].append([{"name": "model-training", "template": "model-training"}])
    workflow["templates"][2]["container"]["command"] = [
        sys.executable, "-c", PROGRAM, "${trialParameters.learningRate}", "3",
    ]  # fmt: skip
    init_step(store, parse_experiment(yaml.safe_dump(doc)))
    with fake_kubernetes() as (fake, core):
        JobController(fake).attach()
        # another Workflow trial's training pod, newer, with the same primaryPodLabels: not this trial's
        labels = {"katib.kubeflow.org/model-training": "true", "workflows.argoproj.io/workflow": "other"}
        fake.add_pod(FakePod("other-0", "team", labels, "2030-01-01T00:00:00Z", {"main": "loss=9\n"}))
        objects = RunObjects(KubernetesApi(core.api_client))
        done = wait_step(store, "waiting", "team", next_trial(store, 0), objects, PodLogs(core), poll_seconds=0.05)
        (run,) = fake.ever_created("Workflow")
    # Katib's Argo Workflow example conditions over status.phase; metrics from the model-training pod's "main"
    assert done.state is TrialState.SUCCEEDED and done.objective is not None and done.objective < 9
    assert run["metadata"]["name"] == done.name
