"""Calling a Katib algorithm service: any service that speaks Katib's ``Suggestion`` API, in any language.

``KATIB_FLOW_SUGGESTION_SERVICES`` (``NAME=HOST:PORT,...``, set by ``run``,
``validate`` and ``compile`` from ``--suggestion-service``) points algorithm
names at services; an experiment whose algorithm is one of them gets its
trials from the service (:class:`GrpcSuggester`) instead of katib-flow's own
algorithm, and ``validate`` asks the service's ``ValidateAlgorithmSettings``.

Calls are retried with backoff while the service is unreachable
(``UNAVAILABLE``, ``DEADLINE_EXCEEDED``) for up to :data:`RETRY_SECONDS`; then
the run stops with one line naming the service, and every finished trial is
already stored (``run --resume`` goes on).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc

from ..algorithms import SUGGESTION_SERVICES_ENV as SERVICES_ENV
from ..algorithms.base import Suggester
from ..exceptions import KatibFlowError, Problem
from ..history import Proposal, TrialRecord
from ..settings import SettingsModel
from ..space import SearchSpace
from ..spec.models import Experiment, ExperimentSpec
from .convert import TRIAL_DATA, experiment_message, spec_experiment, trial_messages
from .messages import PACKAGE, message

__all__ = [
    "RETRY_SECONDS",
    "SERVICES_ENV",
    "VALIDATE_RETRY_SECONDS",
    "GrpcSuggester",
    "ServiceError",
    "SuggestionClient",
    "format_services",
    "parse_services",
    "remote_algorithm_problems",
    "services",
]

RETRY_SECONDS = 60.0
VALIDATE_RETRY_SECONDS = 10.0  # validate answers sooner: nobody's trials are waiting on it
_RETRIED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
_SETTINGS = "katibAlgorithmSettings"  # in a proposal's data: the settings the service returned with it


class ServiceError(KatibFlowError, RuntimeError):
    """A Katib algorithm service could not be reached, or answered with an error (``code``; None: not a call)."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code


def parse_services(entries: Sequence[str]) -> dict[str, str]:
    """``["random=host:6789", ...]`` (or comma-separated strings) as {algorithm: address}; ValueError if malformed."""
    found: dict[str, str] = {}
    for entry in (part.strip() for text in entries for part in text.split(",")):
        if not entry:
            continue
        name, sep, address = entry.partition("=")
        host, colon, port = address.rpartition(":")
        if not sep or not name or not colon or not host or not port.isdigit():
            raise ValueError(f"{entry!r}: expected NAME=HOST:PORT (e.g. random=katib-random:6789)")
        found[name.strip()] = address.strip()
    return found


def format_services(found: Mapping[str, str]) -> str:
    return ",".join(f"{name}={address}" for name, address in sorted(found.items()))


def services(variable: str = SERVICES_ENV) -> dict[str, str]:
    """The services this process is configured with in ``variable`` (``NAME=HOST:PORT,...``)."""
    try:
        return parse_services([os.environ.get(variable, "")])
    except ValueError as err:
        raise ServiceError(f"{variable}: {err}") from None


class SuggestionClient:
    """Katib's ``Suggestion`` (or ``EarlyStopping``) service at ``address``, for algorithm ``name``."""

    def __init__(
        self,
        name: str,
        address: str,
        *,
        service: str = "Suggestion",
        timeout: float = 60.0,
        retry_seconds: float = RETRY_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name, self.address, self.service, self.timeout, self._sleep = name, address, service, timeout, sleep
        self.retry_seconds = retry_seconds
        self._channel = grpc.insecure_channel(address)

    def call(self, method: str, request: Any, reply: str) -> Any:
        stub = self._channel.unary_unary(
            f"/{PACKAGE}.{self.service}/{method}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=message(reply).FromString,
        )
        waited, pause = 0.0, 0.5
        while True:
            try:
                return stub(request, timeout=self.timeout)
            except grpc.RpcError as err:
                code = err.code()
                if code not in _RETRIED or waited >= self.retry_seconds:
                    raise ServiceError(self._describe(code, err.details()), code) from None
            self._sleep(pause)
            waited += pause
            pause = min(pause * 2, 10.0)

    def _describe(self, code: grpc.StatusCode, details: str | None) -> str:
        what = "unreachable" if code in _RETRIED else f"answered {code.name}"
        kind = "suggestion" if self.service == "Suggestion" else "early-stopping"
        return f"{kind} service {self.name!r} at {self.address}: {what}: {details or 'no details'}"

    def refusals(self, method: str, request: Any, reply: str, path: str) -> list[Problem]:
        """A Validate* call: [] when the service accepts, else its refusal (INVALID_ARGUMENT) at ``path``."""
        try:
            self.call(method, request, reply)
        except ServiceError as err:
            if err.code is not grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return [Problem(path, str(err))]
        return []


def remote_algorithm_problems(name: str, spec: ExperimentSpec) -> list[Problem] | None:
    """The ValidateAlgorithmSettings answer of the service configured for algorithm ``name`` (None: none is)."""
    address = services().get(name)
    if address is None:
        return None
    client = SuggestionClient(name, address, retry_seconds=VALIDATE_RETRY_SECONDS)
    request = message("ValidateAlgorithmSettingsRequest")(experiment=experiment_message(spec_experiment(spec)))
    return client.refusals("ValidateAlgorithmSettings", request, "ValidateAlgorithmSettingsReply", "spec.algorithm")


class GrpcSuggester(Suggester[SettingsModel]):
    """Proposals from a Katib algorithm service, requested as Katib's suggestion controller requests them.

    Stateless as katib-flow's own suggesters: the history goes in whole; the
    settings the service returns (Katib's hyperband keeps its state there) and
    the data it attaches per trial are kept in each proposal's data and sent
    back with the next request.
    """

    settings_class = SettingsModel

    def __init__(self, client: SuggestionClient, experiment: Experiment, seed: int) -> None:
        spec = experiment.spec
        assert spec.objective is not None
        super().__init__(SearchSpace.from_spec(spec), spec.objective.type or "minimize", SettingsModel(), seed)
        self.client, self.experiment = client, experiment

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        spec = self.experiment.spec
        assert spec.objective is not None and spec.algorithm is not None
        settings = next((t.data[_SETTINGS] for t in reversed(history) if _SETTINGS in t.data), None)
        pairs = [tuple(pair) for pair in settings] if settings is not None else None
        data = {t.name: {k: v for k, v in t.data.items() if k != _SETTINGS} for t in history if t.data}
        data = {name: values for name, values in data.items() if values}
        experiment = experiment_message(self.experiment, pairs)
        if data:
            experiment.spec.algorithm.algorithm_settings.add(name=TRIAL_DATA, value=json.dumps(data, sort_keys=True))
        request = message("GetSuggestionsRequest")(
            experiment=experiment,
            trials=trial_messages(history, spec.objective.objective_metric_name or ""),
            current_request_number=n,
            total_request_number=len(history) + n,
        )
        try:
            reply = self.client.call("GetSuggestions", request, "GetSuggestionsReply")
        except ServiceError as err:
            if err.code in (grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.FAILED_PRECONDITION):
                return []  # exhausted, or waiting for running trials: the engine tells the two apart
            raise
        returned = [(s.name, s.value) for s in reply.algorithm.algorithm_settings if s.name != TRIAL_DATA]
        kept = next((s.value for s in reply.algorithm.algorithm_settings if s.name == TRIAL_DATA), "")
        by_name = json.loads(kept) if kept else {}
        proposals = []
        for item in list(reply.parameter_assignments)[:n]:
            attached = dict(by_name.get(item.trial_name, {})) if item.trial_name else {}
            attached[_SETTINGS] = returned
            if item.labels:  # Katib puts them on the Trial (pbt: generation and parent)
                attached["labels"] = dict(item.labels)
            proposals.append(Proposal({a.name: a.value for a in item.assignments}, attached))
        return proposals
