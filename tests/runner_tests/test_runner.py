"""``katib-flow run`` end to end: real trial processes, on SQLite and on MariaDB."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_flow.engine import evaluate, find_experiment
from katib_flow.history import TrialState
from katib_flow.store import Store

from .scripts import write_train


def _experiment(name: str, args: list[str], **spec: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name},
        "spec": {
            "objective": {"type": "minimize", "objectiveMetricName": "loss", "additionalMetricNames": ["accuracy"]},
            "algorithm": {"algorithmName": "random", "algorithmSettings": [{"name": "random_state", "value": "3"}]},
            "parallelTrialCount": 2,
            "maxTrialCount": 4,
            "parameters": [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}],
            "trialTemplate": {
                "primaryContainerName": "main",
                "trialParameters": [{"name": "x", "reference": "x"}],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "main",
                                        "image": "python:3.11",
                                        "command": [sys.executable, "train.py", "--x=${trialParameters.x}", *args],
                                    }
                                ],
                                "restartPolicy": "Never",
                            }
                        }
                    },
                },
            },
        },
    }
    doc["spec"].update(spec)
    doc["spec"].setdefault("maxFailedTrialCount", doc["spec"]["maxTrialCount"])
    return doc


def _write(folder: Path, doc: dict[str, Any]) -> Path:
    write_train(folder)
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _run(path: Path, db_url: str, *extra: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", db_url, "--quiet", *extra],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
        check=False,
    )


def _trials(db_url: str, name: str) -> dict[str, Any]:
    with Store(db_url) as store:
        return evaluate(store, find_experiment(store, name).id).status


def test_success_runs_every_trial_and_reports_the_best(tmp_path: Path, db_url: str) -> None:
    path = _write(tmp_path, _experiment("ok", []))
    result = _run(path, db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "experiment succeeded: ExperimentMaxTrialsReached" in result.stdout
    status = _trials(db_url, "ok")
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
    path = _write(tmp_path, _experiment("bad", ["--mode=fail"], maxFailedTrialCount=1))
    result = _run(path, db_url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "ExperimentFailed" in result.stdout
    status = _trials(db_url, "bad")
    assert status["trialsFailed"] >= 2
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
    result = _run(_write(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _trials(db_url, "flaky")["trialsSucceeded"] == 2
    doc = _experiment("flaky-no-retry", ["--mode=flaky"], maxTrialCount=2)
    assert _run(_write(tmp_path, doc), db_url, cwd=tmp_path).returncode == 0  # two failures are tolerated
    assert _trials(db_url, "flaky-no-retry")["trialsFailed"] == 2  # without backoffLimit, no second attempt


def test_no_metric_is_metrics_unavailable(tmp_path: Path, db_url: str) -> None:
    path = _write(tmp_path, _experiment("silent", ["--mode=silent"], maxTrialCount=2, maxFailedTrialCount=2))
    result = _run(path, db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # two failures are tolerated (Katib compares with >)
    assert _trials(db_url, "silent")["trialMetricsUnavailable"] == 2


def test_goal_reached(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("goal", [], maxTrialCount=20, parallelTrialCount=1)
    doc["spec"]["objective"]["goal"] = 10.0  # any trial reaches it
    result = _run(_write(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = _trials(db_url, "goal")
    assert status["trials"] == 1
    assert status["conditions"][-1]["reason"] == "ExperimentGoalReached"


def test_active_deadline_is_a_timeout(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("slow", ["--mode=sleep"], maxTrialCount=1, parallelTrialCount=1, maxFailedTrialCount=0)
    doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["activeDeadlineSeconds"] = 1
    started = time.monotonic()
    result = _run(_write(tmp_path, doc), db_url, cwd=tmp_path)
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.stderr
    assert _trials(db_url, "slow")["trialsFailed"] == 1


@pytest.mark.parametrize("fmt", ["TEXT", "JSON"])
def test_file_collector_paths_are_remapped_per_trial(tmp_path: Path, db_url: str, fmt: str) -> None:
    doc = _experiment("files", ["--out=/katib/metrics.log", f"--format={fmt.lower()}"])
    doc["spec"]["metricsCollectorSpec"] = {
        "collector": {"kind": "File"},
        "source": {"fileSystemPath": {"path": "/katib/metrics.log", "kind": "File", "format": fmt}},
    }
    result = _run(_write(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / ".katib-flow" / "runs" / "files").glob("*/fs/katib/metrics.log"))
    assert len(files) == 4  # one file per trial, none at /katib
    assert not Path("/katib/metrics.log").exists()
    assert _trials(db_url, "files")["trialsSucceeded"] == 4


def test_push_collector(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("push", ["--mode=push"], maxTrialCount=2)
    doc["spec"]["metricsCollectorSpec"] = {"collector": {"kind": "Push"}}
    result = _run(_write(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = _trials(db_url, "push")
    assert status["trialsSucceeded"] == 2


def test_early_stopping_stops_a_trial_that_is_worse_than_the_rule(tmp_path: Path, db_url: str) -> None:
    doc = _experiment(
        "es", ["--mode=${trialParameters.mode}", "--steps=40", "--delay=0.05"], maxTrialCount=3, parallelTrialCount=1
    )
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
    result = _run(_write(tmp_path, doc), db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = _trials(db_url, "es")
    assert status["trialsSucceeded"] == 2
    assert status["trialsEarlyStopped"] == 1
    (stopped,) = status["earlyStoppedTrialList"]
    log = next((tmp_path / ".katib-flow" / "runs" / "es").glob(f"{stopped}/trial.log")).read_text()
    assert log.count("loss=") < 40  # it did not run to the end


def _start(path: Path, db_url: str, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", db_url, "--quiet", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def _wait_for_succeeded(db_url: str, name: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _trials(db_url, name).get("trialsSucceeded", 0) >= count:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{count} trials did not succeed in time")


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "kill-9"])
def test_interrupt_then_resume_loses_and_reruns_nothing(tmp_path: Path, db_url: str, how: int) -> None:
    doc = _experiment("resumable", ["--steps=3", "--delay=0.3"], maxTrialCount=6, parallelTrialCount=2)
    path = _write(tmp_path, doc)
    runner = _start(path, db_url, tmp_path)
    _wait_for_succeeded(db_url, "resumable", 2)
    before = _trials(db_url, "resumable")
    runner.send_signal(how)
    runner.wait(timeout=60)
    if how == signal.SIGINT:
        assert runner.returncode == 130
        after_stop = _trials(db_url, "resumable")
        assert after_stop["trialsKilled"] >= 1  # the running trials were stopped and marked
    result = _run(path, db_url, "--resume", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    final = _trials(db_url, "resumable")
    assert final["trialsSucceeded"] == 6
    assert set(before["succeededTrialList"]) <= set(final["succeededTrialList"])
    logs = tmp_path / ".katib-flow" / "runs" / "resumable"
    for name in before["succeededTrialList"]:  # finished before the interruption, never run again
        assert (logs / name / "trial.log").read_text().count("step 0:") == 1


def test_a_second_runner_is_refused(tmp_path: Path, db_url: str) -> None:
    doc = _experiment("busy", ["--steps=20", "--delay=0.2"], maxTrialCount=2, parallelTrialCount=2)
    path = _write(tmp_path, doc)
    first = _start(path, db_url, tmp_path)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if _trials(db_url, "busy").get("trialsRunning", 0) >= 1:
                    break
            except Exception:
                pass
            time.sleep(0.1)
        second = _run(path, db_url, "--resume", cwd=tmp_path)
        assert second.returncode == 2
        assert "is being run by another katib-flow process" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=60)
