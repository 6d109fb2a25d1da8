"""The primary container's log of a trial's primary pod, read through the Kubernetes API.

This is the StdOut collector on a cluster: instead of Katib's sidecar (which
rewrites the container's command to tee its output), the ``collect`` step reads
the log after the run object has ended. The primary pod is found by the labels
the trial's controller puts on its pods plus the template's
``primaryPodLabels``; with several matching pods (a Job's retries) the newest
is the one whose log counts, as it is the attempt that ended the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from ..exceptions import ClusterError, CollectorError, MetricsGoneError
from ..kubeapi import load_api_client, retrying
from ..spec import constants as c

__all__ = ["PodLogs", "primary_pod_selector"]

# The label each controller puts on the pods of one run object, keyed by kind.
_OWNER_LABEL = {
    c.JOB_KIND: "job-name",
    **dict.fromkeys(c.KUBEFLOW_JOB_KINDS, "training.kubeflow.org/job-name"),
    c.TRAIN_JOB_KIND: "jobset.sigs.k8s.io/jobset-name",
    # Argo labels every pod of a Workflow with its name (workflow/common/common.go, LabelKeyWorkflow): without
    # it, primaryPodLabels alone would match the pods of every Workflow trial in the namespace.
    "Workflow": "workflows.argoproj.io/workflow",
}
T = TypeVar("T")


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

    def __init__(self, api: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.api = api
        self._sleep = sleep

    @classmethod
    def from_environment(cls) -> PodLogs:
        """In a pod, its service account; elsewhere, the current kubeconfig context."""
        from kubernetes import client

        return cls(client.CoreV1Api(load_api_client()))

    def primary_log(self, namespace: str, selector: str, container: str) -> Iterator[str]:
        """The log lines of ``container`` in the newest pod matching ``selector``."""
        from kubernetes.client.exceptions import ApiException

        newest = self._newest(namespace, selector)
        if newest is None:
            raise MetricsGoneError(f"no pod in namespace {namespace!r} matches {selector!r} (deleted or collected)")
        try:
            text: str = retrying(
                lambda: self.api.read_namespaced_pod_log(newest, namespace, container=container), self._sleep
            )
        except ClusterError as err:
            cause = err.__cause__
            if isinstance(cause, ApiException) and cause.status in (400, 404):  # pod gone, or container never ran
                raise MetricsGoneError(f"the log of {container!r} in pod {newest!r} cannot be read: {err}") from err
            raise CollectorError(str(err)) from err
        yield from text.splitlines()

    def follow(
        self,
        namespace: str,
        selector: str,
        container: str,
        on_line: Callable[[str], None],
        done: threading.Event,
        poll_seconds: float = 2.0,
    ) -> None:
        """Feed ``container``'s log lines of the newest matching pod as they are written.

        Returns once ``done`` is set and the newest pod's log has been read to
        its end. A pod that is replaced (a Job's retry) is followed by its
        successor from the start; a stream that drops is opened again and the
        lines already fed are skipped.
        """
        fed: dict[str, int] = {}
        while True:
            finished = done.is_set()
            pod = self._newest(namespace, selector)
            if pod is not None:
                fed[pod] = self._stream(namespace, pod, container, fed.get(pod, 0), on_line)
            if finished:
                return
            done.wait(poll_seconds)

    def _stream(self, namespace: str, pod: str, container: str, skip: int, on_line: Callable[[str], None]) -> int:
        """Feed the lines after the first ``skip``; the number of lines read. A pod not started yet reads none."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        count = 0
        try:
            response = self.api.read_namespaced_pod_log(
                pod, namespace, container=container, follow=True, _preload_content=False
            )
        except (ApiException, HTTPError):
            return skip  # not started, or the API is busy: the next round asks again
        partial = b""
        try:
            while chunk := response.read1(4096):  # what has arrived, not a full buffer: lines as they are written
                partial += chunk
                *lines, partial = partial.split(b"\n")
                for line in lines:
                    if count >= skip:
                        on_line(line.decode("utf-8", errors="replace"))
                    count += 1
            if partial:
                if count >= skip:
                    on_line(partial.decode("utf-8", errors="replace"))
                count += 1
        except HTTPError:
            pass  # dropped: the caller opens the stream again and skips what was fed
        finally:
            response.release_conn()
        return max(count, skip)

    def _newest(self, namespace: str, selector: str) -> str | None:
        pods = self._retry(lambda: self.api.list_namespaced_pod(namespace, label_selector=selector).items)
        if not pods:
            return None
        newest = max(
            pods, key=lambda pod: (pod.metadata.creation_timestamp is not None, pod.metadata.creation_timestamp)
        )
        return str(newest.metadata.name)

    def _retry(self, call: Callable[[], T]) -> T:
        try:
            return retrying(call, self._sleep)
        except ClusterError as err:
            raise CollectorError(str(err)) from err
