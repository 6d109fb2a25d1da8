"""Collectors on Katib's own log formats, malformed input and huge logs."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from katib_flow.collectors import (
    JsonLinesCollector,
    Observation,
    TensorFlowEventCollector,
    TextCollector,
    line_collector,
    objective_value,
    parse_rfc3339,
    summarize,
)
from katib_flow.exceptions import CollectorError
from katib_flow.spec import CollectorSpec, FileSystemPath, FilterSpec, MetricsCollectorSpec, SourceSpec

READ = datetime(2030, 1, 1, tzinfo=timezone.utc)
# The pytorch-mnist-cpu and tf-mnist images print these lines (../shared/katib-examples/README.md).
KATIB_LOG = """2026-01-23T05:19:53Z INFO     Train Epoch: 1 [0/60000 (0%)]	loss=2.3012
2026-01-23T05:19:54Z INFO     {metricName: accuracy, metricValue: 0.8120};{metricName: loss, metricValue: 0.5011}
"""
FILE_FILTER = r"{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)}"


def _pairs(observations: list[Observation]) -> list[tuple[str, str]]:
    return [(o.metric, o.value) for o in observations]


def test_default_filter_on_katib_pod_log_uses_its_timestamps() -> None:
    found = TextCollector(["loss", "accuracy"]).parse(KATIB_LOG, READ)
    assert _pairs(found) == [("loss", "2.3012")]
    assert found[0].timestamp == datetime(2026, 1, 23, 5, 19, 53, tzinfo=timezone.utc)


def test_custom_filter_from_katibs_file_collector_example() -> None:
    found = TextCollector(["loss", "accuracy"], [FILE_FILTER]).parse(KATIB_LOG, READ)
    assert _pairs(found) == [("accuracy", "0.8120"), ("loss", "0.5011")]
    assert {o.timestamp for o in found} == {datetime(2026, 1, 23, 5, 19, 54, tzinfo=timezone.utc)}


def test_lines_without_timestamp_get_the_read_time_and_names_match_exactly() -> None:
    found = TextCollector(["loss"]).parse("epoch 1: loss=0.5 val_loss=0.7 loss_scale=3\n", READ)
    assert _pairs(found) == [("loss", "0.5")]
    assert found[0].timestamp == READ


def test_default_filter_numbers() -> None:
    text = "a=1 b=-2.5 c=+3e-4 d=.5 e=1E5 f=abc"
    found = TextCollector(list("abcdef")).parse(text, READ)
    assert _pairs(found) == [("a", "1"), ("b", "-2.5"), ("c", "+3e-4"), ("d", ".5"), ("e", "1E5")]


@pytest.mark.parametrize(
    "line",
    ["", "loss", "loss=", "=== loss ===", "\x00\x01loss\xff", "loss=nan", '{"loss": [1, 2]}', "x" * 100_000],
)
def test_malformed_lines_never_raise(line: str) -> None:
    for collector in (TextCollector(["loss"]), TextCollector(["loss"], [FILE_FILTER]), JsonLinesCollector(["loss"])):
        collector.parse_line(line, READ)


def test_rfc3339_variants() -> None:
    assert parse_rfc3339("2026-01-23T05:19:53.123456789Z") == datetime(
        2026, 1, 23, 5, 19, 53, 123456, tzinfo=timezone.utc
    )
    assert parse_rfc3339("2026-01-23T07:19:53+02:00") == datetime(2026, 1, 23, 5, 19, 53, tzinfo=timezone.utc)
    assert parse_rfc3339("2026-13-23T05:19:53Z") is None
    assert parse_rfc3339("yesterday") is None


def test_json_lines_accept_numbers_and_numeric_strings() -> None:
    lines = [
        json.dumps({"loss": 0.25, "accuracy": "0.9", "timestamp": "2026-01-01T00:00:00Z", "step": 3}),
        json.dumps({"loss": "0.2", "timestamp": 1767225601.5}),
        json.dumps({"loss": True, "accuracy": None}),
        "not json",
        json.dumps([1, 2]),
    ]
    found = JsonLinesCollector(["loss", "accuracy"]).parse("\n".join(lines), READ)
    assert _pairs(found) == [("loss", "0.25"), ("accuracy", "0.9"), ("loss", "0.2")]
    assert found[0].step == 3
    assert found[0].timestamp == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert found[2].timestamp == datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=timezone.utc)


def test_huge_log_is_streamed_in_bounded_memory() -> None:
    consumed = 0

    def lines(n: int) -> Iterator[str]:
        nonlocal consumed
        for i in range(n):
            consumed += 1
            yield f"2026-01-23T05:19:53Z step {i} loss={1 / (i + 1):.6f} noise noise noise noise noise\n"

    collector = TextCollector(["loss"])
    stream = collector.parse_lines(lines(10**9), READ)  # a billion lines: only laziness makes this finish
    first = next(stream)
    assert (first.value, consumed) == ("1.000000", 1)
    tracemalloc.start()
    count = sum(1 for _ in collector.parse_lines(lines(20_000), READ))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 20_000
    assert peak < 1_000_000  # holding 20k observations would take several megabytes


def test_summaries_follow_katibs_strategies() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    obs = [
        Observation("loss", "0.9", t0),
        Observation("loss", "0.3", t0 + timedelta(seconds=2)),
        Observation("loss", "unavailable", t0 + timedelta(seconds=1)),
        Observation("loss", "0.5", t0 + timedelta(seconds=3)),
        Observation("accuracy", "garbage", t0),
    ]
    summaries = summarize(obs, ["loss", "accuracy", "f1"])
    assert [s.to_dict() for s in summaries] == [
        {"name": "loss", "min": "0.3", "max": "0.9", "latest": "0.5"},
        {"name": "accuracy", "min": "unavailable", "max": "unavailable", "latest": "garbage"},
    ]
    assert objective_value(summaries, "loss", {"loss": "min"}) == 0.3
    assert objective_value(summaries, "loss", {"loss": "max"}) == 0.9
    assert objective_value(summaries, "loss", {"loss": "latest"}) == 0.5
    assert objective_value(summaries, "accuracy", {"accuracy": "max"}) is None
    assert objective_value(summaries, "f1", {}) is None


def test_line_collector_per_kind() -> None:
    def spec(kind: str, fmt: str | None = None, filters: list[str] | None = None) -> MetricsCollectorSpec:
        source = SourceSpec(
            file_system_path=FileSystemPath(path="/m", kind="File", format=fmt) if fmt else None,
            filter=FilterSpec(metrics_format=filters) if filters else None,
        )
        return MetricsCollectorSpec(collector=CollectorSpec(kind=kind), source=source)

    assert isinstance(line_collector(spec("StdOut"), ["loss"]), TextCollector)
    text = line_collector(spec("File", "TEXT", [FILE_FILTER]), ["loss"])
    assert isinstance(text, TextCollector) and text.filters[0].pattern == FILE_FILTER
    assert isinstance(line_collector(spec("File", "JSON"), ["loss"]), JsonLinesCollector)
    assert line_collector(spec("TensorFlowEvent"), ["loss"]) is None
    assert line_collector(spec("Push"), ["loss"]) is None
    with pytest.raises(CollectorError, match="not supported"):
        line_collector(spec("Custom"), ["loss"])


# TensorFlow event files, written with TensorBoard's own writer -----------------------------------

tb = pytest.importorskip("tensorboard")


def _write_events(directory: Path, values: dict[str, list[float]], *, tensors: bool) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    writer = EventFileWriter(str(directory))
    for tag, series in values.items():
        for step, value in enumerate(series):
            if tensors:
                summary_value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(value))
            else:
                summary_value = summary_pb2.Summary.Value(tag=tag, simple_value=value)
            event = event_pb2.Event(
                wall_time=1767225600.0 + step, step=step, summary=summary_pb2.Summary(value=[summary_value])
            )
            writer.add_event(event)
    writer.close()


@pytest.mark.parametrize("tensors", [True, False], ids=["tf2-tensors", "tf1-scalars"])
def test_tfevent_reads_every_event_file_and_matches_tags_as_katib(tmp_path: Path, tensors: bool) -> None:
    _write_events(tmp_path / "train", {"accuracy": [0.5, 0.6], "loss": [1.0, 0.8]}, tensors=tensors)
    _write_events(tmp_path / "test", {"accuracy": [0.55, 0.65], "epoch_accuracy": [0.1]}, tensors=tensors)
    everywhere = TensorFlowEventCollector(["accuracy"]).collect(tmp_path)
    assert sorted(float(o.value) for o in everywhere) == pytest.approx([0.5, 0.55, 0.6, 0.65])
    only_test = TensorFlowEventCollector(["test/accuracy"]).collect(tmp_path)
    assert [float(o.value) for o in only_test] == pytest.approx([0.55, 0.65])
    assert [o.step for o in only_test] == [0, 1]
    assert only_test[0].timestamp == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert only_test[0].metric == "test/accuracy"


def test_tfevent_missing_directory_is_empty(tmp_path: Path) -> None:
    assert TensorFlowEventCollector(["loss"]).collect(tmp_path / "nothing") == []
