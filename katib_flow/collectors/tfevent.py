"""TensorFlowEvent collector: every event file under a directory, read with TensorBoard's own loader.

Tags are matched as Katib's tfevent collector matches them: a metric name
``accuracy`` matches every tag that starts with ``accuracy`` (``accuracy``,
``accuracy/top1``; not ``epoch_accuracy``); a name ``test/accuracy`` matches the
same tags, but only in event files under a directory ending with ``test``.
Both TF2 tensor summaries and TF1 scalar summaries are read. TensorBoard is an optional
dependency (``pip install "katib-flow[tfevent]"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from ..exceptions import CollectorError
from .base import Observation

__all__ = ["TensorFlowEventCollector"]


class TensorFlowEventCollector:
    """Reads scalar metrics from every TensorFlow event file below ``directory``."""

    def __init__(self, metric_names: Sequence[str]) -> None:
        self.metric_names = tuple(metric_names)

    def collect(self, directory: str | os.PathLike[str]) -> list[Observation]:
        try:
            from tensorboard.backend.event_processing.event_accumulator import (
                SCALARS,
                TENSORS,
                EventAccumulator,
            )
            from tensorboard.util import tensor_util
        except ImportError as err:  # pragma: no cover - depends on the installation
            raise CollectorError(
                'the TensorFlowEvent collector needs TensorBoard: pip install "katib-flow[tfevent]"'
            ) from err
        found: list[Observation] = []
        for path in sorted(_event_files(Path(directory))):
            accumulator = EventAccumulator(str(path), size_guidance={TENSORS: 0, SCALARS: 0})
            try:
                accumulator.Reload()
            except Exception:
                continue
            tags = accumulator.Tags()
            for metric in self.metric_names:
                if not _directory_matches(metric, path):
                    continue
                for tag in tags.get(TENSORS, []):
                    if _tag_matches(metric, tag):
                        for event in accumulator.Tensors(tag):
                            value = tensor_util.make_ndarray(event.tensor_proto)
                            if value.size == 1:
                                found.append(
                                    _observation(metric, float(value.reshape(-1)[0]), event.wall_time, event.step)
                                )
                for tag in tags.get(SCALARS, []):
                    if _tag_matches(metric, tag):
                        for scalar in accumulator.Scalars(tag):
                            found.append(_observation(metric, scalar.value, scalar.wall_time, scalar.step))
        found.sort(key=lambda o: (o.timestamp, o.step or 0))
        return found


def _event_files(directory: Path) -> Iterator[Path]:
    if not directory.is_dir():
        return
    for root, _, files in os.walk(directory):
        for name in files:
            if "tfevents" in name:
                yield Path(root) / name


def _tag_matches(metric: str, tag: str) -> bool:
    return tag.startswith(metric.split("/")[-1])


def _directory_matches(metric: str, path: Path) -> bool:
    parts = metric.split("/")
    if len(parts) < 2:
        return True
    return str(path.parent).endswith(os.path.join(*parts[:-1]))


def _observation(metric: str, value: float, wall_time: float, step: int) -> Observation:
    return Observation(metric, repr(float(value)), datetime.fromtimestamp(wall_time, tz=timezone.utc), int(step))
