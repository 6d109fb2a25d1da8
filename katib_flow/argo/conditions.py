"""Katib's default trial conditions, translated into Argo resource-template conditions.

Katib decides that a run object has ended with GJSON queries over its status
(``status.conditions.#(type=="Complete")#|#(status=="True")#``). Argo's
``successCondition`` / ``failureCondition`` are label-selector expressions over
JSON paths: no queries, keys of at most 63 characters, integers for ``<`` and
``>``. The translation below uses the counters each controller keeps, per kind:

- batch/v1 Job: succeeded when ``status.succeeded`` reaches ``spec.completions``
  (default 1); failed when ``status.failed`` exceeds ``spec.backoffLimit``
  (default 6). A Job that can fail otherwise (``activeDeadlineSeconds``,
  ``podFailurePolicy``, ``backoffLimitPerIndex``) ends with a Failed condition
  but without those counts, so it is not translated.
- TFJob, PyTorchJob, XGBoostJob, MPIJob (Kubeflow training operator v1): the
  replica that decides the job (Chief or Master, else the Launcher of an
  MPIJob) succeeded or failed, when that replica's ``restartPolicy`` is
  ``Never``. With ``OnFailure`` or ``ExitCode`` the operator restarts failed
  containers in place and can fail the job (``runPolicy.backoffLimit``) without
  any pod counted as failed; a ``runPolicy.activeDeadlineSeconds``, an explicit
  ``successPolicy`` and a TFJob without Chief or Master (its workers decide) are
  not counter-based either. None of those is translated.

When no translation is exact (those cases, any other kind, or a template's
own ``successCondition`` / ``failureCondition``) :func:`translate` returns None
and the Workflow must use a step that evaluates the Katib expression itself.
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
    if any(key in spec for key in ("activeDeadlineSeconds", "podFailurePolicy", "backoffLimitPerIndex")):
        return None
    completions = _integer(spec.get("completions", 1))
    backoff = _integer(spec.get("backoffLimit", _DEFAULT_BACKOFF_LIMIT))
    if completions is None or backoff is None or completions < 1:
        return None  # a placeholder or an expression: the value is only known per trial
    return ArgoConditions(f"status.succeeded > {completions - 1}", f"status.failed > {backoff}")


def _kubeflow(kind: str, spec: Mapping[str, Any]) -> ArgoConditions | None:
    replicas = spec.get(_REPLICA_SPECS[kind], {}) or {}
    run_policy = spec.get("runPolicy", {}) or {}
    if "successPolicy" in spec or "activeDeadlineSeconds" in run_policy or not isinstance(replicas, Mapping):
        return None
    deciding = next((name for name in _DECIDING if name in replicas), None)
    if deciding is None or (replicas[deciding] or {}).get("restartPolicy") != "Never":
        return None
    path = f"status.replicaStatuses.{deciding}"
    return ArgoConditions(f"{path}.succeeded > 0", f"{path}.failed > 0")


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
