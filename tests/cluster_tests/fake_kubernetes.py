"""A fake Kubernetes API server on loopback: just the pod list and pod log endpoints the collect step reads.

Real HTTP, so the ``kubernetes`` client's own request building, label
selectors and response decoding are exercised. Tests put pods (with labels,
creation times and per-container logs) in ``FakeKubernetes.pods``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class FakePod:
    name: str
    namespace: str
    labels: dict[str, str]
    created: str  # RFC 3339
    logs: dict[str, str]  # container -> text


@dataclass
class FakeKubernetes:
    pods: list[FakePod] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    fail_next: int = 0  # answer that many requests with 503 first
    url: str = ""

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
        return [p for p in self.pods if p.namespace == namespace and wanted.items() <= p.labels.items()]


def _handler(state: FakeKubernetes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            state.requests.append(self.path)
            if state.fail_next > 0:
                state.fail_next -= 1
                self._send(503, "application/json", {"kind": "Status", "code": 503, "message": "busy"})
                return
            parts = url.path.strip("/").split("/")
            query = parse_qs(url.query)
            # /api/v1/namespaces/{ns}/pods and /api/v1/namespaces/{ns}/pods/{name}/log
            if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "pods":
                pods = state.matching(parts[3], query.get("labelSelector", [""])[0])
                items = [
                    {
                        "metadata": {
                            "name": p.name,
                            "namespace": p.namespace,
                            "labels": p.labels,
                            "creationTimestamp": p.created,
                        }
                    }
                    for p in pods
                ]
                self._send(200, "application/json", {"kind": "PodList", "apiVersion": "v1", "items": items})
                return
            if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 7 and parts[6] == "log":
                pod = next((p for p in state.pods if p.namespace == parts[3] and p.name == parts[5]), None)
                container = query.get("container", [""])[0]
                if pod is None or container not in pod.logs:
                    self._send(404, "application/json", {"kind": "Status", "code": 404, "message": "not found"})
                    return
                self._send(200, "text/plain", pod.logs[container])
                return
            self._send(404, "application/json", {"kind": "Status", "code": 404})

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
