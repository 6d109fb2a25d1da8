"""``katib-flow serve`` driven exactly as Katib drives an algorithm service, through Katib's own generated stubs.

The requests are built the way Katib's suggestion controller builds them
(``suggestionclient.go``: ``ConvertExperiment``, ``ConvertTrials``, request
numbers), from messages compiled from Katib's ``api.proto``.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from katib_flow import Experiment as DslExperiment
from katib_flow import algorithm, minimize, search
from katib_flow.engine import finish_trial, init_experiment, reserve_trials
from katib_flow.engine.trials import Outcome
from katib_flow.katib_api.server import KatibServer, start
from katib_flow.store import Store

from .katib_proto import katib_modules


@pytest.fixture(scope="module")
def katib() -> tuple[ModuleType, ModuleType]:
    return katib_modules()


@pytest.fixture
def served(tmp_path: Any) -> Iterator[tuple[KatibServer, grpc.Channel, Store]]:
    with Store(f"sqlite:///{tmp_path / 'serve.db'}") as store:
        server = start("127.0.0.1", 0, store, workers=4)
        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        try:
            yield server, channel, store
        finally:
            channel.close()
            server.stop(0)


def experiment(
    api: ModuleType, name: str = "random", settings: dict[str, str] | None = None, max_trials: int = 12
) -> Any:
    """Katib's random example, as ConvertExperiment sends it."""
    e = api.Experiment(name=name)
    spec = e.spec
    spec.algorithm.algorithm_name = name
    for key, value in (settings or {}).items():
        spec.algorithm.algorithm_settings.add(name=key, value=value)
    spec.objective.type = api.MINIMIZE
    spec.objective.objective_metric_name = "loss"
    spec.objective.additional_metric_names.append("accuracy")
    lr = spec.parameter_specs.parameters.add(name="lr", parameter_type=api.DOUBLE)
    lr.feasible_space.min, lr.feasible_space.max = "0.01", "0.05"
    layers = spec.parameter_specs.parameters.add(name="num-layers", parameter_type=api.INT)
    layers.feasible_space.min, layers.feasible_space.max = "2", "5"
    optimizer = spec.parameter_specs.parameters.add(name="optimizer", parameter_type=api.CATEGORICAL)
    optimizer.feasible_space.list.extend(["sgd", "adam", "ftrl"])
    spec.parallel_trial_count, spec.max_trial_count = 3, max_trials
    return e


def finished(api: ModuleType, name: str, assignments: dict[str, str], loss: float | None) -> Any:
    """A trial as ConvertTrials sends it: assignments, latest condition, the metric after its strategy."""
    trial = api.Trial(name=name)
    for key, value in assignments.items():
        trial.spec.parameter_assignments.assignments.add(name=key, value=value)
    trial.spec.objective.objective_metric_name = "loss"
    if loss is None:
        trial.status.condition = api.TrialStatus.RUNNING
    else:
        trial.status.condition = api.TrialStatus.SUCCEEDED
        trial.status.observation.metrics.add(name="loss", value=str(loss))
    return trial


def assignments(reply: Any) -> list[dict[str, str]]:
    return [{a.name: a.value for a in p.assignments} for p in reply.parameter_assignments]


def test_get_suggestions_answers_katibs_request_with_points_in_the_space(
    katib: tuple[ModuleType, ModuleType], served: tuple[KatibServer, grpc.Channel, Store]
) -> None:
    api, stubs = katib
    suggestion = stubs.SuggestionStub(served[1])
    request = api.GetSuggestionsRequest(experiment=experiment(api), current_request_number=3, total_request_number=3)
    reply = suggestion.GetSuggestions(request, timeout=30)
    points = assignments(reply)
    assert len(points) == 3  # Katib's controller rejects any other number
    for point in points:
        assert 0.01 <= float(point["lr"]) <= 0.05 and point["num-layers"] in {"2", "3", "4", "5"}
        assert point["optimizer"] in {"sgd", "adam", "ftrl"}
    names = [p.trial_name for p in reply.parameter_assignments]
    assert len(set(names)) == 3 and all(n.startswith("random-") for n in names)
    # Stateless: the same request gets the same answer, from a fresh server too (any replica, any restart)
    assert suggestion.GetSuggestions(request, timeout=30) == reply
    # The next request carries the finished trials (and a running one): new points, never a running one's
    trials = [finished(api, n, p, 0.1 * i) for i, (n, p) in enumerate(zip(names, points, strict=True))]
    trials[-1] = finished(api, names[-1], points[-1], None)
    later = api.GetSuggestionsRequest(
        experiment=experiment(api), trials=trials, current_request_number=2, total_request_number=5
    )
    again = assignments(suggestion.GetSuggestions(later, timeout=30))
    assert len(again) == 2 and not any(p in points for p in again)


def test_an_algorithm_that_keeps_data_gets_it_back_through_the_settings_katib_stores(
    katib: tuple[ModuleType, ModuleType], served: tuple[KatibServer, grpc.Channel, Store]
) -> None:
    import json

    api, stubs = katib
    suggestion = stubs.SuggestionStub(served[1])
    sobol = experiment(api, "sobol")
    request = api.GetSuggestionsRequest(experiment=sobol, current_request_number=3, total_request_number=3)
    reply = suggestion.GetSuggestions(request, timeout=30)
    settings = {s.name: s.value for s in reply.algorithm.algorithm_settings}
    names = [p.trial_name for p in reply.parameter_assignments]
    # each proposal's place in the Sobol sequence, by trial name
    assert sorted(json.loads(settings["katib-flow-trial-data"])) == sorted(names)
    # Katib puts the reply's settings in the Suggestion's status and sends them back with the experiment
    # (appendAlgorithmSettingsFromSuggestion); the sequence then goes on where it stopped
    for setting in reply.algorithm.algorithm_settings:
        sobol.spec.algorithm.algorithm_settings.add(name=setting.name, value=setting.value)
    trials = [finished(api, n, p, 1.0 + i) for i, (n, p) in enumerate(zip(names, assignments(reply), strict=True))]
    later = api.GetSuggestionsRequest(experiment=sobol, trials=trials, current_request_number=3, total_request_number=6)
    following = suggestion.GetSuggestions(later, timeout=30)
    kept = json.loads({s.name: s.value for s in following.algorithm.algorithm_settings}["katib-flow-trial-data"])
    assert len(kept) == 6 and not any(p in assignments(reply) for p in assignments(following))


def test_invalid_settings_are_invalid_argument_with_katib_flows_field_messages(
    katib: tuple[ModuleType, ModuleType], served: tuple[KatibServer, grpc.Channel, Store]
) -> None:
    api, stubs = katib
    suggestion = stubs.SuggestionStub(served[1])
    bad = api.ValidateAlgorithmSettingsRequest(experiment=experiment(api, settings={"random_stat": "3"}))
    with pytest.raises(grpc.RpcError) as raised:
        suggestion.ValidateAlgorithmSettings(bad, timeout=30)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    details = str(raised.value.details())
    assert details.startswith("spec.algorithm.algorithmSettings[0].name: unknown setting 'random_stat'")
    good = api.ValidateAlgorithmSettingsRequest(experiment=experiment(api, settings={"random_state": "3"}))
    assert suggestion.ValidateAlgorithmSettings(good, timeout=30) == api.ValidateAlgorithmSettingsReply()
    grid = api.ValidateAlgorithmSettingsRequest(experiment=experiment(api, "grid", max_trials=500))
    with pytest.raises(grpc.RpcError) as too_many:  # lr is continuous without a step: Katib's grid refuses it
        suggestion.ValidateAlgorithmSettings(grid, timeout=30)
    assert too_many.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_an_exhausted_grid_answers_out_of_range_and_a_waiting_one_failed_precondition(
    katib: tuple[ModuleType, ModuleType], served: tuple[KatibServer, grpc.Channel, Store]
) -> None:
    api, stubs = katib
    suggestion = stubs.SuggestionStub(served[1])
    grid = api.Experiment(name="grid")
    grid.spec.algorithm.algorithm_name = "grid"
    grid.spec.objective.type, grid.spec.objective.objective_metric_name = api.MINIMIZE, "loss"
    x = grid.spec.parameter_specs.parameters.add(name="x", parameter_type=api.CATEGORICAL)
    x.feasible_space.list.extend(["a", "b"])
    first = suggestion.GetSuggestions(
        api.GetSuggestionsRequest(experiment=grid, current_request_number=2, total_request_number=2), timeout=30
    )
    names = [p.trial_name for p in first.parameter_assignments]
    points = assignments(first)
    running = [finished(api, n, p, None) for n, p in zip(names, points, strict=True)]
    with pytest.raises(grpc.RpcError) as waiting:
        suggestion.GetSuggestions(
            api.GetSuggestionsRequest(
                experiment=grid, trials=running, current_request_number=1, total_request_number=3
            ),
            timeout=30,
        )
    assert waiting.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    done = [finished(api, n, p, 1.0) for n, p in zip(names, points, strict=True)]
    with pytest.raises(grpc.RpcError) as exhausted:
        suggestion.GetSuggestions(
            api.GetSuggestionsRequest(experiment=grid, trials=done, current_request_number=1, total_request_number=3),
            timeout=30,
        )
    assert exhausted.value.code() is grpc.StatusCode.OUT_OF_RANGE
    assert "nothing more to suggest" in str(exhausted.value.details())


def test_the_health_service_reports_every_service_serving(
    served: tuple[KatibServer, grpc.Channel, Store],
) -> None:
    checker: Any = health_pb2_grpc.HealthStub(served[1])
    # "manager.v1beta1.Suggestion" is what Katib's suggestion Deployment's gRPC probes ask for
    names = ("", "manager.v1beta1.Suggestion", "api.v1.beta1.Suggestion", "api.v1.beta1.EarlyStopping")
    for service in (*names, "api.v1.beta1.DBManager"):
        answer = checker.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, service


def stored_experiment(store: Store, trials: int = 3) -> tuple[int, list[str]]:
    wire = DslExperiment(
        "served",
        objective=minimize("loss"),
        algorithm=algorithm("random", random_state=1),
        parameters={"x": search.double(0.0, 1.0)},
        image="python:3.11",
        command=["python3", "-c", "print(1)", "${trialParameters.x}"],
        max_trial_count=trials,
        parallel_trial_count=trials,
    ).to_model()
    stored = init_experiment(store, wire)
    reserved = reserve_trials(store, stored.id, [(i, 0) for i in range(trials)])
    return stored.id, [t.name for t in reserved if t is not None]


def test_the_db_manager_reports_reads_and_deletes_a_trials_observation_log(
    katib: tuple[ModuleType, ModuleType], served: tuple[KatibServer, grpc.Channel, Store]
) -> None:
    api, stubs = katib
    _, channel, store = served
    _, (trial, *_) = stored_experiment(store)
    db = stubs.DBManagerStub(channel)
    log = api.ObservationLog()
    for i, (stamp, value) in enumerate((("2026-12-01T10:00:00.123456789Z", "0.5"), ("2026-12-01T10:00:01Z", "0.25"))):
        entry = log.metric_logs.add(time_stamp=stamp)
        entry.metric.name, entry.metric.value = "loss", value
        if i == 1:
            other = log.metric_logs.add(time_stamp=stamp)
            other.metric.name, other.metric.value = "accuracy", "0.9"
    db.ReportObservationLog(api.ReportObservationLogRequest(trial_name=trial, observation_log=log), timeout=10)
    got = db.GetObservationLog(api.GetObservationLogRequest(trial_name=trial, metric_name="loss"), timeout=10)
    assert [(m.time_stamp, m.metric.value) for m in got.observation_log.metric_logs] == [
        ("2026-12-01T10:00:00.123456Z", "0.5"),
        ("2026-12-01T10:00:01.000000Z", "0.25"),
    ]
    since = db.GetObservationLog(
        api.GetObservationLogRequest(trial_name=trial, start_time="2026-12-01T10:00:00.5Z"), timeout=10
    )
    assert sorted(m.metric.name for m in since.observation_log.metric_logs) == ["accuracy", "loss"]
    db.DeleteObservationLog(api.DeleteObservationLogRequest(trial_name=trial), timeout=10)
    empty = db.GetObservationLog(api.GetObservationLogRequest(trial_name=trial), timeout=10)
    assert len(empty.observation_log.metric_logs) == 0
    with pytest.raises(grpc.RpcError) as unknown:
        db.GetObservationLog(api.GetObservationLogRequest(trial_name="nobody"), timeout=10)
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND


def test_medianstop_reads_the_finished_trials_logs_from_the_db_manager_katib_names(
    katib: tuple[ModuleType, ModuleType], served: tuple[KatibServer, grpc.Channel, Store]
) -> None:
    api, stubs = katib
    server, channel, store = served
    experiment_id, names = stored_experiment(store)
    db = stubs.DBManagerStub(channel)
    for name, losses in zip(names[:2], ([0.5, 0.4, 0.3], [0.7, 0.6, 0.5]), strict=False):
        log = api.ObservationLog()
        for i, loss in enumerate(losses):
            entry = log.metric_logs.add(time_stamp=f"2026-12-01T10:00:0{i}Z")
            entry.metric.name, entry.metric.value = "loss", str(loss)
        db.ReportObservationLog(api.ReportObservationLogRequest(trial_name=name, observation_log=log), timeout=10)
        finish_trial(store, experiment_id, name, Outcome.SUCCEEDED)
    spec = experiment(api)
    spec.spec.early_stopping.algorithm_name = "medianstop"
    spec.spec.early_stopping.algorithm_settings.add(name="min_trials_required", value="2")
    trials = [finished(api, n, {"x": "0.5"}, 0.3 + 0.2 * i) for i, n in enumerate(names[:2])]
    stopping = stubs.EarlyStoppingStub(channel)
    request = api.GetEarlyStoppingRulesRequest(
        experiment=spec, trials=trials, db_manager_address=f"127.0.0.1:{server.port}"
    )
    (rule,) = stopping.GetEarlyStoppingRules(request, timeout=30).early_stopping_rules
    # stop a trial whose loss is greater than the median of the finished trials' mean losses (0.4 and 0.6)
    assert (rule.name, rule.comparison) == ("loss", api.GREATER)
    assert float(rule.value) == pytest.approx(0.5)
    stopping.SetTrialStatus(api.SetTrialStatusRequest(trial_name=names[2]), timeout=10)
    with store.session() as session:
        from katib_flow.engine.trials import load_trial

        assert load_trial(session, experiment_id, names[2]).row.state == "EarlyStopped"
    bad = api.ValidateEarlyStoppingSettingsRequest(
        early_stopping=api.EarlyStoppingSpec(
            algorithm_name="medianstop", algorithm_settings=[api.EarlyStoppingSetting(name="start_step", value="-1")]
        )
    )
    with pytest.raises(grpc.RpcError) as invalid:
        stopping.ValidateEarlyStoppingSettings(bad, timeout=10)
    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "start_step" in str(invalid.value.details())
