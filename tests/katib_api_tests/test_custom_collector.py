"""The Custom metrics collector on a cluster: the user's collector container beside the trial's, reporting
through Katib's DBManager API (``katib-flow serve --db``), run end to end by the Argo step interpreter."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from katib_flow.cli import main
from katib_flow.cluster.custom_collector import inject_custom_collector
from katib_flow.engine import evaluate, find_experiment
from katib_flow.katib_api.server import start
from katib_flow.spec import check, parse_experiment
from katib_flow.store import Store

TRAIN = (
    "import sys, pathlib\n"
    "lr, log = float(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
    "log.parent.mkdir(parents=True, exist_ok=True)\n"
    "with log.open('w') as out:\n"
    "    for epoch in range(3):\n"
    "        out.write(f'accuracy={0.5 + lr * (epoch + 1):.4f}\\n')\n"
    "    out.write('done\\n')\n"
)
# What a third party's collector image does: read the shared file, report each value to the DBManager.
COLLECTOR = (
    "import os, sys, time, pathlib, grpc\n"
    "from katib_flow.katib_api.messages import message\n"
    "log, address, trial = pathlib.Path(sys.argv[1]), sys.argv[2], os.environ['KATIB_TRIAL_NAME']\n"
    "for _ in range(600):\n"
    "    if log.exists() and log.read_text().endswith('done\\n'): break\n"
    "    time.sleep(0.05)\n"
    "request = message('ReportObservationLogRequest')(trial_name=trial)\n"
    "for line in log.read_text().splitlines()[:-1]:\n"
    "    name, value = line.split('=')\n"
    "    entry = request.observation_log.metric_logs.add(time_stamp='2026-12-01T10:00:00Z')\n"
    "    entry.metric.name, entry.metric.value = name, value\n"
    "with grpc.insecure_channel(address) as channel:\n"
    "    channel.unary_unary('/api.v1.beta1.DBManager/ReportObservationLog',\n"
    "        request_serializer=type(request).SerializeToString,\n"
    "        response_deserializer=message('ReportObservationLogReply').FromString)(request, timeout=30)\n"
)


def custom_experiment(address: str) -> dict[str, Any]:
    """Katib's custom-metrics-collector example in shape: a File source and the collector's container."""
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": "custom-metrics-collector"},
        "spec": {
            "objective": {"type": "maximize", "goal": 0.99, "objectiveMetricName": "accuracy"},
            "metricsCollectorSpec": {
                "source": {"fileSystemPath": {"path": "/katib/mnist.log", "kind": "File"}},
                "collector": {
                    "kind": "Custom",
                    "customCollector": {
                        "name": "custom-metrics-logger-and-collector",
                        "image": "ghcr.io/kubeflow/katib/custom-metrics-collector:latest",
                        "command": [sys.executable, "-c", COLLECTOR],
                        "args": ["/katib/mnist.log", address],
                    },
                },
            },
            "algorithm": {"algorithmName": "random", "algorithmSettings": [{"name": "random_state", "value": "3"}]},
            "parallelTrialCount": 1,
            "maxTrialCount": 2,
            "maxFailedTrialCount": 2,
            "parameters": [{"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.03"}}],
            "trialTemplate": {
                "primaryContainerName": "training-container",
                "trialParameters": [{"name": "learningRate", "reference": "lr"}],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "training-container",
                                        "image": "python:3.11",
                                        "command": [
                                            sys.executable,
                                            "-c",
                                            TRAIN,
                                            "${trialParameters.learningRate}",
                                            "/katib/mnist.log",
                                        ],
                                    }
                                ],
                                "restartPolicy": "Never",
                            }
                        }
                    },
                },
            },
        },
    }


def test_the_collector_container_goes_beside_the_primary_one_with_the_shared_folder() -> None:
    wire = check(parse_experiment(yaml.safe_dump(custom_experiment("db:6789"))))
    template = wire.spec.trial_template
    assert template is not None and template.trial_spec is not None
    job = inject_custom_collector(dict(template.trial_spec), wire, "custom-1a2b")
    pod = job["spec"]["template"]["spec"]
    assert pod["shareProcessNamespace"] is True  # as Katib's webhook: the collector sees the trainer end
    assert [c["name"] for c in pod["containers"]] == ["training-container", "custom-metrics-logger-and-collector"]
    assert pod["volumes"] == [{"name": "katib-flow-metrics-share", "emptyDir": {}}]
    for container in pod["containers"]:
        assert container["volumeMounts"] == [{"name": "katib-flow-metrics-share", "mountPath": "/katib"}]
    assert pod["containers"][1]["env"] == [{"name": "KATIB_TRIAL_NAME", "value": "custom-1a2b"}]


def test_validate_accepts_it_and_run_refuses_it_locally_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(custom_experiment("db:6789")))
    assert CliRunner().invoke(main, ["validate", str(path)]).exit_code == 0
    result = CliRunner().invoke(main, ["run", str(path), "--db", f"sqlite:///{tmp_path}/db", "--quiet"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("katib-flow: spec.metricsCollectorSpec.collector.kind: the Custom collector runs its own")
    document = custom_experiment("db:6789")
    del document["spec"]["metricsCollectorSpec"]["collector"]["customCollector"]
    path.write_text(yaml.safe_dump(document))
    refused = CliRunner().invoke(main, ["validate", str(path)])
    assert "spec.metricsCollectorSpec.collector.customCollector: required for collector kind Custom" in refused.output


def test_on_argo_the_collector_reports_through_the_db_manager_and_the_trials_get_its_metrics(tmp_path: Path) -> None:
    from ..argo_tests.test_workflow_runs import run_on_argo, sqlite_url
    from ..cluster_tests.fake_kubernetes import fake_kubernetes

    db_url = sqlite_url(tmp_path)
    with Store(db_url) as store:
        server = start("127.0.0.1", 0, store, workers=2)  # manifests/db-manager.yaml, in a test
        try:
            wire = parse_experiment(yaml.safe_dump(custom_experiment(f"127.0.0.1:{server.port}")))
            with fake_kubernetes() as (kube, _):
                run_on_argo(wire, db_url, kube, tmp_path / "argo")
        finally:
            server.stop(0)
        status = evaluate(store, find_experiment(store, "custom-metrics-collector").id).status
    assert status["trialsSucceeded"] == 2
    best = status["currentOptimalTrial"]["observation"]["metrics"][0]
    assert best["name"] == "accuracy" and 0.5 < float(best["max"]) < 0.6
