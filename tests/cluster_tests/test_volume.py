"""The File and TensorFlowEvent collectors' shared volume: where it is mounted, and where steps read it."""

from __future__ import annotations

import sys
from pathlib import PurePosixPath
from typing import Any

from katib_flow import Experiment, collector, minimize, search
from katib_flow.cluster.volume import collected_path, metrics_mount_path, mount_metrics_volume
from katib_flow.spec import Experiment as Wire


def experiment(metrics: Any, trial_spec: dict[str, Any] | None = None, container: str = "training-container") -> Wire:
    command = [sys.executable, "-c", "print(1)", "${trialParameters.x}"]
    job: dict[str, Any] = {} if trial_spec else {"image": "python:3.11", "command": command}
    return Experiment(
        "vol",
        objective=minimize("loss"),
        parameters={"x": search.double(0.0, 1.0)},
        metrics_collector=metrics,
        trial_spec=trial_spec,
        primary_container_name=container,
        max_trial_count=2,
        parallel_trial_count=1,
        **job,
    ).to_model()


def test_a_jobs_primary_container_mounts_the_claim_at_the_files_folder_with_the_trial_as_subpath() -> None:
    wire = experiment(collector.file("/var/log/katib/metrics.log"))
    assert metrics_mount_path(wire) == "/var/log/katib"
    pod_template = {"spec": {"containers": [{"name": "training-container"}]}}
    job: dict[str, Any] = {"kind": "Job", "spec": {"template": pod_template}}
    mounted = mount_metrics_volume(job, wire, "vol-1a2b", "shared")
    pod = mounted["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "katib-flow-metrics", "persistentVolumeClaim": {"claimName": "shared"}}]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "katib-flow-metrics", "mountPath": "/var/log/katib", "subPath": "vol-1a2b"}
    ]
    assert "volumes" not in job["spec"]["template"]["spec"]  # the input is left alone
    assert mount_metrics_volume(mounted, wire, "vol-1a2b", "shared") == mounted  # mounting twice changes nothing
    assert collected_path(wire, "vol-1a2b", "/m") == PurePosixPath("/m/vol-1a2b/metrics.log")


def test_only_the_deciding_replica_of_a_tfjob_mounts_it_and_tfevent_mounts_the_event_folder() -> None:
    replica = {"template": {"spec": {"containers": [{"name": "tensorflow", "image": "tf"}]}}}
    tfjob: dict[str, Any] = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "spec": {"tfReplicaSpecs": {"Chief": replica, "Worker": replica}, "x": "${trialParameters.x}"},
    }
    wire = experiment(collector.tensorflow_event("/tmp/tb/logs"), tfjob, container="tensorflow")
    assert metrics_mount_path(wire) == "/tmp/tb/logs"
    mounted = mount_metrics_volume(tfjob, wire, "t", "shared")
    chief = mounted["spec"]["tfReplicaSpecs"]["Chief"]["template"]["spec"]
    worker = mounted["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]
    assert chief["containers"][0]["volumeMounts"][0]["mountPath"] == "/tmp/tb/logs"
    assert "volumes" not in worker and "volumeMounts" not in worker["containers"][0]
    assert collected_path(wire, "t", "/m") == PurePosixPath("/m/t")


def test_other_collectors_mount_nothing() -> None:
    wire = experiment(collector.stdout())
    job = {"kind": "Job", "spec": {"template": {"spec": {"containers": [{"name": "training-container"}]}}}}
    assert metrics_mount_path(wire) is None and collected_path(wire, "t") is None
    assert mount_metrics_volume(job, wire, "t", "shared") is job
