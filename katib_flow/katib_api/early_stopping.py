"""Calling a Katib early-stopping service (``api.v1.beta1.EarlyStopping``) for an algorithm name.

``KATIB_FLOW_EARLY_STOPPING_SERVICES`` (``NAME=HOST:PORT,...``, set by
``--early-stopping-service``) points early-stopping algorithm names at
services; the stop rules of such an experiment come from the service's
``GetEarlyStoppingRules`` and its settings are checked by
``ValidateEarlyStoppingSettings``.

Katib's early-stopping services read the finished trials' intermediate
values themselves, from the DBManager at the request's ``db_manager_address``
(Katib's medianstop does). The rules are asked for inside the engine's
transaction, so that address is a DBManager of this process over a snapshot
of what the engine just read (every finished trial's reported objective
values), not over the store: the store's lock is held, and the snapshot is
exactly the history the rules are for. It listens on ``127.0.0.1``, or on
``$POD_IP`` in a Workflow step (the service reaches the step's pod there).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import grpc

from ..earlystopping import EARLY_STOPPING_SERVICES_ENV
from ..earlystopping.base import Comparison, EarlyStopper, StopRule
from ..engine.clock import now
from ..exceptions import Problem
from ..history import TrialRecord
from ..settings import SettingsModel
from ..spec.models import Experiment, ExperimentSpec
from .client import RETRY_SECONDS, VALIDATE_RETRY_SECONDS, ServiceError, SuggestionClient, services
from .convert import experiment_message, spec_experiment, trial_messages
from .dbmanager import format_time
from .messages import enum_name, message

__all__ = ["GrpcEarlyStopper", "early_stopping_client", "remote_early_stopping_problems"]

_COMPARISONS = {"EQUAL": Comparison.EQUAL, "LESS": Comparison.LESS, "GREATER": Comparison.GREATER}


def early_stopping_client(name: str, retry_seconds: float = RETRY_SECONDS) -> SuggestionClient | None:
    """A client of the early-stopping service configured for ``name``, if any."""
    address = services(EARLY_STOPPING_SERVICES_ENV).get(name)
    if address is None:
        return None
    return SuggestionClient(name, address, service="EarlyStopping", retry_seconds=retry_seconds)


def remote_early_stopping_problems(name: str, spec: ExperimentSpec) -> list[Problem] | None:
    """The ValidateEarlyStoppingSettings answer of the service configured for ``name`` (None: none is)."""
    client = early_stopping_client(name, retry_seconds=VALIDATE_RETRY_SECONDS)
    if client is None:
        return None
    request = message("ValidateEarlyStoppingSettingsRequest")(
        early_stopping=experiment_message(spec_experiment(spec)).spec.early_stopping
    )
    return client.refusals(
        "ValidateEarlyStoppingSettings", request, "ValidateEarlyStoppingSettingsReply", "spec.earlyStopping"
    )


class GrpcEarlyStopper(EarlyStopper[SettingsModel]):
    """Stop rules from a Katib early-stopping service, asked as Katib's suggestion controller asks."""

    settings_class = SettingsModel

    def __init__(self, client: SuggestionClient, experiment: Experiment) -> None:
        spec = experiment.spec
        assert spec.objective is not None
        super().__init__(spec.objective.objective_metric_name or "", spec.objective.type or "minimize", SettingsModel())
        self.client, self.experiment = client, experiment

    def rules(self, history: Sequence[TrialRecord]) -> list[StopRule]:
        server, address = _snapshot_db_manager(history, self.objective_metric)
        try:
            request = message("GetEarlyStoppingRulesRequest")(
                experiment=experiment_message(self.experiment),
                trials=trial_messages(history, self.objective_metric),
                db_manager_address=address,
            )
            reply = self.client.call("GetEarlyStoppingRules", request, "GetEarlyStoppingRulesReply")
        finally:
            server.stop(0)
        found = []
        for rule in reply.early_stopping_rules:
            comparison = _COMPARISONS.get(enum_name("ComparisonType", rule.comparison))
            if comparison is None:
                raise ServiceError(f"early-stopping service {self.client.name!r}: rule {rule.name!r} has no comparison")
            found.append(StopRule(rule.name, float(rule.value), comparison, rule.start_step))
        return found


class _SnapshotDBManager:
    """Katib's ``GetObservationLog`` over the objective values of a history (the only call medianstop makes)."""

    def __init__(self, history: Sequence[TrialRecord], metric: str) -> None:
        self.series = {t.name: t.objective_series for t in history}
        self.metric = metric

    def GetObservationLog(self, request: Any, context: grpc.ServicerContext) -> Any:
        reply = message("GetObservationLogReply")()
        if request.metric_name and request.metric_name != self.metric:
            return reply
        stamp = format_time(now())
        for value in self.series.get(request.trial_name, ()):
            log = reply.observation_log.metric_logs.add(time_stamp=stamp)
            log.metric.name, log.metric.value = self.metric, repr(value)
        return reply


def _snapshot_db_manager(history: Sequence[TrialRecord], metric: str) -> tuple[grpc.Server, str]:
    """A DBManager serving the objective values in ``history`` (GetObservationLog only), and its address."""
    from .server import grpc_server, service_handler

    server = grpc_server(2)
    server.add_generic_rpc_handlers((service_handler("DBManager", _SnapshotDBManager(history, metric)),))
    host = os.environ.get("POD_IP") or "127.0.0.1"
    port = server.add_insecure_port(f"{host}:0")
    server.start()
    return server, f"{host}:{port}"
