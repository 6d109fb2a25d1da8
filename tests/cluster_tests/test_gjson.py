"""Katib's GJSON trial conditions: met when gjson.Get(...) is an object or a non-empty array, failure first."""

from __future__ import annotations

from typing import Any

import pytest

from katib_flow.cluster.gjson import MISSING, Verdict, condition_holds, get, judge
from katib_flow.spec import constants as c

JOB_SUCCESS = c.DEFAULT_JOB_SUCCESS_CONDITION
JOB_FAILURE = c.DEFAULT_JOB_FAILURE_CONDITION
KUBEFLOW_SUCCESS = c.DEFAULT_KUBEFLOW_JOB_SUCCESS_CONDITION


def job(*conditions: tuple[str, str], **counters: int) -> dict[str, Any]:
    status: dict[str, Any] = dict(counters)
    if conditions:
        status["conditions"] = [{"type": t, "status": s, "reason": t + "Reason"} for t, s in conditions]
    return {"apiVersion": "batch/v1", "kind": "Job", "status": status}


@pytest.mark.parametrize(
    ("document", "succeeded", "failed"),
    [
        (job(active=1), False, False),  # running: no conditions yet
        ({"kind": "Job"}, False, False),  # no status at all
        (job(("Complete", "True"), succeeded=1), True, False),
        (job(("Failed", "True"), failed=3), False, True),
        (job(("SuccessCriteriaMet", "True"), ("Complete", "True")), True, False),  # Kubernetes 1.31+
        (job(("FailureTarget", "True"), ("Failed", "True")), False, True),
    ],
)
def test_katib_default_job_conditions(document: dict[str, Any], succeeded: bool, failed: bool) -> None:
    assert condition_holds(document, JOB_SUCCESS) is succeeded
    assert condition_holds(document, JOB_FAILURE) is failed


def test_an_every_match_query_without_a_match_is_an_empty_array_and_not_met() -> None:
    # gjson returns "[]" here; Katib's controller needs a non-empty array, so the Job is still running.
    not_complete = job(("Complete", "False"))
    assert get(not_complete, 'status.conditions.#(type=="Complete")#|#(status=="True")#') == []
    assert not condition_holds(not_complete, JOB_SUCCESS)
    assert get({"a": []}, 'a.#(x=="y")#') is MISSING


def test_a_scalar_result_is_not_a_met_condition() -> None:
    assert get(job(succeeded=1), "status.succeeded") == 1
    assert not condition_holds(job(succeeded=1), "status.succeeded")
    assert condition_holds(job(succeeded=1), "status")  # an object is


def test_judge_checks_failure_first_and_takes_reason_and_message_from_the_match() -> None:
    both = {
        "status": {
            "conditions": [
                {"type": "Complete", "status": "True", "reason": "Done", "message": "all good"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "too many"},
            ]
        }
    }
    assert judge(both, JOB_SUCCESS, JOB_FAILURE) == Verdict(False, "BackoffLimitExceeded", "too many")
    assert judge(job(("Complete", "True")), JOB_SUCCESS, JOB_FAILURE) == Verdict(True, "CompleteReason", "")
    assert judge(job(active=1), JOB_SUCCESS, JOB_FAILURE) is None
    # an array of scalars: Katib's controller cannot read it and never ends the trial; here it is met
    assert judge({"status": {"tags": ["done"]}}, "status.tags", JOB_FAILURE) == Verdict(True, "", "")


def test_kubeflow_job_default_condition() -> None:
    tfjob = {
        "kind": "TFJob",
        "status": {
            "conditions": [
                {"type": "Created", "status": "True"},
                {"type": "Running", "status": "False"},
                {"type": "Succeeded", "status": "True"},
            ],
            "replicaStatuses": {"Worker": {"succeeded": 2}, "Chief": {"succeeded": 1}},
        },
    }
    assert condition_holds(tfjob, KUBEFLOW_SUCCESS)
    running = {"kind": "TFJob", "status": {"conditions": [{"type": "Running", "status": "True"}]}}
    assert not condition_holds(running, KUBEFLOW_SUCCESS)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("status.replicaStatuses.Worker.succeeded", 2),
        ("status.conditions.#", 3),
        ("status.conditions.1.type", "Running"),
        ("status.conditions.#.type", ["Created", "Running", "Succeeded"]),
        ('status.conditions.#(type=="Running").status', "False"),
        ('status.conditions.#(type%"Succ*").type', "Succeeded"),
        ('status.conditions.#(type!%"*e*")#.type', ["Running"]),
        ("status.replicaStatuses.W*.succeeded", 2),
        ("status.items.#(n>=2)#.n", [2, 3]),
        ("status.items.#(n<2).n", 1),
        ("status.items.#(ok==true)#.n", [1]),
        ("status.items.#(ok)#.n", [1, 2]),
        ("status.dotted\\.key", "x"),
        ("status.missing", MISSING),
        ("status.conditions.9", MISSING),
        ('status.conditions.#(type=="Nope")', MISSING),
        ("status.replicaStatuses.@this.Worker.succeeded", 2),
        ("status.[replicaStatuses.Worker.succeeded,missing,dotted\\.key]", [2, "x"]),
        ("status.replicaStatuses.[@this].#(Worker.succeeded==2)#.Worker.succeeded", [2]),
    ],
)
def test_path_syntax(path: str, expected: Any) -> None:
    document = {
        "status": {
            "conditions": [
                {"type": "Created", "status": "True"},
                {"type": "Running", "status": "False"},
                {"type": "Succeeded", "status": "True"},
            ],
            "replicaStatuses": {"Worker": {"succeeded": 2}},
            "items": [{"n": 1, "ok": True}, {"n": 2, "ok": False}, {"n": 3}],
            "dotted.key": "x",
        }
    }
    found = get(document, path)
    assert found is MISSING if expected is MISSING else found == expected


@pytest.mark.parametrize(("phase", "verdict"), [("Succeeded", True), ("Failed", False), ("Running", None)])
def test_katibs_argo_workflow_example_conditions_judge_the_workflows_phase(phase: str, verdict: bool | None) -> None:
    # examples/v1beta1/argo/argo-workflow.yaml: a query over the one-element array [status]
    success, failure = 'status.[@this].#(phase=="Succeeded")#', 'status.[@this].#(phase=="Failed")#'
    found = judge({"kind": "Workflow", "status": {"phase": phase, "progress": "2/2"}}, success, failure)
    assert (found.succeeded if found is not None else None) is verdict
