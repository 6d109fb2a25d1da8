"""Validation of ``spec.metricsCollectorSpec`` (run after defaulting)."""

from __future__ import annotations

import posixpath
import re

from ..exceptions import Problem
from . import constants as c
from .models import ExperimentSpec, FileSystemPath, MetricsCollectorSpec
from .paths import SPEC, FieldPath

__all__ = ["validate_metrics_collector"]

PATH = SPEC.child("metricsCollectorSpec")
SOURCE = PATH.child("source")
FS_PATH = SOURCE.child("fileSystemPath")


def validate_metrics_collector(spec: ExperimentSpec) -> list[Problem]:
    mc = spec.metrics_collector_spec or MetricsCollectorSpec()
    kind = mc.collector.kind if mc.collector else None
    kind_path = PATH.child("collector").child("kind")
    problems: list[Problem] = []
    fs = mc.source.file_system_path if mc.source else None
    if kind == c.COLLECTOR_FILE:
        problems.extend(_file_system_problems(fs, c.FILE_KIND_FILE, "metrics file"))
        fmt = fs.format if fs else None
        if fmt not in (c.FORMAT_TEXT, c.FORMAT_JSON):
            problems.append(
                Problem(str(FS_PATH.child("format")), f"must be {c.FORMAT_TEXT} or {c.FORMAT_JSON} (got {fmt!r})")
            )
        if fmt == c.FORMAT_JSON and mc.source and mc.source.filter is not None:
            problems.append(
                Problem(str(SOURCE.child("filter")), "must be omitted when the metrics file format is JSON")
            )
    elif kind == c.COLLECTOR_TFEVENT:
        problems.extend(_file_system_problems(fs, c.FILE_KIND_DIRECTORY, "event file directory"))
        if fs and fs.format:
            problems.append(
                Problem(str(FS_PATH.child("format")), f"must be empty for collector kind {kind} (got {fs.format!r})")
            )
    elif kind == c.COLLECTOR_CUSTOM:
        # Katib's rules (pkg/webhook/v1beta1/experiment/validator/validator.go, validateMetricsCollector)
        if not mc.collector or not mc.collector.custom_collector:
            problems.append(
                Problem(str(PATH.child("collector").child("customCollector")), "required for collector kind Custom")
            )
        elif not mc.collector.custom_collector.get("image"):
            problems.append(Problem(str(PATH.child("collector").child("customCollector").child("image")), "required"))
        if fs is not None and (
            not fs.path or not posixpath.isabs(fs.path) or fs.kind not in (c.FILE_KIND_FILE, c.FILE_KIND_DIRECTORY)
        ):
            problems.append(
                Problem(
                    str(FS_PATH),
                    f"an absolute path of kind {c.FILE_KIND_FILE} or {c.FILE_KIND_DIRECTORY} "
                    f"(got path {fs.path!r}, kind {fs.kind!r})",
                )
            )
    elif kind in c.KATIB_ONLY_COLLECTORS:
        problems.append(
            Problem(
                str(kind_path),
                f"collector kind {kind} is not supported by katib-flow "
                f"(use one of {', '.join(c.SUPPORTED_COLLECTORS)})",
            )
        )
    elif kind not in c.SUPPORTED_COLLECTORS:
        problems.append(
            Problem(
                str(kind_path), f"invalid metrics collector kind {kind!r} (one of {', '.join(c.SUPPORTED_COLLECTORS)})"
            )
        )
    if mc.source and mc.source.filter and mc.source.filter.metrics_format:
        problems.extend(
            _filter_problems(mc.source.filter.metrics_format, SOURCE.child("filter").child("metricsFormat"))
        )
    return problems


def _file_system_problems(fs: FileSystemPath | None, want_kind: str, what: str) -> list[Problem]:
    problems = []
    if fs is None or not fs.path or not posixpath.isabs(fs.path):
        got = f" (got {fs.path!r})" if fs and fs.path else ""
        problems.append(Problem(str(FS_PATH.child("path")), f"the absolute path of the {what} is required{got}"))
    if fs is not None and fs.kind != want_kind:
        problems.append(Problem(str(FS_PATH.child("kind")), f"must be {want_kind} (got {fs.kind!r})"))
    return problems


def _filter_problems(formats: list[str], path: FieldPath) -> list[Problem]:
    problems = []
    for i, pattern in enumerate(formats):
        try:
            groups = re.compile(pattern).groups
        except re.error as err:
            problems.append(Problem(str(path.index(i)), f"invalid regular expression {pattern!r}: {err}"))
            continue
        if groups < 2:
            problems.append(
                Problem(
                    str(path.index(i)),
                    "two top subexpressions are required, metric name then value "
                    f"(found {groups} group(s) in {pattern!r})",
                )
            )
    return problems
