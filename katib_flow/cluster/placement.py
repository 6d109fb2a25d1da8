"""A trial's run object made ready for the cluster: its namespace, the metrics volume, Katib's environment.

The engine renders a run object from the experiment alone (Katib's shape:
``metadata.namespace`` is the experiment's). On the cluster it is created by
the Workflow, so it must live where the Workflow's service account may create
it and where the Workflow's other objects are:

- **Namespace**: the Workflow's (``{{workflow.namespace}}``), always. Argo's
  resource step runs ``kubectl create -f`` in the step pod, which honours the
  manifest's namespace (``workflow/executor/resource.go``, ``getKubectlArguments``
  adds no ``-n``): an experiment namespace the Role does not cover is Forbidden,
  and with wider RBAC the Workflow's ownerReference would point across
  namespaces, which the garbage collector treats as a missing owner and deletes
  the object mid-run. The experiment's namespace stays its identity in the
  database (``${trialSpec.Namespace}`` still renders it, as Katib does).
- **Metrics claim** for the File and TensorFlowEvent collectors (:mod:`.volume`),
  and the Custom collector's container beside the primary one (:mod:`.custom_collector`).
- **Environment** of the primary container in every pod template holding it:
  ``KATIB_TRIAL_NAME`` always, as Katib's pod webhook sets it for Katib's SDK
  ``report_metrics`` (``pkg/webhook/v1beta1/pod/utils.go``, ``mutatePodEnv``);
  for the Push collector also katib-flow's own (trial, experiment id, and the
  database URL from the Workflow's Secret), which :func:`katib_flow.report_metrics` reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..collectors.push import EXPERIMENT_ENV, KATIB_TRIAL_ENV, TRIAL_ENV
from ..spec import constants as c
from ..spec.models import Experiment
from ..store import ENV_URL
from .custom_collector import inject_custom_collector
from .volume import mount_checkpoint_volume, mount_metrics_volume, pod_specs

__all__ = ["in_namespace", "prepare_run_object"]


def prepare_run_object(
    run_object: Mapping[str, Any],
    experiment: Experiment,
    experiment_id: int,
    trial: str,
    *,
    namespace: str | None,
    metrics_claim: str | None = None,
    db_secret: str | None = None,
) -> dict[str, Any]:
    """The run object as the Workflow creates it (see the module docstring); the input is not changed."""
    placed = in_namespace(run_object, namespace)
    if metrics_claim:
        placed = mount_metrics_volume(placed, experiment, trial, metrics_claim)
        placed = mount_checkpoint_volume(placed, experiment, trial, metrics_claim)
    placed = inject_custom_collector(placed, experiment, trial)
    template = experiment.spec.trial_template
    primary = (template.primary_container_name if template is not None else None) or ""
    mc = experiment.spec.metrics_collector_spec
    push = mc is not None and mc.collector is not None and mc.collector.kind == c.COLLECTOR_PUSH
    env: list[dict[str, Any]] = [{"name": KATIB_TRIAL_ENV, "value": trial}]
    if push:
        env += [{"name": TRIAL_ENV, "value": trial}, {"name": EXPERIMENT_ENV, "value": str(experiment_id)}]
        if db_secret:
            env.append({"name": ENV_URL, "valueFrom": {"secretKeyRef": {"name": db_secret, "key": "url"}}})
    for _, pod in pod_specs(placed):
        for container in pod["containers"]:
            if container.get("name") == primary:
                names = {e["name"] for e in env}
                kept = [e for e in container.get("env", []) if e.get("name") not in names]
                container["env"] = [*kept, *env]
    return placed


def in_namespace(run_object: Mapping[str, Any], namespace: str | None) -> dict[str, Any]:
    """A copy of the run object in ``namespace`` (unchanged when None)."""
    copied: dict[str, Any] = json.loads(json.dumps(run_object))  # no shared sub-objects, unlike deepcopy
    if namespace:
        copied.setdefault("metadata", {})["namespace"] = namespace
    return copied
