"""Live metrics for early stopping from every collector: pushed observations and TensorFlow event files."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from katib_flow.collectors import Observation
from katib_flow.earlystopping.base import Comparison, StopRule
from katib_flow.engine import init_experiment, record_observations, reserve_trials
from katib_flow.engine.feed import MetricsFeed, follow_events, follow_pushed
from katib_flow.store import ObservationRow, Store

from .helpers import T0, experiment

RULE = StopRule("loss", 0.5, Comparison.GREATER, start_step=2)  # stop once a loss above 0.5 is seen from step 2


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def _stopped_within(event: threading.Event, seconds: float = 10.0) -> bool:
    return event.wait(seconds)


def test_pushed_metrics_are_followed_from_the_store(store: Store) -> None:
    exp = init_experiment(store, experiment())
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    stop, done = threading.Event(), threading.Event()
    feed = MetricsFeed(store, exp.id, trial.name, None, [RULE], stop.set, record=False)
    follower = threading.Thread(target=follow_pushed, args=(store, feed, done, 0.05))
    follower.start()
    try:
        for step, loss in enumerate([0.9, 0.4, 0.8]):  # step 0 is before start_step; 0.8 at step 2 stops it
            assert not stop.is_set()
            push = [Observation("loss", repr(loss), T0, step)]
            record_observations(store, exp.id, trial.name, push, source="push")
            time.sleep(0.2)
        assert _stopped_within(stop)
        assert feed.series["loss"] == [0.9, 0.4, 0.8]
    finally:
        done.set()
        follower.join()
    with store.session() as session:  # record=False: the pushed observations are not stored a second time
        sources = session.execute(select(ObservationRow.source).where(ObservationRow.trial_name == trial.name))
        assert sorted(sources.scalars()) == ["push"] * 3


def test_event_files_are_followed_as_they_are_written(store: Store, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tests.collectors_tests.test_collectors import _write_events

    exp = init_experiment(store, experiment())
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    stop, done = threading.Event(), threading.Event()
    feed = MetricsFeed(store, exp.id, trial.name, None, [RULE], stop.set)
    follower = threading.Thread(target=follow_events, args=(tmp_path, ["loss"], feed, done, 0.05))
    follower.start()
    try:
        (tmp_path / "a").mkdir()
        _write_events(tmp_path / "a", {"loss": [0.3, 0.2]}, tensors=False)
        time.sleep(0.5)
        assert not stop.is_set() and feed.series["loss"] == pytest.approx([0.3, 0.2])
        (tmp_path / "b").mkdir()
        _write_events(tmp_path / "b", {"loss": [0.4, 0.45, 0.9]}, tensors=False)  # a second file, read as it comes
        assert _stopped_within(stop)
    finally:
        done.set()
        follower.join()
    # each event once, however often the files are re-read
    assert sorted(feed.series["loss"]) == pytest.approx([0.2, 0.3, 0.4, 0.45, 0.9])
