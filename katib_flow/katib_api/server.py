"""``katib-flow serve``: the gRPC server that makes katib-flow a Katib algorithm service (and DBManager).

One server offers ``api.v1.beta1.Suggestion`` and ``api.v1.beta1.EarlyStopping``
for every katib-flow algorithm (the request names the algorithm), the
standard ``grpc.health.v1.Health`` (from ``grpcio-health-checking``, as
Katib's suggestion Deployments are probed), and with a store also
``api.v1.beta1.DBManager``. Handlers are registered from
:data:`~katib_flow.katib_api.messages.METHODS` with the messages' own
serializers: no generated stubs.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from ..engine import Outcome, finish_trial
from ..exceptions import KatibFlowError
from ..store import Store
from .algorithms import EarlyStoppingService, ObservationSource, SuggestionService
from .dbmanager import DBManagerService
from .messages import METHODS, PACKAGE, message

__all__ = ["KatibServer", "grpc_server", "serve", "service_handler", "start"]

log = logging.getLogger("katib_flow.serve")


@dataclass
class KatibServer:
    """A started server; ``port`` is the one bound (useful with port 0)."""

    server: grpc.Server
    port: int
    health: health.HealthServicer

    def stop(self, grace: float = 5.0) -> None:
        self.health.enter_graceful_shutdown()  # probes see NOT_SERVING while calls in flight finish
        self.server.stop(grace).wait()


def start(host: str = "0.0.0.0", port: int = 6789, store: Store | None = None, workers: int = 8) -> KatibServer:
    """Start serving; raises KatibFlowError naming the address when it cannot be bound."""
    server = grpc_server(workers)
    channels: dict[str, grpc.Channel] = {}  # one per DBManager address early-stopping requests name
    services: dict[str, Any] = {
        "Suggestion": SuggestionService(),
        "EarlyStopping": EarlyStoppingService(
            lambda address: _observations(address, store, channels), _stopper(store) if store is not None else None
        ),
    }
    if store is not None:
        services["DBManager"] = DBManagerService(store)
    for name, servicer in services.items():
        server.add_generic_rpc_handlers((service_handler(name, servicer),))
    checker = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if bound == 0:
        raise KatibFlowError(f"cannot listen on {host}:{port}: the port is in use or the address is not this host's")
    server.start()
    # Katib's suggestion Deployment probes "manager.v1beta1.Suggestion" (DefaultGRPCService in
    # pkg/controller.v1beta1/consts/const.go), the name its own services register; the package's names too.
    names = ["", *(f"{PACKAGE}.{s}" for s in services), *(f"manager.v1beta1.{s}" for s in services)]
    for name in names:
        checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    return KatibServer(server, bound, checker)


def serve(host: str, port: int, store: Store | None, workers: int = 8, grace: float = 5.0) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully (calls in flight get ``grace`` seconds)."""
    running = start(host, port, store, workers)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    services = "Suggestion, EarlyStopping" + (", DBManager" if store is not None else "")
    log.info("serving", extra={"address": f"{host}:{running.port}", "services": services})
    stopped.wait()
    log.info("stopping", extra={"grace_seconds": grace})
    running.stop(grace)


def grpc_server(workers: int) -> grpc.Server:
    """A gRPC server without SO_REUSEPORT (gRPC's default: a second server on a busy port would share it)."""
    return grpc.server(futures.ThreadPoolExecutor(max_workers=workers), options=[("grpc.so_reuseport", 0)])


def service_handler(service: str, servicer: Any) -> grpc.GenericRpcHandler:
    """The handler of Katib's ``service`` for the methods ``servicer`` defines, with Katib's messages."""
    handlers = {}
    for method, (request, reply) in METHODS[service].items():
        if not hasattr(servicer, method):
            continue
        handlers[method] = grpc.unary_unary_rpc_method_handler(
            _logged(service, method, getattr(servicer, method)),
            request_deserializer=message(request).FromString,
            response_serializer=message(reply).SerializeToString,
        )
    return grpc.method_handlers_generic_handler(f"{PACKAGE}.{service}", handlers)


def _logged(service: str, method: str, call: Any) -> Any:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return call(request, context)
        except Exception:
            # an abort is the answer (its code is set); anything else is a bug to see in the log
            if getattr(context, "code", lambda: None)() is None:
                log.exception("call failed", extra={"method": f"{service}/{method}"})
            raise

    return handle


def _observations(address: str, store: Store | None, channels: dict[str, grpc.Channel]) -> ObservationSource:
    """Where the early-stopping service reads intermediate values: the request's DBManager, else the store."""
    if address:
        channel = channels.get(address) or channels.setdefault(address, grpc.insecure_channel(address))
        get = channel.unary_unary(
            f"/{PACKAGE}.DBManager/GetObservationLog",
            request_serializer=message("GetObservationLogRequest").SerializeToString,
            response_deserializer=message("GetObservationLogReply").FromString,
        )

        def remote(trial: str, metric: str, _experiment: str) -> list[float]:
            request = message("GetObservationLogRequest")(trial_name=trial, metric_name=metric)
            reply = get(request, timeout=30)
            return _numbers(log.metric.value for log in reply.observation_log.metric_logs)

        return remote
    if store is None:
        return lambda *_: []

    def local(trial: str, metric: str, _experiment: str) -> list[float]:
        from ..engine.observation_log import observation_log

        return _numbers(o.value for o in observation_log(store, trial, metric))

    return local


def _stopper(store: Store) -> Any:
    def mark(trial: str) -> None:
        from ..engine.observation_log import trial_by_name

        experiment_id = store.transaction(lambda session: trial_by_name(session, trial, store))
        finish_trial(store, experiment_id, trial, Outcome.EARLY_STOPPED, "Trial is early stopped (SetTrialStatus)")

    return mark


def _numbers(values: Any) -> list[float]:
    found = []
    for value in values:
        try:
            found.append(float(value))
        except ValueError:
            continue
    return found


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line: time, level, message and the call's fields (structured logs for a cluster)."""

    _STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname.lower(), "msg": record.getMessage()}
        entry.update({k: v for k, v in record.__dict__.items() if k not in self._STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(message)s"))
    root = logging.getLogger("katib_flow.serve")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
