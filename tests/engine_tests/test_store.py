"""The store itself: URLs, schema versions, upgrades and refusals, Push metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from katib_flow.collectors.push import EXPERIMENT_ENV, TRIAL_ENV, report_metrics
from katib_flow.engine import Outcome, finish_trial, init_experiment, reserve_trials
from katib_flow.exceptions import CollectorError, StorageError
from katib_flow.store import ENV_URL, MIGRATIONS, SCHEMA_VERSION, Store, default_url, resolve_url
from katib_flow.store import schema as schema_module

from .helpers import experiment


def test_url_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_URL, raising=False)
    assert resolve_url(None) == default_url() == f"sqlite:///{tmp_path / '.katib-flow' / 'katib-flow.db'}"
    monkeypatch.setenv(ENV_URL, "sqlite:///env.db")
    # Relative paths are resolved once, here: trial processes run in other folders.
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'env.db'}"
    assert resolve_url("sqlite:///sub/flag.db?timeout=3") == f"sqlite:///{tmp_path / 'sub' / 'flag.db'}?timeout=3"
    assert resolve_url("sqlite:////abs/flag.db") == "sqlite:////abs/flag.db"
    assert resolve_url("sqlite://") == "sqlite://"
    with Store() as store:  # creates ./.katib-flow/ on a fresh machine
        assert store.url == f"sqlite:///{tmp_path / 'env.db'}"


def test_bad_urls_and_unreachable_servers_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="invalid database URL"):
        Store("not a url")
    with pytest.raises(StorageError, match=r"127\.0\.0\.1"):
        Store("mysql+pymysql://root:secret@127.0.0.1:1/nothing")


def test_new_database_gets_the_current_version(db_url: str) -> None:
    with Store(db_url) as store, store.engine.connect() as conn:
        assert conn.execute(text("SELECT version FROM katib_flow_schema")).scalar_one() == SCHEMA_VERSION


def test_newer_database_is_refused(db_url: str) -> None:
    with Store(db_url) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE katib_flow_schema SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(StorageError, match=rf"written by a newer katib-flow \(schema version {SCHEMA_VERSION + 1}"):
        Store(db_url)


def test_older_database_is_upgraded(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(db_url) as store:
        init_experiment(store, experiment())

    def add_notes(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE experiments ADD COLUMN notes VARCHAR(64)"))

    monkeypatch.setitem(MIGRATIONS, SCHEMA_VERSION, add_notes)
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with Store(db_url) as store, store.engine.connect() as conn:
        assert conn.execute(text("SELECT version FROM katib_flow_schema")).scalar_one() == SCHEMA_VERSION + 1
        assert conn.execute(text("SELECT name, notes FROM experiments")).one() == ("exp", None)


def test_foreign_tables_are_not_touched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE experiments (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(StorageError, match="no katib_flow_schema version; refusing to use it"):
        Store(url)


def test_report_metrics_outside_a_trial_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (TRIAL_ENV, EXPERIMENT_ENV, ENV_URL, "KATIB_TRIAL_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CollectorError) as raised:
        report_metrics({"loss": 0.1})
    assert str(raised.value) == (
        "report_metrics() works inside a trial started by katib-flow; not set here: "
        "KATIB_FLOW_TRIAL_NAME (or KATIB_TRIAL_NAME), KATIB_FLOW_DB_URL"
    )


def test_report_metrics_with_only_katibs_trial_name_needs_a_running_trial_of_that_name(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from katib_flow.exceptions import StorageError

    with Store(db_url) as store:
        init_experiment(store, experiment())
    for name in (TRIAL_ENV, EXPERIMENT_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KATIB_TRIAL_NAME", "nobody")
    monkeypatch.setenv(ENV_URL, db_url)
    with pytest.raises(StorageError, match=r"no Running trial named 'nobody' in .*: set KATIB_FLOW_EXPERIMENT_ID"):
        report_metrics({"loss": 0.1})


def test_report_metrics_from_a_trial_process(db_url: str) -> None:
    with Store(db_url) as store:
        exp = init_experiment(store, experiment())
        (trial,) = reserve_trials(store, exp.id, [(0, 0)])
        assert trial is not None
        script = (
            "import katib_flow\n"
            "katib_flow.report_metrics({'loss': 0.5, 'accuracy': '0.8'}, step=1)\n"
            "katib_flow.report_metrics({'loss': 0.25}, step=2)\n"
            "try:\n"
            "    katib_flow.report_metrics({'loss': 'fast'})\n"
            "except katib_flow.CollectorError as err:\n"
            "    print(err)\n"
        )
        env = {**os.environ, TRIAL_ENV: trial.name, EXPERIMENT_ENV: str(exp.id), ENV_URL: db_url}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "metric 'loss': 'fast' is not a number"
        done = finish_trial(store, exp.id, trial.name, Outcome.SUCCEEDED)
    assert done.objective == 0.25
    assert {m["name"]: m["latest"] for m in done.metrics} == {"loss": "0.25", "accuracy": "0.8"}


def test_version_1_database_gets_the_workdir_column(db_url: str) -> None:
    with Store(db_url) as store:
        init_experiment(store, experiment())
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE experiments DROP COLUMN workdir"))
            conn.execute(text("UPDATE katib_flow_schema SET version = 1"))
    with Store(db_url, create=False) as store, store.engine.connect() as conn:  # read commands upgrade too
        assert conn.execute(text("SELECT version FROM katib_flow_schema")).scalar_one() == 2
        assert conn.execute(text("SELECT name, workdir FROM experiments")).one() == ("exp", None)
