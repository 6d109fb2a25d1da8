"""The DBManager service over katib-flow's store: how Katib's SDK and Custom collectors report metrics.

``ReportObservationLog`` is what Katib's SDK ``report_metrics`` and Katib's
metrics collectors call; ``GetObservationLog`` is what Katib's medianstop
service and UI read. Times are RFC 3339 (Katib sends ``RFC3339Nano``, UTC);
values are kept as the strings they are sent as, as Katib does.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import grpc

from ..collectors import Observation
from ..engine.clock import now, to_naive_utc
from ..engine.observation_log import delete_observation_log, observation_log, report_observation_log
from ..exceptions import StorageError
from ..store import Store
from .messages import message

__all__ = ["DBManagerService", "format_time", "parse_time"]

_FRACTION = re.compile(r"\.(\d+)")


class DBManagerService:
    """``api.v1.beta1.DBManager`` over a katib-flow store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def ReportObservationLog(self, request: Any, context: grpc.ServicerContext) -> Any:
        observations = []
        for log in request.observation_log.metric_logs:
            stamp = parse_time(log.time_stamp) if log.time_stamp else now()
            if stamp is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"time_stamp {log.time_stamp!r} is not RFC 3339")
            observations.append(Observation(log.metric.name, log.metric.value, stamp))
        try:
            report_observation_log(self.store, request.trial_name, observations)
        except StorageError as err:
            context.abort(grpc.StatusCode.NOT_FOUND, str(err))
        return message("ReportObservationLogReply")()

    def GetObservationLog(self, request: Any, context: grpc.ServicerContext) -> Any:
        bounds = [parse_time(t) if t else None for t in (request.start_time, request.end_time)]
        for given, parsed in zip((request.start_time, request.end_time), bounds, strict=True):
            if given and parsed is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{given!r} is not an RFC 3339 time")
        try:
            found = observation_log(self.store, request.trial_name, request.metric_name, *bounds)
        except StorageError as err:
            context.abort(grpc.StatusCode.NOT_FOUND, str(err))
        reply = message("GetObservationLogReply")()
        for observation in found:
            log = reply.observation_log.metric_logs.add(time_stamp=format_time(observation.timestamp))
            log.metric.name, log.metric.value = observation.metric, observation.value
        return reply

    def DeleteObservationLog(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            delete_observation_log(self.store, request.trial_name)
        except StorageError as err:
            context.abort(grpc.StatusCode.NOT_FOUND, str(err))
        return message("DeleteObservationLogReply")()


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time (fractions up to nanoseconds, ``Z`` or an offset) as naive UTC; None if it is not one."""
    normalized = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text.strip()).replace("Z", "+00:00")
    try:
        stamp = datetime.fromisoformat(normalized)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return to_naive_utc(stamp)


def format_time(stamp: datetime) -> str:
    """Katib's form: RFC 3339 in UTC with microseconds."""
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
