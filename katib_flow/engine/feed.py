"""Live metrics of one running trial: parsed, stored in batches, checked against the stop rules.

Both drivers use it to stop trials early, for every collector: the local
runner and the cluster's wait step feed it the trial's output lines (StdOut),
the lines of its metrics file (File), the scalars of its event files as they
appear (TensorFlowEvent) or the observations it pushes to the store (Push).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..collectors import Collector, Observation, TensorFlowEventCollector, utc_now
from ..earlystopping.base import StopRule, should_stop
from ..store import ObservationRow, Store
from .trials import record_observations

__all__ = ["MetricsFeed", "follow_events", "follow_pushed", "tail_file"]

_FLUSH_EVERY = 50
_FLUSH_SECONDS = 0.5


class MetricsFeed:
    """Collects a trial's observations; calls ``on_stop`` once when every stop rule holds."""

    def __init__(
        self,
        store: Store,
        experiment_id: int,
        trial: str,
        collector: Collector | None,
        rules: Sequence[StopRule],
        on_stop: Callable[[], None],
        *,
        record: bool = True,
    ) -> None:
        """``record=False`` when the observations are stored already (pushed by the trial itself)."""
        self.store, self.experiment_id, self.trial = store, experiment_id, trial
        self.collector, self.rules, self.on_stop, self.record = collector, list(rules), on_stop, record
        self.series: dict[str, list[float]] = {}
        self.stopped = False
        self._pending: list[Observation] = []
        self._next_seq = 0
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        if self.collector is not None:
            self.add(self.collector.parse_line(text, utc_now()))

    def add(self, observations: Sequence[Observation]) -> None:
        if not observations:
            return
        with self._lock:
            self._pending.extend(observations)
            for o in observations:
                if o.number is not None:
                    self.series.setdefault(o.metric, []).append(o.number)
            due = len(self._pending) >= _FLUSH_EVERY or time.monotonic() - self._last_flush > _FLUSH_SECONDS
            stop = not self.stopped and should_stop(self.rules, self.series)
            if stop:
                self.stopped = True
        if due or stop:
            self.flush()
        if stop:
            self.on_stop()

    def flush(self) -> None:
        if not self.record:
            return
        batch, first = self.drain()
        if batch:
            record_observations(self.store, self.experiment_id, self.trial, batch, first_seq=first)

    def drain(self) -> tuple[list[Observation], int]:
        """The observations not stored yet and the sequence number of the first; the caller stores them."""
        with self._lock:
            batch, self._pending = self._pending, []
            first, self._next_seq = self._next_seq, self._next_seq + len(batch)
            self._last_flush = time.monotonic()
        return batch, first


def tail_file(path: Path, feed: MetricsFeed, done: threading.Event, poll: float = 0.2) -> None:
    """Feed the lines of a file the trial writes, as they appear, until ``done`` and the file is drained."""
    position = 0
    partial = ""
    while True:
        finished = done.is_set()
        if path.is_file():
            with path.open("r", encoding="utf-8", errors="replace") as handle:
                handle.seek(position)
                chunk = handle.read()
                position = handle.tell()
            partial += chunk
            *lines, partial = partial.split("\n")
            for line in lines:
                feed.line(line)
        if finished:
            if partial:
                feed.line(partial)
            return
        done.wait(poll)


def follow_events(
    folder: Path, metric_names: Sequence[str], feed: MetricsFeed, done: threading.Event, poll: float = 1.0
) -> None:
    """Feed the scalars of the TensorFlow event files under ``folder`` as they are written, until ``done``."""
    reader = TensorFlowEventCollector(metric_names)
    seen: set[tuple[str, str, object, int | None]] = set()
    while True:
        finished = done.is_set()
        if folder.is_dir():
            fresh = []
            for o in reader.collect(folder):
                key = (o.metric, o.value, o.timestamp, o.step)
                if key not in seen:
                    seen.add(key)
                    fresh.append(o)
            feed.add(fresh)
        if finished:
            return
        done.wait(poll)


def follow_pushed(store: Store, feed: MetricsFeed, done: threading.Event, poll: float = 1.0) -> None:
    """Feed the observations the trial pushes to the store (``report_metrics``), until ``done``."""
    table = ObservationRow.__table__
    query = (
        select(table.c.seq, table.c.metric_name, table.c.value, table.c.time, table.c.step)
        .where(
            table.c.experiment_id == feed.experiment_id,
            table.c.trial_name == feed.trial,
            table.c.source == "push",
        )
        .order_by(table.c.seq)
    )

    def after(seq: int, session: Session) -> list[Any]:
        return list(session.execute(query.where(table.c.seq > seq)).all())

    last = -1
    while True:
        finished = done.is_set()
        rows = store.transaction(functools.partial(after, last))
        if rows:
            last = rows[-1][0]
            feed.add([Observation(metric, value, time, step) for _, metric, value, time, step in rows])
        if finished:
            return
        done.wait(poll)
