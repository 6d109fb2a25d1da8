"""Where the containers of a trial's run object live, per kind, and the names their pods give them.

Katib runs any resource as a trial and only needs the primary container's name
(``primaryContainerName``) to find its pod's logs. Each kind keeps its
containers in its own shape:

- batch Job and Kubeflow training jobs (TFJob, PyTorchJob, MPIJob, XGBoostJob,
  JAXJob, PaddleJob): ``containers`` lists of pod templates, named as written;
- Argo Workflow: ``spec.templates[i].container`` or ``.script``; Argo's pod
  runs it as the container named ``main`` (``MainContainerName`` in Argo's
  ``workflow/common/common.go``; Katib's Argo example says ``main`` too);
- Tekton (PipelineRun, TaskRun): ``steps`` of task specs; the pod's container
  is ``step-<name>`` (Katib's ``examples/v1beta1/tekton/pipeline-run.yaml``);
- Kubeflow Trainer v2 TrainJob: ``spec.trainer``, run as the container ``node``
  (Katib's ``examples/v1beta1/kubeflow-trainer/trainjob-pytorch.yaml`` and its
  ``DefaultTrainJobPrimaryPodLabels``).

For any other kind the ``containers`` lists found anywhere in it are used; a
kind with none is accepted without a container check (katib-flow cannot know
its pods), as Katib does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import constants as c
from .paths import FieldPath

__all__ = ["ContainerSite", "iter_containers", "local_refusal", "trial_containers"]

ARGO_MAIN = "main"
TRAIN_JOB_CONTAINER = "node"
# Kinds whose container shape katib-flow knows: a missing primary container is an error for them.
_POD_TEMPLATE_KINDS = {c.JOB_KIND, *c.KUBEFLOW_JOB_KINDS, "JAXJob", "PaddleJob"}


@dataclass(frozen=True)
class ContainerSite:
    """One container of a trial spec: where it is written and the name its pod gives it."""

    path: FieldPath
    name: str
    container: Mapping[str, Any]


def _is_argo_workflow(trial_spec: Mapping[str, Any]) -> bool:
    return str(trial_spec.get("apiVersion", "")).startswith("argoproj.io/") and trial_spec.get("kind") == "Workflow"


def _is_tekton(trial_spec: Mapping[str, Any]) -> bool:
    return str(trial_spec.get("apiVersion", "")).startswith("tekton.dev/")


def _is_train_job(trial_spec: Mapping[str, Any]) -> bool:
    return trial_spec.get("kind") == c.TRAIN_JOB_KIND


def trial_containers(trial_spec: Mapping[str, Any], base: FieldPath) -> tuple[list[ContainerSite], bool]:
    """Every container of ``trial_spec`` and whether the kind's shape is known (see the module docstring)."""
    spec = trial_spec.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    spec_path = base.child("spec")
    if _is_argo_workflow(trial_spec):
        sites = []
        for i, template in enumerate(spec.get("templates") or []):
            if not isinstance(template, Mapping):
                continue
            for key in ("container", "script"):
                if isinstance(template.get(key), Mapping):
                    sites.append(
                        ContainerSite(spec_path.child("templates").index(i).child(key), ARGO_MAIN, template[key])
                    )
        return sites, True
    if _is_tekton(trial_spec):
        return list(_tekton_steps(spec, spec_path)), True
    if _is_train_job(trial_spec):
        trainer = spec.get("trainer")
        sites = (
            [ContainerSite(spec_path.child("trainer"), TRAIN_JOB_CONTAINER, trainer)]
            if isinstance(trainer, Mapping)
            else []
        )
        return sites, True
    sites = [
        ContainerSite(path, str(container.get("name", "")), container)
        for path, container in iter_containers(trial_spec, base)
    ]
    return sites, bool(sites) or trial_spec.get("kind") in _POD_TEMPLATE_KINDS


def local_refusal(trial_spec: Mapping[str, Any], primary: str | None) -> str | None:
    """Why ``katib-flow run`` cannot run this kind as one local process, or None when it can."""
    kind = f"{trial_spec.get('apiVersion')} {trial_spec.get('kind')}"
    if _is_argo_workflow(trial_spec) or _is_tekton(trial_spec):
        return (
            f"trials of kind {kind} run several steps, each in its own container: they run on a cluster "
            "(katib-flow compile), not as one local process"
        )
    sites, _ = trial_containers(trial_spec, FieldPath("trialSpec"))
    if not any(site.name == primary for site in sites):
        return (
            f"katib-flow cannot see the primary container {primary!r} in trials of kind {kind}, so it cannot run "
            "them as a local process; they run on a cluster (katib-flow compile)"
        )
    return None


def _tekton_steps(node: Any, path: FieldPath) -> Iterator[ContainerSite]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            child = path.child(str(key))
            if key == "steps" and isinstance(value, list):
                for i, step in enumerate(value):
                    if isinstance(step, Mapping):
                        yield ContainerSite(child.index(i), f"step-{step.get('name', '')}", step)
                continue
            yield from _tekton_steps(value, child)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _tekton_steps(item, path.index(i))


def iter_containers(trial_spec: Mapping[str, Any], base: FieldPath) -> Iterator[tuple[FieldPath, Mapping[str, Any]]]:
    """Each mapping in a ``containers`` list of ``trial_spec`` with its field path, depth first."""
    yield from _walk(trial_spec, base)


def _walk(node: Any, path: FieldPath) -> Iterator[tuple[FieldPath, Mapping[str, Any]]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            child = path.child(str(key))
            if key in ("containers", "initContainers") and isinstance(value, list):
                if key == "containers":
                    for i, item in enumerate(value):
                        if isinstance(item, Mapping):
                            yield child.index(i), item
                continue
            yield from _walk(value, child)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, path.index(i))
