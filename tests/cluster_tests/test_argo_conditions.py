"""Katib's default conditions as Argo selectors, only where the translation is exact."""

from __future__ import annotations

from typing import Any

import pytest

from katib_flow.argo import ArgoConditions, translate
from katib_flow.cluster.gjson import condition_holds
from katib_flow.spec import constants as c

JOB = (c.DEFAULT_JOB_SUCCESS_CONDITION, c.DEFAULT_JOB_FAILURE_CONDITION)
KUBEFLOW = (c.DEFAULT_KUBEFLOW_JOB_SUCCESS_CONDITION, c.DEFAULT_KUBEFLOW_JOB_FAILURE_CONDITION)


def job(restart: str | None = "Never", **spec: Any) -> dict[str, Any]:
    pod = {"spec": {"containers": [{"name": "main"}], **({"restartPolicy": restart} if restart else {})}}
    return {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": pod, **spec}}


def pytorch(restart: str | None = "Never", worker: str | None = "Never", **extra: Any) -> dict[str, Any]:
    master: dict[str, Any] = {"replicas": 1}
    if restart:
        master["restartPolicy"] = restart
    workers: dict[str, Any] = {"replicas": 2, **({"restartPolicy": worker} if worker else {})}
    spec = {"pytorchReplicaSpecs": {"Master": master, "Worker": workers}, **extra}
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "spec": spec}


@pytest.mark.parametrize(
    ("run_object", "conditions", "expected"),
    [
        (job(), JOB, ArgoConditions("status.succeeded > 0", "status.failed > 6")),
        (job(completions=1, backoffLimit=0), JOB, ArgoConditions("status.succeeded > 0", "status.failed > 0")),
        # The kubelet restarts an OnFailure container in place: the Job fails with no pod counted as failed
        (job("OnFailure"), JOB, None),
        (job(None), JOB, None),
        (job(completions=3), JOB, None),  # succeeded > 0 long before the Job is complete
        (job(parallelism=2), JOB, None),  # a work queue: complete when all pods have ended
        (job(successPolicy={"rules": []}), JOB, None),
        (job(activeDeadlineSeconds=60), JOB, None),  # deadline failures are not counted as failed pods
        (job(podFailurePolicy={"rules": []}), JOB, None),
        (job(backoffLimit="${trialParameters.retries}"), JOB, None),
        (job(), ('status.conditions.#(type=="Complete")#', c.DEFAULT_JOB_FAILURE_CONDITION), None),  # user's own
        (
            pytorch(),
            KUBEFLOW,
            # a failed worker fails the PyTorchJob too: Argo's failure requirements are ORed (any one holds)
            ArgoConditions(
                "status.replicaStatuses.Master.succeeded > 0",
                "status.replicaStatuses.Master.failed > 0,status.replicaStatuses.Worker.failed > 0",
            ),
        ),
        (pytorch("OnFailure"), KUBEFLOW, None),  # restarts in place: failures are not counted
        (pytorch(None), KUBEFLOW, None),
        (pytorch(worker="OnFailure"), KUBEFLOW, None),  # a worker restarted in place can fail the job uncounted
        (pytorch(worker=None), KUBEFLOW, None),  # the operator's default restart policy differs by kind
        (pytorch(runPolicy={"backoffLimit": 3}), KUBEFLOW, None),
        (pytorch(runPolicy={"activeDeadlineSeconds": 30}), KUBEFLOW, None),
        ({"kind": "TFJob", "spec": {"tfReplicaSpecs": {"Worker": {"restartPolicy": "Never"}}}}, KUBEFLOW, None),
        ({"kind": "RayJob", "spec": {}}, KUBEFLOW, None),
    ],
)
def test_translation(run_object: dict[str, Any], conditions: tuple[str, str], expected: ArgoConditions | None) -> None:
    assert translate(run_object, *conditions) == expected


def test_argo_selectors_agree_with_katibs_conditions_on_job_histories() -> None:
    """On the statuses a Job goes through, the selector and Katib's GJSON condition say the same."""
    argo = translate(job(backoffLimit=1), *JOB)
    assert argo is not None

    def selector_holds(selector: str, status: dict[str, Any]) -> bool:
        path, op, value = selector.split(" ")
        assert op == ">"
        return int(status.get(path.split(".")[1], 0)) > int(value)

    histories: list[tuple[dict[str, Any], bool, bool]] = [
        ({"active": 1}, False, False),
        ({"active": 1, "failed": 1}, False, False),  # one retry left
        ({"succeeded": 1, "failed": 1, "conditions": [{"type": "Complete", "status": "True"}]}, True, False),
        ({"failed": 2, "conditions": [{"type": "Failed", "status": "True"}]}, False, True),
    ]
    for status, succeeded, failed in histories:
        document = {"status": status}
        assert selector_holds(argo.success, status) is condition_holds(document, JOB[0]) is succeeded
        assert selector_holds(argo.failure, status) is condition_holds(document, JOB[1]) is failed
