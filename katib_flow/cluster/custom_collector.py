"""The Custom metrics collector on a cluster: the user's collector container beside the trial's, as Katib does it.

Katib's pod webhook (``pkg/webhook/v1beta1/pod/inject_webhook.go``) adds the
``customCollector`` container to the trial's primary pod, turns on
``shareProcessNamespace`` (so the collector can see the training process end)
and, when the collector has a ``fileSystemPath``, mounts one emptyDir volume
at that path's folder (a File) or at that folder (a Directory) in both the
primary container and the collector (``mutateMetricsCollectorVolume``). The
collector reports the metrics itself through Katib's
``DBManager.ReportObservationLog``: point it at ``katib-flow serve --db``
(``manifests/db-manager.yaml``: Service ``katib-flow-db-manager``, port 6789),
and the trial's metrics are in katib-flow's store when its run object ends,
as pushed ones are.

katib-flow injects it into the run object instead of into pods, in the pod
template holding the primary container (the deciding replica's, as for the
metrics volume).
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from ..collectors.push import KATIB_TRIAL_ENV
from ..spec import constants as c
from ..spec.models import Experiment
from .volume import primary_pod_spec

__all__ = ["SHARE_VOLUME", "inject_custom_collector"]

SHARE_VOLUME = "katib-flow-metrics-share"


def inject_custom_collector(run_object: dict[str, Any], experiment: Experiment, trial: str) -> dict[str, Any]:
    """The run object with the Custom collector beside its primary container (unchanged for other collectors).

    The collector gets ``KATIB_TRIAL_NAME``, the name it reports under (Katib's
    own collectors derive it from the pod's name, which katib-flow does not fix).
    """
    mc, template = experiment.spec.metrics_collector_spec, experiment.spec.trial_template
    if mc is None or mc.collector is None or mc.collector.kind != c.COLLECTOR_CUSTOM or template is None:
        return run_object
    collector = json.loads(json.dumps(mc.collector.custom_collector or {}))
    collector.setdefault("name", "metrics-collector")
    env = [e for e in collector.get("env", []) if e.get("name") != KATIB_TRIAL_ENV]
    collector["env"] = [*env, {"name": KATIB_TRIAL_ENV, "value": trial}]
    primary = template.primary_container_name or ""
    injected: dict[str, Any] = json.loads(json.dumps(run_object))
    pod = primary_pod_spec(injected, primary)
    if pod is None:
        return injected
    pod["shareProcessNamespace"] = True
    fs = mc.source.file_system_path if mc.source is not None else None
    if fs is not None and fs.path:
        folder = posixpath.dirname(fs.path) if fs.kind == c.FILE_KIND_FILE else fs.path.rstrip("/")
        mount = {"name": SHARE_VOLUME, "mountPath": folder}
        pod["volumes"] = [*(v for v in pod.get("volumes", []) if v.get("name") != SHARE_VOLUME),
                          {"name": SHARE_VOLUME, "emptyDir": {}}]  # fmt: skip
        for container in [*(ct for ct in pod["containers"] if ct.get("name") == primary), collector]:
            mounts = [m for m in container.get("volumeMounts", []) if m.get("name") != SHARE_VOLUME]
            container["volumeMounts"] = [*mounts, mount]
    pod["containers"] = [*(ct for ct in pod["containers"] if ct.get("name") != collector["name"]), collector]
    return injected
