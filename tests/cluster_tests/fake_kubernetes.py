"""A fake Kubernetes API server on loopback: pods and their logs, run objects, discovery, and a Job controller.

Real HTTP, so the ``kubernetes`` client's own request building, label
selectors, streaming and response decoding are exercised. Tests put pods (with
labels, creation times and per-container logs) in ``FakeKubernetes.pods``; run
objects created through the API land in ``FakeKubernetes.objects``, and a
created batch/v1 Job is run by :class:`JobController` when one is attached.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

# What discovery serves: (group/version) -> [(plural, kind)]
RESOURCES: dict[str, list[tuple[str, str]]] = {
    "batch/v1": [("jobs", "Job")],
    "kubeflow.org/v1": [("tfjobs", "TFJob"), ("pytorchjobs", "PyTorchJob"), ("xgboostjobs", "XGBoostJob")],
    "example.com/v1": [("widgets", "Widget")],
    "trainer.kubeflow.org/v1alpha1": [("trainjobs", "TrainJob")],
    "argoproj.io/v1alpha1": [("workflows", "Workflow")],
}


@dataclass
class FakePod:
    name: str
    namespace: str
    labels: dict[str, str]
    created: str  # RFC 3339
    logs: dict[str, str]  # container -> text
    running: bool = False  # a following log stream stays open while the pod runs


@dataclass
class FakeKubernetes:
    pods: list[FakePod] = field(default_factory=list)
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (plural, ns, name)
    history: list[dict[str, Any]] = field(default_factory=list)  # every object as it was created, also deleted ones
    requests: list[str] = field(default_factory=list)
    fail_next: int = 0  # answer that many requests with 503 first
    # The service account's Role covers these namespaces only (None: all): elsewhere 403 Forbidden, as on a cluster
    allowed_namespaces: set[str] | None = None
    url: str = ""
    on_create: Callable[[dict[str, Any]], None] | None = None
    on_delete: Callable[[dict[str, Any]], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kubeconfig(self, path: Path) -> Path:
        """A kubeconfig file for processes that find the API the usual way (``KUBECONFIG``)."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
        path.write_text(json.dumps(config))
        return path

    def matching(self, namespace: str, selector: str) -> list[FakePod]:
        wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
        with self.lock:
            return [p for p in self.pods if p.namespace == namespace and wanted.items() <= p.labels.items()]

    def add_pod(self, pod: FakePod) -> None:
        with self.lock:
            self.pods.append(pod)

    def append_log(self, pod: FakePod, container: str, text: str) -> None:
        with self.lock:
            pod.logs[container] = pod.logs.get(container, "") + text

    def created(self, kind: str) -> list[dict[str, Any]]:
        """The objects of ``kind`` that exist now."""
        with self.lock:
            return [o for o in self.objects.values() if o.get("kind") == kind]

    def ever_created(self, kind: str) -> list[dict[str, Any]]:
        """Every object of ``kind`` created, as it was created (deleted ones too)."""
        with self.lock:
            return [o for o in self.history if o.get("kind") == kind]


def _handler(state: FakeKubernetes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            state.requests.append(f"{method} {self.path}" if method != "GET" else self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            if state.fail_next > 0:
                state.fail_next -= 1
                self._send(503, "application/json", {"kind": "Status", "code": 503, "message": "busy"})
                return
            parts = url.path.strip("/").split("/")
            query = parse_qs(url.query)
            if "namespaces" in parts and state.allowed_namespaces is not None:
                namespace = parts[parts.index("namespaces") + 1]
                if namespace not in state.allowed_namespaces:
                    self._send(403, "application/json", {"kind": "Status", "code": 403, "reason": "Forbidden"})
                    return
            if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "pods":
                self._pods(parts[3], query.get("labelSelector", [""])[0])
            elif parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 7 and parts[6] == "log":
                self._log(parts[3], parts[5], query.get("container", [""])[0], query.get("follow") == ["true"])
            elif parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 6 and parts[4] == "configmaps":
                self._object(method, "configmaps", parts[3], parts[5], body)
            elif parts[0] == "apis" and len(parts) == 3:
                self._discovery("/".join(parts[1:3]))
            elif parts[0] == "apis" and len(parts) in (6, 7) and parts[3] == "namespaces":
                selector = query.get("labelSelector", [""])[0]
                self._object(method, parts[5], parts[4], parts[6] if len(parts) == 7 else None, body, selector)
            else:
                self._send(404, "application/json", {"kind": "Status", "code": 404})

        def _pods(self, namespace: str, selector: str) -> None:
            items = [
                {
                    "metadata": {
                        "name": p.name,
                        "namespace": p.namespace,
                        "labels": p.labels,
                        "creationTimestamp": p.created,
                    }
                }
                for p in state.matching(namespace, selector)
            ]
            self._send(200, "application/json", {"kind": "PodList", "apiVersion": "v1", "items": items})

        def _log(self, namespace: str, name: str, container: str, follow: bool) -> None:
            with state.lock:
                pod = next((p for p in state.pods if p.namespace == namespace and p.name == name), None)
            if pod is None or container not in pod.logs:
                self._send(404, "application/json", {"kind": "Status", "code": 404, "message": "not found"})
                return
            if not follow:
                self._send(200, "text/plain", pod.logs[container])
                return
            # HTTP/1.0 without Content-Length: the body ends when the connection closes, as a followed log does
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            sent = 0
            while True:
                with state.lock:
                    text, running = pod.logs[container], pod.running
                if len(text) > sent:
                    self.wfile.write(text[sent:].encode())
                    self.wfile.flush()
                    sent = len(text)
                if not running:
                    return
                time.sleep(0.02)

        def _discovery(self, group_version: str) -> None:
            if group_version not in RESOURCES:
                self._send(404, "application/json", {"kind": "Status", "code": 404})
                return
            resources = [
                {"name": plural, "kind": kind, "namespaced": True} for plural, kind in RESOURCES[group_version]
            ] + [{"name": f"{plural}/status", "kind": kind} for plural, kind in RESOURCES[group_version]]
            self._send(200, "application/json", {"kind": "APIResourceList", "resources": resources})

        def _object(
            self,
            method: str,
            plural: str,
            namespace: str,
            name: str | None,
            body: Any,
            query_selector: str | None = None,
        ) -> None:
            if method == "POST":
                assert body is not None and name is None
                key = (plural, namespace, body["metadata"]["name"])
                with state.lock:
                    exists = key in state.objects
                    if not exists:
                        body["metadata"]["namespace"] = namespace
                        body["metadata"]["uid"] = f"uid-{len(state.history)}"
                        state.objects[key] = body
                        state.history.append(json.loads(json.dumps(body)))
                if exists:
                    self._send(409, "application/json", {"kind": "Status", "code": 409, "reason": "AlreadyExists"})
                    return
                if state.on_create is not None:
                    state.on_create(body)
                self._send(201, "application/json", body)
                return
            if method == "GET" and name is None:  # a list, by label selector
                wanted = dict(t.split("=", 1) for t in (query_selector or "").split(",") if t)
                with state.lock:
                    items = [
                        json.loads(json.dumps(o))
                        for (kind, ns, _), o in sorted(state.objects.items())
                        if kind == plural
                        and ns == namespace
                        and wanted.items() <= o.get("metadata", {}).get("labels", {}).items()
                    ]
                self._send(200, "application/json", {"kind": "List", "items": items})
                return
            key = (plural, namespace, name or "")
            with state.lock:
                found = state.objects.get(key)
                if method == "DELETE" and found is not None:
                    del state.objects[key]
                snapshot = json.loads(json.dumps(found)) if found is not None else None
            if snapshot is None:
                self._send(404, "application/json", {"kind": "Status", "code": 404, "reason": "NotFound"})
                return
            if method == "DELETE":
                assert body is not None and body.get("propagationPolicy") == "Background"
                if state.on_delete is not None:
                    state.on_delete(snapshot)
                self._send(200, "application/json", {"kind": "Status", "status": "Success"})
                return
            self._send(200, "application/json", snapshot)

        def _send(self, code: int, content_type: str, body: Any) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def fake_kubernetes() -> Iterator[tuple[FakeKubernetes, Any]]:
    """The fake's state and a ``kubernetes`` CoreV1Api pointed at it."""
    from kubernetes import client

    state = FakeKubernetes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        configuration = client.Configuration()
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        configuration.host = state.url
        yield state, client.CoreV1Api(client.ApiClient(configuration))
    finally:
        server.shutdown()
        server.server_close()
