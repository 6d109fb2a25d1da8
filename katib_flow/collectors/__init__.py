"""Metrics collectors: StdOut, File (TEXT and JSON), TensorFlowEvent; Push goes through the store."""

from __future__ import annotations

from collections.abc import Sequence

from ..exceptions import CollectorError
from ..spec import constants as c
from ..spec.models import MetricsCollectorSpec, ObjectiveSpec
from .base import Collector, Observation, as_number, utc_now
from .json_lines import JsonLinesCollector
from .strategies import MetricSummary, objective_value, summarize
from .text import TextCollector, parse_rfc3339
from .tfevent import TensorFlowEventCollector

__all__ = [
    "Collector",
    "JsonLinesCollector",
    "MetricSummary",
    "Observation",
    "TensorFlowEventCollector",
    "TextCollector",
    "as_number",
    "line_collector",
    "metric_names",
    "objective_value",
    "parse_rfc3339",
    "summarize",
    "utc_now",
]


def metric_names(objective: ObjectiveSpec) -> list[str]:
    """The metrics a trial reports: the objective metric, then the additional ones."""
    return [objective.objective_metric_name or "", *(objective.additional_metric_names or [])]


def line_collector(spec: MetricsCollectorSpec, metric_names: Sequence[str]) -> Collector | None:
    """The line parser for a (defaulted) collector spec: StdOut and File read lines; others do not."""
    kind = spec.collector.kind if spec.collector else c.COLLECTOR_STDOUT
    filters = list(spec.source.filter.metrics_format or []) if spec.source and spec.source.filter else []
    if kind == c.COLLECTOR_STDOUT:
        return TextCollector(metric_names, filters)
    if kind == c.COLLECTOR_FILE:
        fs = spec.source.file_system_path if spec.source else None
        if fs is not None and fs.format == c.FORMAT_JSON:
            return JsonLinesCollector(metric_names)
        return TextCollector(metric_names, filters)
    if kind in (c.COLLECTOR_TFEVENT, c.COLLECTOR_PUSH):
        return None
    raise CollectorError(f"collector kind {kind!r} is not supported by katib-flow")
