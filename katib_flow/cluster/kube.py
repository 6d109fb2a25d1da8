"""Trial run objects through the Kubernetes API: get-or-create, read and delete, for any kind.

The ``wait`` step creates the run object itself (instead of an Argo resource
template) so that a retried step finds the object its first attempt created:
a create answered 409 AlreadyExists reads the existing object. The resource
path of a kind is found through API discovery (``/apis/<group>/<version>``),
so any kind the cluster serves works, not only the training operators'.
Server errors (5xx, 429) and connection failures are retried with backoff.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..exceptions import ClusterError
from ..kubeapi import retrying

__all__ = ["KubernetesApi", "RunObjects"]


class KubernetesApi:
    """JSON requests on any API path, with the client's configuration (server, credentials, TLS)."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, query: Mapping[str, str] | None = None
    ) -> Any:
        """The decoded JSON answer; an error status raises the client's ApiException."""
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        method, url, headers, data, _ = self.api_client.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(method, url, header_params=headers, body=data)
        raw = response.read()
        if response.status >= 400:
            raise ApiException(status=response.status, reason=response.reason, body=raw.decode(errors="replace"))
        return json.loads(raw) if raw else None


class RunObjects:
    """Create, read and delete run objects of any kind (the plural name comes from discovery)."""

    def __init__(self, api: KubernetesApi, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.api = api
        self._sleep = sleep
        self._plurals: dict[tuple[str, str], str] = {}

    def get_or_create(self, run_object: Mapping[str, Any]) -> dict[str, Any]:
        """Create the object; if it exists already (a retried step), the existing one."""
        from kubernetes.client.exceptions import ApiException

        collection = self._collection(run_object)

        def create() -> Any:
            try:
                return self.api.request("POST", collection, body=run_object)
            except ApiException as err:
                if err.status != 409:
                    raise
                return self.api.request("GET", f"{collection}/{_name(run_object)}")

        created: dict[str, Any] = retrying(create, self._sleep)
        return created

    def get(self, run_object: Mapping[str, Any]) -> dict[str, Any] | None:
        """The object as the cluster has it now, or None once it is gone."""
        from kubernetes.client.exceptions import ApiException

        path = f"{self._collection(run_object)}/{_name(run_object)}"

        def read() -> Any:
            try:
                return self.api.request("GET", path)
            except ApiException as err:
                if err.status == 404:
                    return None
                raise

        found: dict[str, Any] | None = retrying(read, self._sleep)
        return found

    def delete(self, run_object: Mapping[str, Any]) -> None:
        """Delete the object and, in the background, its pods; an object already gone is fine."""
        from kubernetes.client.exceptions import ApiException

        path = f"{self._collection(run_object)}/{_name(run_object)}"

        def remove() -> None:
            try:
                self.api.request("DELETE", path, body={"kind": "DeleteOptions", "propagationPolicy": "Background"})
            except ApiException as err:
                if err.status != 404:
                    raise

        retrying(remove, self._sleep)

    def _collection(self, run_object: Mapping[str, Any]) -> str:
        api_version, kind = str(run_object.get("apiVersion", "")), str(run_object.get("kind", ""))
        namespace = run_object.get("metadata", {}).get("namespace") or "default"
        base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        key = (api_version, kind)
        if key not in self._plurals:
            resources = retrying(lambda: self.api.request("GET", base), self._sleep)
            plural = next(
                (
                    r["name"]
                    for r in (resources or {}).get("resources", [])
                    if r.get("kind") == kind and "/" not in r.get("name", "")
                ),
                None,
            )
            if plural is None:
                raise ClusterError(f"the cluster serves no {kind} in {api_version} (is its operator installed?)")
            self._plurals[key] = plural
        return f"{base}/namespaces/{namespace}/{self._plurals[key]}"


def _name(run_object: Mapping[str, Any]) -> str:
    return str(run_object.get("metadata", {}).get("name", ""))
