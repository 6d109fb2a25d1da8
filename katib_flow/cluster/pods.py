"""The primary container's log of a trial's primary pod, read through the Kubernetes API.

This is the StdOut collector on a cluster: instead of Katib's sidecar (which
rewrites the container's command to tee its output), the ``collect`` step reads
the log after the run object has ended. The primary pod is found by the labels
the trial's controller puts on its pods plus the template's
``primaryPodLabels``; with several matching pods (a Job's retries) the newest
is the one whose log counts, as it is the attempt that ended the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from ..exceptions import CollectorError
from ..spec import constants as c

__all__ = ["PodLogs", "primary_pod_selector"]

# The label each controller puts on the pods of one run object, keyed by kind.
_OWNER_LABEL = {
    c.JOB_KIND: "job-name",
    **dict.fromkeys(c.KUBEFLOW_JOB_KINDS, "training.kubeflow.org/job-name"),
    c.TRAIN_JOB_KIND: "jobset.sigs.k8s.io/jobset-name",
}
_ATTEMPTS = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def primary_pod_selector(run_object: Mapping[str, Any], primary_pod_labels: Mapping[str, str] | None) -> str:
    """A label selector for the run object's primary pod(s)."""
    kind = str(run_object.get("kind", ""))
    name = str(run_object.get("metadata", {}).get("name", ""))
    labels: dict[str, str] = {}
    if kind in _OWNER_LABEL:
        labels[_OWNER_LABEL[kind]] = name
    labels.update(primary_pod_labels or {})
    if not labels:
        raise CollectorError(
            f"cannot find the pods of a {kind or 'run object'}: set spec.trialTemplate.primaryPodLabels"
        )
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


class PodLogs:
    """Reads pod logs through a ``kubernetes`` CoreV1Api; API errors are retried with backoff."""

    def __init__(self, api: Any, *, sleep: Any = time.sleep) -> None:
        self.api = api
        self._sleep = sleep

    @classmethod
    def from_environment(cls) -> PodLogs:
        """In a pod, its service account; elsewhere, the current kubeconfig context."""
        from kubernetes import client, config

        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except config.ConfigException:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        return cls(client.CoreV1Api())

    def primary_log(self, namespace: str, selector: str, container: str) -> Iterator[str]:
        """The log lines of ``container`` in the newest pod matching ``selector``."""
        pods = self._retry(lambda: self.api.list_namespaced_pod(namespace, label_selector=selector).items)
        if not pods:
            raise CollectorError(f"no pod in namespace {namespace!r} matches {selector!r}")
        newest = max(
            pods, key=lambda pod: (pod.metadata.creation_timestamp is not None, pod.metadata.creation_timestamp)
        )
        text: str = self._retry(
            lambda: self.api.read_namespaced_pod_log(newest.metadata.name, namespace, container=container)
        )
        yield from text.splitlines()

    def _retry(self, call: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        for attempt in range(_ATTEMPTS):
            try:
                return call()
            except ApiException as err:
                if (err.status is not None and err.status < 500 and err.status != 429) or attempt == _ATTEMPTS - 1:
                    raise CollectorError(f"Kubernetes API: {err.status} {err.reason}") from err
            except HTTPError as err:
                if attempt == _ATTEMPTS - 1:
                    raise CollectorError(f"Kubernetes API unreachable: {err}") from err
            self._sleep(min(10.0, 0.5 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover
