"""Katib's default trial conditions, translated into Argo resource-template conditions where exact.

Katib decides that a run object has ended with GJSON queries over its status
(``status.conditions.#(type=="Complete")#|#(status=="True")#``). Argo's
``successCondition`` / ``failureCondition`` are label-selector requirements over
JSON paths, joined by commas: the success condition holds when *every*
requirement matches, the failure condition when *any one* does
(``workflow/executor/resource.go``, ``matchConditions``); keys of at most 63
characters, integers for ``<`` and ``>``. Argo's executor polls until one of
them holds, with no timeout (``WaitResource``): a translation that can miss
the end of the object hangs the lane forever. So only these are translated:

- batch/v1 Job with ``restartPolicy: Never``, ``completions`` and
  ``parallelism`` at most 1, and nothing else that can end it (no
  ``successPolicy``, ``activeDeadlineSeconds``, ``podFailurePolicy``,
  ``backoffLimitPerIndex``): succeeded at ``status.succeeded > 0``, failed at
  ``status.failed > backoffLimit`` (default 6). With ``OnFailure`` the kubelet
  restarts the container in place and the Job fails from restart counts
  without any pod counted as failed; with more completions or parallelism
  ``succeeded > 0`` comes before the Job is complete.
- TFJob, PyTorchJob, XGBoostJob, MPIJob (Kubeflow training operator v1) whose
  every replica type says ``restartPolicy: Never``: succeeded when the
  deciding replica (Chief or Master, else the Launcher of an MPIJob)
  succeeded; failed when *any* replica type has a failed pod (the operator
  fails the job on a failed worker too). Not translated: another or a missing
  restart policy (the operator's default differs by kind), a
  ``runPolicy.activeDeadlineSeconds`` or ``backoffLimit``, an explicit
  ``successPolicy``, a TFJob without Chief or Master (its workers decide).

Everything else (those cases, any other kind, or a template's own
``successCondition`` / ``failureCondition``) gets None from :func:`translate`,
and the Workflow uses the wait step, which evaluates the Katib expression itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..spec import constants as c

__all__ = ["ArgoConditions", "translate"]

_DEFAULT_BACKOFF_LIMIT = 6
_REPLICA_SPECS = {
    "TFJob": "tfReplicaSpecs",
    "PyTorchJob": "pytorchReplicaSpecs",
    "XGBoostJob": "xgbReplicaSpecs",
    "MPIJob": "mpiReplicaSpecs",
}
# Which replica decides a job's outcome, in order of precedence.
_DECIDING = ("Chief", "Master", "Launcher")
_DEFAULTS = {
    c.JOB_KIND: (c.DEFAULT_JOB_SUCCESS_CONDITION, c.DEFAULT_JOB_FAILURE_CONDITION),
    **dict.fromkeys(
        c.KUBEFLOW_JOB_KINDS, (c.DEFAULT_KUBEFLOW_JOB_SUCCESS_CONDITION, c.DEFAULT_KUBEFLOW_JOB_FAILURE_CONDITION)
    ),
}


@dataclass(frozen=True)
class ArgoConditions:
    success: str
    failure: str


def translate(run_object: Mapping[str, Any], success: str | None, failure: str | None) -> ArgoConditions | None:
    """Argo conditions equivalent to Katib's (defaulted) ``success`` / ``failure`` for this run object, or None."""
    kind = str(run_object.get("kind", ""))
    if kind not in _DEFAULTS or (success, failure) != _DEFAULTS[kind]:
        return None  # a user's own GJSON condition is evaluated exactly, by a wait step
    spec: Mapping[str, Any] = run_object.get("spec", {}) or {}
    if kind == c.JOB_KIND:
        return _job(spec)
    return _kubeflow(kind, spec)


def _job(spec: Mapping[str, Any]) -> ArgoConditions | None:
    ending = ("activeDeadlineSeconds", "podFailurePolicy", "backoffLimitPerIndex", "successPolicy")
    if any(key in spec for key in ending):
        return None
    pod = ((spec.get("template") or {}).get("spec") or {}) if isinstance(spec.get("template"), Mapping) else {}
    if pod.get("restartPolicy") != "Never":
        return None
    completions = _integer(spec.get("completions", 1))
    parallelism = _integer(spec.get("parallelism", 1))
    backoff = _integer(spec.get("backoffLimit", _DEFAULT_BACKOFF_LIMIT))
    if completions != 1 or parallelism is None or parallelism > 1 or backoff is None:
        return None  # several completions, a placeholder or an expression: not exact, or only known per trial
    return ArgoConditions("status.succeeded > 0", f"status.failed > {backoff}")


def _kubeflow(kind: str, spec: Mapping[str, Any]) -> ArgoConditions | None:
    replicas = spec.get(_REPLICA_SPECS[kind], {}) or {}
    run_policy = spec.get("runPolicy", {}) or {}
    if not isinstance(replicas, Mapping) or not replicas or not isinstance(run_policy, Mapping):
        return None
    if "successPolicy" in spec or "activeDeadlineSeconds" in run_policy or "backoffLimit" in run_policy:
        return None
    deciding = next((name for name in _DECIDING if name in replicas), None)
    if deciding is None:
        return None
    if any(not isinstance(r, Mapping) or r.get("restartPolicy") != "Never" for r in replicas.values()):
        return None
    failed = ",".join(f"status.replicaStatuses.{name}.failed > 0" for name in sorted(replicas))
    return ArgoConditions(f"status.replicaStatuses.{deciding}.succeeded > 0", failed)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
