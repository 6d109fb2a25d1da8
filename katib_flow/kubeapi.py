"""The Kubernetes API client both drivers use: credentials, retries, reading a ConfigMap.

The cluster steps use it for run objects and pod logs (:mod:`katib_flow.cluster`);
``katib-flow run`` uses it only to read a ConfigMap trial template from the
current kubeconfig context. Server errors (5xx, 429) and connection failures
are retried with backoff; other API errors are one :class:`ClusterError`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .exceptions import ClusterError

__all__ = ["config_map_lookup", "kubeconfig_available", "load_api_client", "retrying"]

T = TypeVar("T")
_ATTEMPTS = 5


def kubeconfig_available() -> bool:
    """Whether a kubeconfig file is there to use ($KUBECONFIG, else ~/.kube/config)."""
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return any(Path(p).is_file() for p in paths) if paths else (Path.home() / ".kube" / "config").is_file()


def load_api_client() -> Any:
    """In a pod, its service account; elsewhere, the current kubeconfig context."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        try:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        except (config.ConfigException, OSError) as err:
            raise ClusterError(
                f"no Kubernetes API to talk to: not in a pod, and no usable kubeconfig (KUBECONFIG): {err}"
            ) from err
    return client.ApiClient()


def retrying(call: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``, again after 5xx, 429 or a connection failure; other API errors raise ClusterError."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    for attempt in range(_ATTEMPTS):
        try:
            return call()
        except ApiException as err:
            if (err.status is not None and err.status < 500 and err.status != 429) or attempt == _ATTEMPTS - 1:
                raise ClusterError(f"Kubernetes API: {err.status} {err.reason}: {_message(err)}") from err
        except HTTPError as err:
            if attempt == _ATTEMPTS - 1:
                raise ClusterError(f"Kubernetes API unreachable: {err}") from err
        sleep(min(10.0, 0.5 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def config_map_lookup(api_client: Any) -> Callable[[str, str, str], str | None]:
    """Read a key of a ConfigMap through the API (a trial template); None when the ConfigMap or key is missing."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(api_client)

    def lookup(namespace: str, name: str, key: str) -> str | None:
        try:
            config_map = retrying(lambda: core.read_namespaced_config_map(name, namespace))
        except ClusterError as err:
            if isinstance(err.__cause__, ApiException) and err.__cause__.status == 404:
                return None
            raise
        value = (config_map.data or {}).get(key)
        return value if isinstance(value, str) else None

    return lookup


def _message(err: Any) -> str:
    try:
        return str(json.loads(err.body).get("message", ""))
    except (TypeError, ValueError, AttributeError):
        return str(err.body or "")
