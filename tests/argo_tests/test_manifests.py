"""The install manifests agree with what compiled Workflows and the steps need."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from katib_flow.argo.compiler import CompileOptions

from ..conftest import PROJECT_ROOT

MANIFESTS = PROJECT_ROOT / "manifests"


def _documents() -> Iterator[dict[str, Any]]:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        yield from (d for d in yaml.safe_load_all((MANIFESTS / resource).read_text()) if d)


def _named(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name)


def test_kustomization_lists_every_manifest_file() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    on_disk = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


def test_the_db_secret_and_service_account_are_the_compilers_defaults() -> None:
    defaults = CompileOptions()
    secret = _named("Secret", defaults.db_secret)
    assert "url" in secret["stringData"]
    _named("ServiceAccount", defaults.service_account)
    binding = _named("RoleBinding", "katib-flow")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": defaults.service_account}]


def test_the_metrics_claim_is_the_compilers_default_and_shared_across_nodes() -> None:
    claim = _named("PersistentVolumeClaim", CompileOptions().metrics_claim)
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_db_url_points_at_the_mysql_service_with_its_credentials() -> None:
    url = _named("Secret", "katib-flow-db")["stringData"]["url"]
    mysql = _named("Secret", "katib-flow-mysql")["stringData"]
    service = _named("Service", "katib-flow-mysql")
    expected = (
        f"mysql+pymysql://{mysql['MYSQL_USER']}:{mysql['MYSQL_PASSWORD']}@{service['metadata']['name']}:"
        f"{service['spec']['ports'][0]['port']}/{mysql['MYSQL_DATABASE']}"
    )
    assert url == expected


@pytest.mark.parametrize(
    ("group", "resource", "verbs"),
    [
        ("argoproj.io", "workflowtaskresults", {"create", "patch"}),  # Argo's executor
        ("batch", "jobs", {"create", "get", "watch", "delete"}),  # run-trial/wait-trial create and watch it
        ("argoproj.io", "workflows", {"create", "get", "patch", "list"}),  # successors (kubectl apply), watched
        ("argoproj.io", "workflows/finalizers", {"update"}),  # Argo's blockOwnerDeletion on run-trial's objects
        ("kubeflow.org", "pytorchjobs", {"delete"}),  # finished run objects are deleted unless retained
        ("kubeflow.org", "pytorchjobs", {"create", "get", "watch"}),
        ("kubeflow.org", "tfjobs", {"create", "get", "watch"}),
        ("", "pods", {"list", "get"}),  # collect finds the primary pod
        ("", "pods/log", {"get"}),  # and reads its log
    ],
)
def test_the_role_allows_what_the_workflow_does(group: str, resource: str, verbs: set[str]) -> None:
    rules = _named("Role", "katib-flow")["rules"]
    allowed = set().union(*(set(r["verbs"]) for r in rules if group in r["apiGroups"] and resource in r["resources"]))
    assert verbs <= allowed


def test_the_image_installs_the_package_with_the_mysql_driver() -> None:
    dockerfile = (PROJECT_ROOT / "algorithms" / "katib-flow" / "Dockerfile").read_text()
    assert 'pip install ".[mysql]"' in dockerfile and "COPY katib_flow ./katib_flow" in dockerfile


def test_the_default_step_image_is_the_one_the_dockerfile_builds_and_runs_as_the_step_user() -> None:
    from katib_flow.argo.compiler import DEFAULT_IMAGE
    from katib_flow.argo.step_pods import STEP_USER

    dockerfile = (PROJECT_ROOT / "algorithms" / "katib-flow" / "Dockerfile").read_text()
    assert f"-t {DEFAULT_IMAGE} ." in dockerfile  # the build command the Dockerfile documents
    assert f"USER {STEP_USER}" in dockerfile  # runAsNonRoot needs a numeric user


def test_the_serve_image_runs_the_katib_algorithm_service_on_katibs_port() -> None:
    dockerfile = (PROJECT_ROOT / "algorithms" / "katib-flow-serve" / "Dockerfile").read_text()
    assert "ARG BASE=katib-flow:0.1.0" in dockerfile  # the step image the other Dockerfile builds
    assert 'CMD ["serve", "--port", "6789"]' in dockerfile  # Katib's suggestion Deployment talks to 6789


def test_the_db_manager_serves_katibs_api_over_the_steps_database_on_katibs_port() -> None:
    from katib_flow.argo.compiler import DEFAULT_IMAGE

    deployment = _named("Deployment", "katib-flow-db-manager")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == DEFAULT_IMAGE
    assert container["args"] == ["serve", "--port", "6789", "--db", "$(KATIB_FLOW_DB_URL)"]
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "katib-flow-db", "key": "url"}
    assert container["readinessProbe"]["grpc"] == {"port": 6789, "service": "api.v1.beta1.DBManager"}
    service = _named("Service", "katib-flow-db-manager")
    assert service["spec"]["ports"][0]["port"] == 6789
