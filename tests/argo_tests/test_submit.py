"""katib-flow submit against a fake Argo Server on loopback (the REST call Hera's WorkflowsService makes)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from katib_flow.cli import main
from katib_flow.spec import dump_experiment, load_experiment

from .test_compile import _example


@pytest.fixture
def argo_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    templates: dict[str, dict[str, Any]] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            received.append({"method": "GET", "path": self.path, "auth": self.headers.get("Authorization")})
            name = self.path.split("?")[0].rsplit("/", 1)[-1]
            if name not in templates:
                self._reply(404, {"code": 5, "message": f"workflowtemplates {name} not found"})
                return
            self._reply(200, templates[name])

        def do_PUT(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"method": "PUT", "path": self.path, "body": body})
            template = body["template"]
            assert (
                template["metadata"]["resourceVersion"]
                == templates[template["metadata"]["name"]]["metadata"]["resourceVersion"]
            )
            template["metadata"]["resourceVersion"] = "2"
            templates[template["metadata"]["name"]] = template
            self._reply(200, template)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            if self.headers.get("Authorization") != "Bearer s3cret":
                self._reply(401, {"code": 16, "message": "token not valid"})
                return
            if "template" in body:
                template = body["template"]
                template["metadata"]["resourceVersion"] = "1"
                templates[template["metadata"]["name"]] = template
                self._reply(200, template)
                return
            workflow = body["workflow"]
            workflow["metadata"]["name"] = workflow["metadata"]["generateName"] + "x7k2p"
            self._reply(200, workflow)

        def _reply(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_submit_posts_the_compiled_workflow_and_prints_its_name_and_link(
    argo_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = argo_server
    args = ["submit", str(_example("random")), "--argo-server", url, "--namespace", "hpo"]
    result = CliRunner().invoke(main, args, env={"ARGO_TOKEN": "s3cret"})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "workflow random-x7k2p submitted in namespace hpo",
        f"{url}/workflows/hpo/random-x7k2p",
    ]
    (request,) = received
    assert request["path"] == "/api/v1/workflows/hpo" and request["auth"] == "Bearer s3cret"
    assert request["body"]["workflow"]["metadata"]["namespace"] == "hpo"
    assert {t["name"] for t in request["body"]["workflow"]["spec"]["templates"]} >= {"main", "lane", "suggest"}


def test_a_refused_submission_is_one_line_and_exit_1(argo_server: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = argo_server
    result = CliRunner().invoke(main, ["submit", str(_example("random")), "--argo-server", url, "--token", "wrong"])
    assert result.exit_code == 1
    assert result.output.startswith(f"katib-flow: the Argo Server at {url} refused the Workflow")


def test_dry_run_contacts_no_server_and_a_missing_server_is_bad_input() -> None:
    dry = CliRunner().invoke(main, ["submit", str(_example("random")), "--dry-run"], env={"ARGO_SERVER": ""})
    assert dry.exit_code == 0 and dry.output.startswith("apiVersion: argoproj.io/v1alpha1")
    missing = CliRunner().invoke(main, ["submit", str(_example("random"))], env={"ARGO_SERVER": ""})
    assert missing.exit_code == 2 and "--argo-server" in missing.output


def test_a_server_without_scheme_is_bad_input_naming_the_option() -> None:
    result = CliRunner().invoke(main, ["submit", str(_example("random")), "--argo-server", "argo:2746"])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "katib-flow: --argo-server: needs a scheme: 'argo:2746' (e.g. https://argo.example.com:2746)"
    )


def test_an_experiment_larger_than_one_workflow_is_submitted_with_its_template_created_then_replaced(
    argo_server: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, received = argo_server
    experiment = load_experiment(_example("random"))
    large = experiment.model_copy(update={"spec": experiment.spec.model_copy(update={"max_trial_count": 1000})})
    path = tmp_path / "large.yaml"
    path.write_text(dump_experiment(large))
    args = ["submit", str(path), "--argo-server", url, "--namespace", "hpo", "--token", "s3cret"]
    for _ in range(2):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    methods = [(r.get("method", "POST"), r["path"].split("?")[0]) for r in received]
    assert methods == [
        ("GET", "/api/v1/workflow-templates/hpo/katib-flow-random"),  # absent: created
        ("POST", "/api/v1/workflow-templates/hpo"),
        ("POST", "/api/v1/workflows/hpo"),
        ("GET", "/api/v1/workflow-templates/hpo/katib-flow-random"),  # present: replaced
        ("PUT", "/api/v1/workflow-templates/hpo/katib-flow-random"),
        ("POST", "/api/v1/workflows/hpo"),
    ]
    assert received[2]["body"]["workflow"]["spec"]["workflowTemplateRef"] == {"name": "katib-flow-random"}
    dry = CliRunner().invoke(main, ["submit", str(path), "--dry-run"])
    assert [d["kind"] for d in yaml.safe_load_all(dry.output)] == ["WorkflowTemplate", "Workflow"]
