"""Store throughput: observations written per second, history load time, on SQLite and MariaDB.

    python bench/store.py                      # SQLite and (if installed) a MariaDB started for the run
    python bench/store.py --trials 1000 --backends sqlite

Baselines measured in the same run:
  * writes: the same rows inserted with one SQLAlchemy Core executemany and no
    engine logic (the floor for a transaction of that size);
  * history load: the N+1 pattern (one query per trial for its observations)
    that "one query per table" avoids.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import median_seconds  # noqa: E402

from katib_flow import Experiment, minimize, search  # noqa: E402
from katib_flow.collectors import Observation  # noqa: E402
from katib_flow.engine import init_experiment, load_history, record_observations, reserve_trials  # noqa: E402
from katib_flow.engine.clock import now  # noqa: E402
from katib_flow.spec import Experiment as Wire  # noqa: E402
from katib_flow.store import ObservationRow, Store, TrialRow  # noqa: E402


def _experiment(name: str, trials: int) -> Wire:
    return Experiment(
        name,
        objective=minimize("loss"),
        parameters={"lr": search.double(0.001, 0.1), "units": search.int(1, 64)},
        image="python:3.11",
        command=["python3", "t.py", "--lr=${trialParameters.lr}", "--units=${trialParameters.units}"],
        max_trial_count=trials,
        parallel_trial_count=min(trials, 1000),
    ).to_model()


@contextmanager
def _backend(name: str, workdir: Path) -> Iterator[str | None]:
    if name == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    from tests.mariadb import MariaDB

    try:
        server = MariaDB(workdir / "mariadb")
    except BaseException as err:  # pytest.skip raises a BaseException subclass when binaries are missing
        print(f"# mariadb skipped: {err}")
        yield None
        return
    try:
        yield server.database_url()
    finally:
        server.stop()


def _bench_writes(store: Store, batch: int, total: int) -> tuple[float, float]:
    exp = init_experiment(store, _experiment(f"w{batch}", 1))
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    stamp = now()
    obs = [Observation("loss", f"{i / total:.6f}", stamp + timedelta(microseconds=i)) for i in range(total)]
    start = time.perf_counter()
    for first in range(0, total, batch):
        record_observations(store, exp.id, trial.name, obs[first : first + batch], first_seq=first)
    ours = total / (time.perf_counter() - start)
    rows = [
        {
            "experiment_id": exp.id,
            "trial_name": "raw",
            "time": o.timestamp.replace(tzinfo=None),
            "metric_name": "loss",
            "value": o.value,
            "source": "raw",
            "seq": i,
        }
        for i, o in enumerate(obs)
    ]
    start = time.perf_counter()
    for first in range(0, total, batch):
        with store.session() as session:
            session.execute(insert(ObservationRow), rows[first : first + batch])
    raw = total / (time.perf_counter() - start)
    return ours, raw


def _seed_history(store: Store, trials: int) -> int:
    exp = init_experiment(store, _experiment(f"h{trials}", trials))
    stamp = now()
    with store.session() as session:
        session.execute(
            insert(TrialRow),
            [
                {
                    "experiment_id": exp.id,
                    "name": f"h{trials}-{i:08x}",
                    "seq": i,
                    "lane": i,
                    "iteration": 0,
                    "assignments": [{"name": "lr", "value": "0.01"}, {"name": "units", "value": str(i % 64 + 1)}],
                    "data": {},
                    "state": "Succeeded",
                    "reason": "TrialSucceeded",
                    "message": "",
                    "objective": 0.5,
                    "created_at": stamp,
                    "stop_rules": [],
                }
                for i in range(trials)
            ],
        )
        session.execute(
            insert(ObservationRow),
            [
                {
                    "experiment_id": exp.id,
                    "trial_name": f"h{trials}-{i:08x}",
                    "time": stamp + timedelta(seconds=k),
                    "metric_name": "loss",
                    "value": f"{0.9 - 0.1 * k:.2f}",
                    "source": "collector",
                    "seq": k,
                }
                for i in range(trials)
                for k in range(3)
            ],
        )
    return exp.id


def _load(store: Store, experiment_id: int) -> None:
    with store.session() as session:
        assert load_history(session, experiment_id, "loss")


def _load_n_plus_one(store: Store, experiment_id: int) -> None:
    with store.session() as session:
        names = session.execute(select(TrialRow.name).where(TrialRow.experiment_id == experiment_id)).scalars().all()
        for name in names:
            session.execute(
                select(ObservationRow.value).where(
                    ObservationRow.experiment_id == experiment_id, ObservationRow.trial_name == name
                )
            ).all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "mariadb"])
    parser.add_argument("--trials", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--observations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| backend | measure | katib-flow | baseline | baseline value | ratio |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            with _backend(backend, Path(tmp) / backend) as url:
                if url is None:
                    continue
                Path(tmp, backend).mkdir(exist_ok=True)
                with Store(url) as store:
                    for batch in (1, 100):
                        total = min(args.observations, 500) if batch == 1 else args.observations
                        ours, raw = _bench_writes(store, batch, total)
                        print(
                            f"| {backend} | observations/s, {batch} per call | {ours:,.0f} | Core executemany | "
                            f"{raw:,.0f} | {ours / raw:.2f} |",
                            flush=True,
                        )
                    for trials in args.trials:
                        exp_id = _seed_history(store, trials)
                        ours_s = median_seconds(partial(_load, store, exp_id), args.repeats)
                        base_s = median_seconds(partial(_load_n_plus_one, store, exp_id), 1)
                        print(
                            f"| {backend} | history load, {trials} trials (s) | {ours_s:.3f} | N+1 queries | "
                            f"{base_s:.3f} | {ours_s / base_s:.2f} |",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
