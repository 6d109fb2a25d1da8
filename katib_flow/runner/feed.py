"""Live metrics of one running trial: parsed, stored in batches, checked against the stop rules."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..collectors import Collector, Observation, utc_now
from ..earlystopping.base import StopRule, should_stop
from ..engine import record_observations
from ..store import Store

__all__ = ["MetricsFeed", "tail_file"]

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
    ) -> None:
        self.store, self.experiment_id, self.trial = store, experiment_id, trial
        self.collector, self.rules, self.on_stop = collector, list(rules), on_stop
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
