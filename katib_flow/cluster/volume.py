"""The File and TensorFlowEvent collectors on a cluster: a shared volume instead of Katib's sidecar.

Katib injects a sidecar that reads the metrics file from a volume it shares
with the training container. Here the trial's primary container gets a
PersistentVolumeClaim (ReadWriteMany, ``manifests/metrics-pvc.yaml``) mounted
at the folder of the collector's file (File) or at the event folder
(TensorFlowEvent), with the trial's name as ``subPath``; after the run, the
collect (or wait) step mounts the same claim at :data:`COLLECT_ROOT` and reads
``<root>/<trial>/...``. Each trial has its own folder, so trials never see
each other's files and a retried trial finds its own.

In a run object with several pod templates holding the primary container (a
TFJob's Chief and Workers), only the deciding replica's template (Chief,
Master or Launcher, else the first by name) gets the volume: it is the one
whose metrics count, as with Katib's ``primaryPodLabels``.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from ..spec import constants as c
from ..spec.models import Experiment

__all__ = [
    "CHECKPOINTS",
    "COLLECT_ROOT",
    "METRICS_VOLUME",
    "checkpoint_folder",
    "collected_path",
    "metrics_mount_path",
    "mount_checkpoint_volume",
    "mount_metrics_volume",
    "pod_specs",
    "primary_pod_spec",
]

METRICS_VOLUME = "katib-flow-metrics"
CHECKPOINTS = "checkpoints"  # PBT's checkpoint folders on the same claim: checkpoints/<experiment>/<trial>
COLLECT_ROOT = "/katib-flow/metrics"
_DECIDING = ("Chief", "Master", "Launcher")


def metrics_mount_path(experiment: Experiment) -> str | None:
    """Where the trial writes what the collector reads, for File and TensorFlowEvent; else None."""
    mc = experiment.spec.metrics_collector_spec
    if mc is None or mc.collector is None or mc.collector.kind not in (c.COLLECTOR_FILE, c.COLLECTOR_TFEVENT):
        return None
    source = mc.source.file_system_path if mc.source is not None else None
    path = source.path if source is not None else None
    if not path:
        return None
    return posixpath.dirname(path) if mc.collector.kind == c.COLLECTOR_FILE else path.rstrip("/")


def collected_path(experiment: Experiment, trial: str, root: str = COLLECT_ROOT) -> PurePosixPath | None:
    """Where a step that mounts the claim at ``root`` finds the trial's file or event folder."""
    folder = metrics_mount_path(experiment)
    if folder is None:
        return None
    mc = experiment.spec.metrics_collector_spec
    assert mc is not None and mc.collector is not None and mc.source is not None
    assert mc.source.file_system_path is not None and mc.source.file_system_path.path
    base = PurePosixPath(root) / trial
    if mc.collector.kind == c.COLLECTOR_FILE:
        return base / posixpath.basename(mc.source.file_system_path.path)
    return base


def mount_metrics_volume(run_object: dict[str, Any], experiment: Experiment, trial: str, claim: str) -> dict[str, Any]:
    """The run object with the claim mounted in its primary container (unchanged for other collectors)."""
    folder = metrics_mount_path(experiment)
    return run_object if folder is None else _mount_claim(run_object, experiment, claim, folder, trial)


def checkpoint_folder(experiment: Experiment, trial: str, root: str = COLLECT_ROOT) -> PurePosixPath:
    """Where a step that mounts the claim at ``root`` finds a PBT trial's checkpoint folder (Katib's
    ``<experiment>/<trial>`` of the suggestion volume, under ``checkpoints/`` of the metrics claim)."""
    return PurePosixPath(root) / CHECKPOINTS / (experiment.name or "") / trial


def mount_checkpoint_volume(
    run_object: dict[str, Any], experiment: Experiment, trial: str, claim: str
) -> dict[str, Any]:
    """PBT: the trial's checkpoint folder mounted at ``suggestion_trial_dir`` (as Katib's webhook does)."""
    from ..engine.checkpoints import checkpoint_mount

    mount = checkpoint_mount(experiment)
    if mount is None:
        return run_object
    sub_path = str(checkpoint_folder(experiment, trial, "/")).lstrip("/")
    return _mount_claim(run_object, experiment, claim, mount.rstrip("/") or "/", sub_path)


def _mount_claim(
    run_object: dict[str, Any], experiment: Experiment, claim: str, mount_path: str, sub_path: str
) -> dict[str, Any]:
    template = experiment.spec.trial_template
    mounted: dict[str, Any] = json.loads(json.dumps(run_object))  # no shared sub-objects, unlike deepcopy
    if template is None:
        return mounted
    primary = template.primary_container_name or ""
    pod = primary_pod_spec(mounted, primary)
    if pod is None:
        return mounted
    volumes = [v for v in pod.get("volumes", []) if v.get("name") != METRICS_VOLUME]
    pod["volumes"] = [*volumes, {"name": METRICS_VOLUME, "persistentVolumeClaim": {"claimName": claim}}]
    for container in pod["containers"]:
        if container.get("name") == primary:
            mounts = [m for m in container.get("volumeMounts", []) if m.get("mountPath") != mount_path]
            mount = {"name": METRICS_VOLUME, "mountPath": mount_path, "subPath": sub_path}
            container["volumeMounts"] = [*mounts, mount]
    return mounted


def primary_pod_spec(run_object: dict[str, Any], primary: str) -> dict[str, Any] | None:
    """The pod spec (inside ``run_object``) whose metrics count: of those holding container ``primary``, the
    deciding replica's (Chief, Master, Launcher), else the first by key path; None when none holds it."""
    holding = [
        (path, pod) for path, pod in pod_specs(run_object) if any(c.get("name") == primary for c in pod["containers"])
    ]
    if not holding:
        return None
    deciding = [h for h in holding if any(role in h[0] for role in _DECIDING)]
    return sorted(deciding or holding, key=lambda h: h[0])[0][1]


def pod_specs(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Each pod spec (a mapping with a ``containers`` list) in a run object, with its key path."""
    if isinstance(node, dict):
        if isinstance(node.get("containers"), list):
            yield path, node
            return
        for key in sorted(node):
            yield from pod_specs(node[key], (*path, str(key)))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from pod_specs(item, (*path, str(i)))
