"""``katib-flow run`` end to end: real trial processes, on SQLite and on MariaDB."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from katib_flow.history import TrialState
from katib_flow.store import Store

from .helpers import run_cli, start_cli, stored_status, wait_for_succeeded, write_experiment
from .helpers import trial_experiment as _experiment


def test_success_runs_every_trial_and_reports_the_best(tmp_path: Path, db_url: str) -> None:
    path = write_experiment(tmp_path, _experiment("ok", []))
    result = run_cli(path, db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "experiment succeeded: ExperimentMaxTrialsReached" in result.stdout
    status = stored_status(db_url, "ok")
    assert status["trialsSucceeded"] == 4
    best = status["currentOptimalTrial"]
    assert {m["name"] for m in best["observation"]["metrics"]} == {"loss", "accuracy"}
    logs = list((tmp_path / ".katib-flow" / "runs" / "ok").glob("*/trial.log"))
    assert len(logs) == 4 and all("loss=" in log.read_text() for log in logs)
    cli = [sys.executable, "-m", "katib_flow.cli"]
    shown = subprocess.run([*cli, "status", "ok", "--db", db_url, "-o", "json"], capture_output=True, text=True)
    assert json.loads(shown.stdout)["currentOptimalTrial"] == best
    rows = subprocess.run([*cli, "trials", "ok", "--db", db_url, "-o", "json"], capture_output=True, text=True)
    assert [r["state"] for r in json.loads(rows.stdout)] == ["Succeeded"] * 4
    missing = subprocess.run([*cli, "status", "nope", "--db", db_url], capture_output=True, text=True)
    assert missing.returncode == 2 and "no experiment named 'nope'" in missing.stderr


def test_failures_end_the_experiment_failed_with_exit_code_1(tmp_path: Path, db_url: str) -> None:
    path = write_experiment(tmp_path, _experiment("bad", ["--mode=fail"], maxFailedTrialCount=1))
    result = run_cli(path, db_url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "experiment failed: ExperimentFailed" in result.stdout
    assert "about to fail" in result.stdout  # the first failure's last lines, in the summary
    assert "the experiment failed (ExperimentFailed)" in result.stderr
    status = stored_status(db_url, "bad")
    assert status["trialsFailed"] >= 1  # maxFailedTrialCount 1: the first failure ends it (Katib's >=)
    with Store(db_url) as store:
        from sqlalchemy import select

        from katib_flow.engine.views import trial_view
        from katib_flow.store import TrialRow

        with store.session() as session:
            trial = trial_view(session.execute(select(TrialRow).limit(1)).scalar_one())
    assert trial.state is TrialState.FAILED
    assert "exited with code 3" in trial.message and "about to fail" in trial.message


def test_backoff_limit_retries_a_failed_process(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("flaky", ["--mode=flaky"], maxTrialCount=2)
    doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["backoffLimit"] = 1
    result = run_cli(write_experiment(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert stored_status(db_url, "flaky")["trialsSucceeded"] == 2
    doc = _experiment("flaky-no-retry", ["--mode=flaky"], maxTrialCount=2)
    # Without backoffLimit there is no second attempt: both trials fail, and a run with no successful trial exits 1.
    failed = run_cli(write_experiment(tmp_path, doc), db_url, cwd=tmp_path)
    assert failed.returncode == 1
    assert stored_status(db_url, "flaky-no-retry")["trialsFailed"] == 2


def test_no_metric_is_metrics_unavailable_and_no_result_exits_1(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("silent", ["--mode=silent"], maxTrialCount=2)
    del doc["spec"]["maxFailedTrialCount"]  # no failure budget: Katib ends it "succeeded", MaxTrialsReached
    result = run_cli(write_experiment(tmp_path, doc), db_url, cwd=tmp_path)
    status = stored_status(db_url, "silent")
    assert status["trialMetricsUnavailable"] == 2
    assert status["conditions"][-1]["reason"] == "ExperimentMaxTrialsReached"  # Katib's conditions are kept
    # ...but there is no result, and the run says so instead of "experiment succeeded", exit 0.
    assert result.returncode == 1, result.stdout
    assert "experiment ended without a successful trial: ExperimentMaxTrialsReached" in result.stdout
    assert "MetricsUnavailable): Metrics are not available: no numeric value of 'loss'" in result.stdout
    assert "has no successful trial (ExperimentMaxTrialsReached)" in result.stderr


def test_goal_reached(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("goal", [], maxTrialCount=20, parallelTrialCount=1)
    doc["spec"]["objective"]["goal"] = 10.0  # any trial reaches it
    result = run_cli(write_experiment(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = stored_status(db_url, "goal")
    assert status["trials"] == 1
    assert status["conditions"][-1]["reason"] == "ExperimentGoalReached"


def test_active_deadline_is_a_timeout(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("slow", ["--mode=sleep"], maxTrialCount=1, parallelTrialCount=1, maxFailedTrialCount=0)
    doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["activeDeadlineSeconds"] = 1
    started = time.monotonic()
    result = run_cli(write_experiment(tmp_path, doc), db_url, cwd=tmp_path)
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.stderr
    assert stored_status(db_url, "slow")["trialsFailed"] == 1


@pytest.mark.parametrize("fmt", ["TEXT", "JSON"])
def test_file_collector_paths_are_remapped_per_trial(tmp_path: Path, db_url: str, fmt: str) -> None:
    doc = _experiment("files", ["--out=/katib/metrics.log", f"--format={fmt.lower()}"])
    doc["spec"]["metricsCollectorSpec"] = {
        "collector": {"kind": "File"},
        "source": {"fileSystemPath": {"path": "/katib/metrics.log", "kind": "File", "format": fmt}},
    }
    result = run_cli(write_experiment(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / ".katib-flow" / "runs" / "files").glob("*/fs/katib/metrics.log"))
    assert len(files) == 4  # one file per trial, none at /katib
    assert not Path("/katib/metrics.log").exists()
    assert stored_status(db_url, "files")["trialsSucceeded"] == 4


def test_push_collector(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("push", ["--mode=push"], maxTrialCount=2)
    doc["spec"]["metricsCollectorSpec"] = {"collector": {"kind": "Push"}}
    result = run_cli(write_experiment(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = stored_status(db_url, "push")
    assert status["trialsSucceeded"] == 2


@pytest.mark.parametrize("report", ["stdout", "push"])
def test_early_stopping_stops_a_trial_that_is_worse_than_the_rule(tmp_path: Path, db_url: str, report: str) -> None:
    args = ["--mode=${trialParameters.mode}", "--steps=40", "--delay=0.05", f"--report={report}"]
    doc = _experiment("es", args, maxTrialCount=3, parallelTrialCount=1)
    if report == "push":  # followed in the store while the trial runs, as the log is for StdOut
        doc["spec"]["metricsCollectorSpec"] = {"collector": {"kind": "Push"}}
    doc["spec"]["algorithm"] = {"algorithmName": "grid"}
    doc["spec"]["parameters"] = [
        {"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.3", "max": "0.3", "step": "0.1"}},
        {"name": "mode", "parameterType": "categorical", "feasibleSpace": {"list": ["ok", "good", "bad"]}},
    ]
    doc["spec"]["parameters"][0]["feasibleSpace"] = {"list": ["0.3"]}
    doc["spec"]["parameters"][0]["parameterType"] = "discrete"
    doc["spec"]["trialTemplate"]["trialParameters"].append({"name": "mode", "reference": "mode"})
    doc["spec"]["earlyStopping"] = {
        "algorithmName": "medianstop",
        "algorithmSettings": [{"name": "min_trials_required", "value": "2"}, {"name": "start_step", "value": "2"}],
    }
    result = run_cli(write_experiment(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = stored_status(db_url, "es")
    assert status["trialsSucceeded"] == 2
    assert status["trialsEarlyStopped"] == 1
    (stopped,) = status["earlyStoppedTrialList"]
    log = next((tmp_path / ".katib-flow" / "runs" / "es").glob(f"{stopped}/trial.log")).read_text()
    steps = log.count("pushed step") if report == "push" else log.count("loss=")
    assert 2 <= steps < 40  # it did not run to the end


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "kill-9"])
def test_interrupt_then_resume_loses_and_reruns_nothing(tmp_path: Path, db_url: str, how: int) -> None:
    doc = _experiment("resumable", ["--steps=3", "--delay=0.3"], maxTrialCount=6, parallelTrialCount=2)
    path = write_experiment(tmp_path, doc)
    runner = start_cli(path, db_url, tmp_path)
    wait_for_succeeded(db_url, "resumable", 2)
    before = stored_status(db_url, "resumable")
    runner.send_signal(how)
    runner.wait(timeout=60)
    if how == signal.SIGINT:
        assert runner.returncode == 130
        after_stop = stored_status(db_url, "resumable")
        assert after_stop["trialsKilled"] >= 1  # the running trials were stopped and marked
    result = run_cli(path, db_url, "--resume", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    final = stored_status(db_url, "resumable")
    assert final["trialsSucceeded"] == 6
    assert set(before["succeededTrialList"]) <= set(final["succeededTrialList"])
    logs = tmp_path / ".katib-flow" / "runs" / "resumable"
    for name in before["succeededTrialList"]:  # finished before the interruption, never run again
        assert (logs / name / "trial.log").read_text().count("step 0:") == 1


def test_a_second_runner_is_refused(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("busy", ["--steps=20", "--delay=0.2"], maxTrialCount=2, parallelTrialCount=2)
    path = write_experiment(tmp_path, doc)
    first = start_cli(path, db_url, tmp_path)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if stored_status(db_url, "busy").get("trialsRunning", 0) >= 1:
                    break
            except Exception:
                pass
            time.sleep(0.1)
        second = run_cli(path, db_url, "--resume", cwd=tmp_path)
        assert second.returncode == 2
        assert "is being run by another katib-flow process" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
