"""Two worker processes drive one experiment at once, in random interleavings, on SQLite and MariaDB.

Whatever the interleaving: never more trials running than parallelTrialCount,
never more than maxTrialCount counted trials, no trial created twice, and the
experiment completes with Katib's reason.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from katib_flow.collectors import Observation
from katib_flow.engine import (
    Outcome,
    evaluate,
    finish_trial,
    init_experiment,
    mark_running,
    record_observations,
    reserve_trials,
)
from katib_flow.history import TrialState
from katib_flow.store import Store, TrialRow

from .helpers import T0, experiment

MAX_TRIALS, PARALLEL = 14, 3


def _worker(url: str, experiment_id: int, worker: int, seed: int) -> None:
    rng = random.Random(seed)
    store = Store(url)
    iteration = dict.fromkeys(range(worker * 10, worker * 10 + 2), 0)  # two lanes per worker
    for _ in range(400):
        result = evaluate(store, experiment_id)
        if result.completed:
            return
        lane = rng.choice(list(iteration))
        trial = reserve_trials(store, experiment_id, [(lane, iteration[lane])])[0]
        if rng.random() < 0.3:  # a retried step asks for the same slot again, and goes on with the answer
            again = reserve_trials(store, experiment_id, [(lane, iteration[lane])])[0]
            # A slot that got a trial keeps it; one that got none may get one now (a trial has finished since).
            assert again == trial or trial is None, (trial, again)
            trial = again
        if trial is None:
            time.sleep(rng.uniform(0, 0.01))
            continue
        mark_running(store, experiment_id, trial.name)
        losses = [Observation("loss", repr(rng.uniform(0.1, 1)), T0 + timedelta(seconds=i)) for i in range(3)]
        record_observations(store, experiment_id, trial.name, losses, first_seq=0)
        if rng.random() < 0.3:  # a retried collect
            record_observations(store, experiment_id, trial.name, losses, first_seq=0)
        time.sleep(rng.uniform(0, 0.01))
        outcome = rng.choices([Outcome.SUCCEEDED, Outcome.FAILED, Outcome.KILLED], [0.8, 0.1, 0.1])[0]
        finish_trial(store, experiment_id, trial.name, outcome)
        if rng.random() < 0.3:  # a retried finish
            finish_trial(store, experiment_id, trial.name, Outcome.SUCCEEDED)
        iteration[lane] += 1
    raise AssertionError("the experiment did not complete")


@pytest.mark.parametrize("seed", [1, 2])
def test_two_workers_never_exceed_budgets_or_duplicate_trials(db_url: str, seed: int) -> None:
    with Store(db_url) as store:
        exp = init_experiment(store, experiment(max_trials=MAX_TRIALS, parallel=PARALLEL, max_failed=MAX_TRIALS))
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_worker, args=(db_url, exp.id, w, seed * 100 + w)) for w in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=240)
    assert [w.exitcode for w in workers] == [0, 0]
    with Store(db_url) as store:
        with store.session() as session:
            trials = list(session.execute(select(TrialRow).where(TrialRow.experiment_id == exp.id)).scalars())
        result = evaluate(store, exp.id)
    counted = [t for t in trials if t.state != TrialState.KILLED.value]
    assert len(counted) == MAX_TRIALS
    assert len({t.name for t in trials}) == len(trials)
    assert len({(t.lane, t.iteration) for t in trials}) == len(trials)
    assert sorted(t.seq for t in trials) == list(range(len(trials)))
    assert all(not TrialState(t.state).is_active for t in trials)
    # Running at once, from the stored times: a trial is created after the one it replaced finished.
    events = sorted([(t.created_at, 1) for t in trials] + [(t.completion_time, -1) for t in trials])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak <= PARALLEL
    assert (result.completed, result.reason) == (True, "ExperimentMaxTrialsReached")


def _init(url: str, barrier: object) -> None:
    assert hasattr(barrier, "wait")
    spec = experiment("racy")
    with Store(url) as store:  # connected and validated before the start line: only the race is left
        barrier.wait()
        init_experiment(store, spec, existing="reuse")


def test_concurrent_reuse_init_creates_one_experiment(db_url: str) -> None:
    Store(db_url).close()  # create the schema first; the race is about the experiment row
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    workers = [ctx.Process(target=_init, args=(db_url, barrier)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    from katib_flow.store import ExperimentRow

    with Store(db_url) as store, store.session() as session:
        assert len(session.execute(select(ExperimentRow).where(ExperimentRow.name == "racy")).all()) == 1
