"""A Katib algorithm service written without katib-flow's server code (from Katib's own proto), used by katib-flow.

The service below is what a third party writes from Katib's ``api.proto``:
it answers ``GetSuggestions`` with points of its own choosing and refuses an
unknown setting in ``ValidateAlgorithmSettings``. ``katib-flow run
--suggestion-service`` must run an experiment on it end to end, with real
trial processes, and ``validate`` must report the service's refusal.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
import yaml
from click.testing import CliRunner

from katib_flow.cli import main
from katib_flow.engine import find_experiment
from katib_flow.store import Store

from .katib_proto import katib_modules

PROGRAM = "import sys\nx = float(sys.argv[1])\nprint(f'loss={(x - 0.25) ** 2:.6f}')\n"


class LadderService:
    """Proposes x = 0.1, 0.2, 0.3, ... in the order asked (a Katib service in a few lines)."""

    def __init__(self, api: ModuleType) -> None:
        self.api = api
        self.requests: list[Any] = []
        self.lock = threading.Lock()

    def GetSuggestions(self, request: Any, context: Any) -> Any:
        with self.lock:
            self.requests.append(request)
        reply = self.api.GetSuggestionsReply()
        start = request.total_request_number - request.current_request_number
        for i in range(request.current_request_number):
            item = reply.parameter_assignments.add()
            item.assignments.add(name="x", value=f"{(start + i + 1) / 10:.1f}")
        return reply

    def ValidateAlgorithmSettings(self, request: Any, context: Any) -> Any:
        for setting in request.experiment.spec.algorithm.algorithm_settings:
            if setting.name != "step":
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown setting {setting.name!r} for ladder")
        return self.api.ValidateAlgorithmSettingsReply()


@pytest.fixture
def ladder() -> Iterator[tuple[LadderService, str]]:
    api, stubs = katib_modules()
    service = LadderService(api)
    with serving(stubs.add_SuggestionServicer_to_server, service) as address:
        yield service, address


@contextmanager
def serving(register: Callable[[Any, grpc.Server], None], service: Any) -> Iterator[str]:
    """``service`` served on a free loopback port while the block runs; its address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    register(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)


def median_stopped(folder: Path) -> dict[str, Any]:
    """Three grid trials of a slow program, stopped early by "mini-median", which only the service knows."""
    document: dict[str, Any] = yaml.safe_load(experiment_file(folder).read_text())
    spec = document["spec"]
    spec["algorithm"] = {"algorithmName": "grid"}
    spec["parameters"] = [{"name": "x", "parameterType": "discrete", "feasibleSpace": {"list": ["0.1", "0.5", "0.9"]}}]
    spec["parallelTrialCount"], spec["maxTrialCount"] = 1, 3
    spec["earlyStopping"] = {"algorithmName": "mini-median"}
    container = spec["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    container["command"] = [sys.executable, "-c", SLOW, "${trialParameters.x}"]
    return document


def experiment_file(folder: Path, settings: list[dict[str, str]] | None = None) -> Path:
    document = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": "laddered"},
        "spec": {
            "objective": {"type": "minimize", "objectiveMetricName": "loss"},
            "algorithm": {"algorithmName": "ladder", **({"algorithmSettings": settings} if settings else {})},
            "parallelTrialCount": 2,
            "maxTrialCount": 4,
            "parameters": [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}],
            "trialTemplate": {
                "primaryContainerName": "training-container",
                "trialParameters": [{"name": "x", "reference": "x"}],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "training-container",
                                        "image": "python:3.11",
                                        "command": [sys.executable, "-c", PROGRAM, "${trialParameters.x}"],
                                    }
                                ],
                                "restartPolicy": "Never",
                            }
                        }
                    },
                },
            },
        },
    }
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_local_run_gets_its_trials_from_a_katib_algorithm_service(
    ladder: tuple[LadderService, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, address = ladder
    monkeypatch.delenv("KATIB_FLOW_SUGGESTION_SERVICES", raising=False)
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    args = ["run", str(experiment_file(tmp_path)), "--db", db, "--workdir", str(tmp_path / "wd"), "--quiet"]
    result = CliRunner().invoke(main, [*args, "--suggestion-service", f"ladder={address}"])
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        status = find_experiment(store, "laddered").experiment
        assert status.spec.algorithm is not None and status.spec.algorithm.algorithm_name == "ladder"
        with store.session() as session:
            from sqlalchemy import select

            from katib_flow.store import TrialRow

            rows = session.execute(select(TrialRow.assignments, TrialRow.state, TrialRow.objective)).all()
    assert sorted(a[0]["value"] for a, _, _ in rows) == ["0.1", "0.2", "0.3", "0.4"]
    assert all(state == "Succeeded" for _, state, _ in rows)
    # as Katib's controller asks: the whole history each time, request numbers counting every suggestion
    last = service.requests[-1]
    assert last.experiment.spec.algorithm.algorithm_name == "ladder"
    assert last.total_request_number == len(last.trials) + last.current_request_number
    assert {t.status.condition for t in last.trials} <= {0, 1, 2}  # CREATED, RUNNING, SUCCEEDED


def test_validate_asks_the_service_and_reports_its_refusal(
    ladder: tuple[LadderService, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, address = ladder
    monkeypatch.delenv("KATIB_FLOW_SUGGESTION_SERVICES", raising=False)
    bad = experiment_file(tmp_path, [{"name": "stride", "value": "2"}])
    result = CliRunner().invoke(main, ["validate", str(bad), "--suggestion-service", f"ladder={address}"])
    assert result.exit_code == 2
    assert "unknown setting 'stride' for ladder" in result.output
    good = experiment_file(tmp_path, [{"name": "step", "value": "2"}])
    assert CliRunner().invoke(main, ["validate", str(good), "--suggestion-service", f"ladder={address}"]).exit_code == 0


def test_a_malformed_service_option_is_refused_before_anything_runs(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(experiment_file(tmp_path)), "--suggestion-service", "ladder"])
    assert result.exit_code == 2
    assert "expected NAME=HOST:PORT" in result.output


def test_a_compiled_workflows_suggest_step_calls_the_service_named_at_compile_time(
    ladder: tuple[LadderService, str], tmp_path: Path
) -> None:
    from katib_flow.spec import load_experiment

    from ..argo_tests.test_workflow_runs import run_on_argo, sqlite_url
    from ..cluster_tests.fake_kubernetes import fake_kubernetes

    service, address = ladder
    wire = load_experiment(experiment_file(tmp_path))  # algorithm "ladder": only the service knows it
    db_url = sqlite_url(tmp_path)
    with fake_kubernetes() as (kube, _):
        argo = run_on_argo(wire, db_url, kube, tmp_path / "argo", suggestion_services=(("ladder", address),))
    suggest = next(t for t in argo.workflow["spec"]["templates"] if t["name"] == "suggest")
    assert {"name": "KATIB_FLOW_SUGGESTION_SERVICES", "value": f"ladder={address}"} in suggest["container"]["env"]
    with Store(db_url) as store, store.session() as session:
        from sqlalchemy import select

        from katib_flow.store import TrialRow

        values = sorted(a[0]["value"] for (a,) in session.execute(select(TrialRow.assignments)))
    assert values == ["0.1", "0.2", "0.3", "0.4"] and service.requests


def test_a_suggestion_image_runs_as_a_daemoned_step_that_the_suggest_step_asks(tmp_path: Path) -> None:
    from katib_flow.argo.compiler import CompileOptions, compile_workflow
    from katib_flow.spec import load_experiment

    from ..argo_tests.test_workflow_runs import run_on_argo, sqlite_url
    from ..argo_tests.workflow_checks import schema_errors, semantic_errors
    from ..cluster_tests.fake_kubernetes import fake_kubernetes

    wire = load_experiment(experiment_file(tmp_path))
    options = CompileOptions(suggestion_images=(("ladder", "registry.local/ladder:1"),))
    document = yaml.safe_load(compile_workflow(wire, options).to_yaml())
    assert schema_errors(document) == [] and semantic_errors(document) == []
    (daemon,) = [t for t in document["spec"]["templates"] if t.get("daemon")]
    assert daemon["container"]["image"] == "registry.local/ladder:1"
    assert daemon["container"]["readinessProbe"]["grpc"] == {"port": 6789, "service": "manager.v1beta1.Suggestion"}
    # The "pod" of the daemon: the test serves the ladder on a loopback address of its own, on Katib's port
    api, stubs = katib_modules()
    service = LadderService(api)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    stubs.add_SuggestionServicer_to_server(service, server)
    if server.add_insecure_port("127.0.0.47:6789") == 0:
        pytest.skip("127.0.0.47:6789 is taken on this machine")
    server.start()
    try:
        db_url = sqlite_url(tmp_path)
        with fake_kubernetes() as (kube, _):
            run_on_argo(
                wire,
                db_url,
                kube,
                tmp_path / "argo",
                daemons={"registry.local/ladder:1": "127.0.0.47"},
                suggestion_images=options.suggestion_images,
            )
    finally:
        server.stop(0)
    with Store(db_url) as store, store.session() as session:
        from sqlalchemy import select

        from katib_flow.store import TrialRow

        values = sorted(a[0]["value"] for (a,) in session.execute(select(TrialRow.assignments)))
    assert values == ["0.1", "0.2", "0.3", "0.4"] and service.requests


class MedianService:
    """Katib's medianstop in miniature: reads finished trials' logs from the DBManager the request names."""

    def __init__(self, api: ModuleType, stubs: ModuleType) -> None:
        self.api, self.stubs = api, stubs
        self.read: list[tuple[str, list[float]]] = []

    def GetEarlyStoppingRules(self, request: Any, context: Any) -> Any:
        reply = self.api.GetEarlyStoppingRulesReply()
        means = []
        with grpc.insecure_channel(request.db_manager_address) as channel:
            db = self.stubs.DBManagerStub(channel)
            for trial in request.trials:
                if trial.status.condition != self.api.TrialStatus.SUCCEEDED:
                    continue
                got = db.GetObservationLog(self.api.GetObservationLogRequest(trial_name=trial.name, metric_name="loss"))
                values = [float(m.metric.value) for m in got.observation_log.metric_logs]
                self.read.append((trial.name, values))
                means.append(sum(values) / len(values))
        if means:
            median = sorted(means)[len(means) // 2]
            reply.early_stopping_rules.add(name="loss", value=str(median), comparison=self.api.GREATER, start_step=2)
        return reply

    def ValidateEarlyStoppingSettings(self, request: Any, context: Any) -> Any:
        return self.api.ValidateEarlyStoppingSettingsReply()

    def SetTrialStatus(self, request: Any, context: Any) -> Any:
        return self.api.SetTrialStatusReply()


SLOW = (
    "import sys, time\n"
    "x = float(sys.argv[1])\n"
    "for step in range(30):\n"
    "    print(f'loss={x + 0.1 / (step + 1):.6f}', flush=True)\n"
    "    time.sleep(0.05)\n"
)


def test_a_local_run_stops_trials_by_the_rules_of_a_katib_early_stopping_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, stubs = katib_modules()
    service = MedianService(api, stubs)
    monkeypatch.delenv("KATIB_FLOW_EARLY_STOPPING_SERVICES", raising=False)
    path = experiment_file(tmp_path)
    path.write_text(yaml.safe_dump(median_stopped(tmp_path)))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with serving(stubs.add_EarlyStoppingServicer_to_server, service) as address:
        args = ["run", str(path), "--db", db, "--workdir", str(tmp_path / "wd"), "--quiet"]
        result = CliRunner().invoke(main, [*args, "--early-stopping-service", f"mini-median={address}"])
    assert result.exit_code == 0, result.output
    with Store(db) as store, store.session() as session:
        from sqlalchemy import select

        from katib_flow.store import TrialRow

        states = [s for (s,) in session.execute(select(TrialRow.state).order_by(TrialRow.seq))]
    assert states[0] == "Succeeded" and "EarlyStopped" in states[1:]
    # the service read the first trial's 30 losses through the DBManager address katib-flow gave it
    assert service.read and len(service.read[0][1]) == 30


def test_on_argo_the_steps_ask_the_early_stopping_service_named_at_compile_time(tmp_path: Path) -> None:
    from katib_flow.spec import parse_experiment

    from ..argo_tests.test_workflow_runs import run_on_argo, sqlite_url
    from ..cluster_tests.fake_kubernetes import fake_kubernetes

    api, stubs = katib_modules()
    service = MedianService(api, stubs)
    document = median_stopped(tmp_path)
    db_url = sqlite_url(tmp_path)
    with serving(stubs.add_EarlyStoppingServicer_to_server, service) as address, fake_kubernetes() as (kube, _):
        argo = run_on_argo(
            parse_experiment(yaml.safe_dump(document)),
            db_url,
            kube,
            tmp_path / "argo",
            early_stopping_services=(("mini-median", address),),
        )
    suggest = next(t for t in argo.workflow["spec"]["templates"] if t["name"] == "suggest")
    env = {e["name"]: e for e in suggest["container"]["env"]}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    with Store(db_url) as store, store.session() as session:
        from sqlalchemy import select

        from katib_flow.store import TrialRow

        states = [s for (s,) in session.execute(select(TrialRow.state).order_by(TrialRow.seq))]
    assert states[0] == "Succeeded" and "EarlyStopped" in states[1:] and service.read


def test_an_unreachable_service_is_retried_with_backoff_then_one_line_naming_it() -> None:
    import socket

    from katib_flow.katib_api.client import RETRY_SECONDS, ServiceError, SuggestionClient
    from katib_flow.katib_api.messages import message

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pauses: list[float] = []
    client = SuggestionClient("ladder", f"127.0.0.1:{port}", timeout=2, sleep=pauses.append)
    with pytest.raises(ServiceError) as raised:
        client.call("GetSuggestions", message("GetSuggestionsRequest")(), "GetSuggestionsReply")
    assert str(raised.value).startswith(f"suggestion service 'ladder' at 127.0.0.1:{port}: unreachable: ")
    assert "\n" not in str(raised.value)
    assert pauses[:4] == [0.5, 1.0, 2.0, 4.0] and max(pauses) == 10.0  # backoff, capped
    assert sum(pauses) >= RETRY_SECONDS
