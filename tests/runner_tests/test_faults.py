"""The local runner under faults: interruptions, killed runners, stale folders, a full disk, tight limits.

Every test drives the real command (``python -m katib_flow.cli run``) with real trial processes.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import (
    run_cli,
    start_cli,
    stored_status,
    trial_experiment,
    trial_processes,
    wait_until,
    write_experiment,
)

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="process checks read /proc")


def test_trial_folders_of_another_experiment_are_moved_aside(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, trial_experiment("again", [], maxTrialCount=2))
    first = run_cli(path, f"sqlite:///{tmp_path / 'one.db'}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    # Same experiment, same seed, hence the same trial names, against a new database.
    second = run_cli(path, f"sqlite:///{tmp_path / 'two.db'}", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "held the trial folders of another experiment named 'again'" in second.stderr
    runs = tmp_path / ".katib-flow" / "runs"
    (moved,) = runs.glob("again.replaced-*")
    for log in (runs / "again").glob("*/trial.log"):
        assert log.read_text().count("step 0:") == 1  # not appended to the first run's log
        assert (moved / log.parent.name / "trial.log").is_file()  # the old one is kept, not deleted
    third = run_cli(path, f"sqlite:///{tmp_path / 'two.db'}", "--resume", cwd=tmp_path)  # its own folder: kept
    assert third.returncode == 0 and "held the trial folders" not in third.stderr


def test_interrupted_grid_points_are_run_on_resume(tmp_path: Path, db_url: str) -> None:
    doc = trial_experiment("grid", ["--steps=2", "--delay=1"], maxTrialCount=4, parallelTrialCount=2)
    doc["spec"]["algorithm"] = {"algorithmName": "grid"}
    doc["spec"]["parameters"][0]["feasibleSpace"] = {"min": "0.1", "max": "0.4", "step": "0.1"}
    path = write_experiment(tmp_path, doc)
    runner = start_cli(path, db_url, tmp_path)
    wait_until(lambda: stored_status(db_url, "grid").get("trialsRunning", 0) == 2, what="two running trials")
    runner.send_signal(signal.SIGINT)
    runner.wait(timeout=60)
    assert runner.returncode == 130
    assert stored_status(db_url, "grid")["trialsKilled"] >= 1
    resumed = run_cli(path, db_url, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = stored_status(db_url, "grid")
    assert final["trialsSucceeded"] == 4
    assert final["conditions"][-1]["reason"] == "ExperimentMaxTrialsReached"  # not SuggestionEndReached


def _stubborn(tmp_path: Path, name: str) -> tuple[Path, str]:
    doc = trial_experiment(name, ["--mode=stubborn"], maxTrialCount=3, parallelTrialCount=3)
    return write_experiment(tmp_path, doc), f"sqlite:///{tmp_path / 'db.sqlite'}"


def test_ctrl_c_stops_every_trial_within_one_grace_period(tmp_path: Path) -> None:
    path, db = _stubborn(tmp_path, "stubborn")
    runner = start_cli(path, db, tmp_path)
    wait_until(lambda: len(trial_processes("stubborn")) == 3, what="three trials")
    time.sleep(0.5)  # let them install their SIGTERM handlers
    started = time.monotonic()
    runner.send_signal(signal.SIGINT)
    runner.wait(timeout=60)
    elapsed = time.monotonic() - started
    # One 5 s grace period for all three, then SIGKILL; one after another took 15 s.
    assert elapsed < 10, elapsed
    assert runner.returncode == 130
    assert stored_status(db, "stubborn")["trialsKilled"] == 3
    assert trial_processes("stubborn") == []


def test_a_second_ctrl_c_kills_at_once(tmp_path: Path) -> None:
    path, db = _stubborn(tmp_path, "twice")
    runner = start_cli(path, db, tmp_path)
    wait_until(lambda: len(trial_processes("twice")) == 3, what="three trials")
    time.sleep(0.5)
    runner.send_signal(signal.SIGINT)
    time.sleep(0.3)
    started = time.monotonic()
    runner.send_signal(signal.SIGINT)
    runner.wait(timeout=60)
    assert time.monotonic() - started < 3  # not the rest of the 5 s grace period
    assert runner.returncode == 130
    assert stored_status(db, "twice")["trialsKilled"] == 3


def test_sighup_stops_the_run_cleanly(tmp_path: Path) -> None:
    doc = trial_experiment("hup", ["--mode=sleep"], maxTrialCount=2, parallelTrialCount=2)
    path, db = write_experiment(tmp_path, doc), f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = start_cli(path, db, tmp_path)
    wait_until(lambda: len(trial_processes("hup")) == 2, what="two trials")
    runner.send_signal(signal.SIGHUP)  # the terminal was closed
    runner.wait(timeout=30)
    assert runner.returncode == 129
    assert stored_status(db, "hup")["trialsKilled"] == 2
    assert trial_processes("hup") == []


def test_trials_die_with_a_killed_runner_and_resume_finds_no_orphan(tmp_path: Path, db_url: str) -> None:
    doc = trial_experiment("orphans", ["--mode=spawn"], maxTrialCount=2, parallelTrialCount=2)
    path = write_experiment(tmp_path, doc)
    runner = start_cli(path, db_url, tmp_path)
    wait_until(lambda: len(trial_processes("orphans")) == 4, what="two trials with a child each")
    runner.kill()  # kill -9: no handler runs
    runner.wait(timeout=30)
    # The trials' own processes die with the runner (parent-death signal)...
    wait_until(lambda: len(trial_processes("orphans")) == 2, timeout=10, what="trial processes dying")
    assert stored_status(db_url, "orphans")["trialsRunning"] == 2  # nobody could record them
    # ...and what they started is killed when a runner takes the experiment over.
    doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"][-1] = "--steps=1"
    path = write_experiment(tmp_path, doc)
    resumed = run_cli(path, db_url, "--resume", cwd=tmp_path)
    assert resumed.returncode == 2 and "only spec.parallelTrialCount" in resumed.stderr  # a changed trial is refused
    doc = trial_experiment("orphans", ["--mode=spawn"], maxTrialCount=2, parallelTrialCount=2)
    runner = start_cli(write_experiment(tmp_path, doc), db_url, tmp_path, "--resume")
    try:
        wait_until(lambda: stored_status(db_url, "orphans").get("trialsKilled", 0) == 2, what="orphans marked Killed")
        wait_until(lambda: len(trial_processes("orphans")) == 4, what="the reruns")
        killed_orphans = stored_status(db_url, "orphans")["killedTrialList"]
        remaining = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        assert remaining.count("while True") == 2  # only the reruns' children, not the orphans'
        assert len(killed_orphans) == 2
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=30)
    assert trial_processes("orphans") == []


def _limited(kind: int, limit: int) -> None:
    resource.setrlimit(kind, (limit, limit))
    if kind == resource.RLIMIT_FSIZE:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like ENOSPC


def test_a_full_disk_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    doc = trial_experiment("full", ["--mode=loud", "--kb=8000"], maxTrialCount=2, parallelTrialCount=1)
    path, db = write_experiment(tmp_path, doc), f"sqlite:///{tmp_path / 'db.sqlite'}"
    command = [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", db, "--quiet"]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        preexec_fn=lambda: _limited(resource.RLIMIT_FSIZE, 4 * 1024 * 1024),
    )
    assert result.returncode == 2, result.stderr
    assert "the runner could not write" in result.stderr and "trial.log: File too large" in result.stderr
    assert "Traceback" not in result.stderr
    status = stored_status(db, "full")
    assert status["trialsKilled"] == 1 and status["trialsSucceeded"] == 0  # recorded; runs again on resume
    assert trial_processes("full") == []


def test_more_parallel_trials_than_open_files_is_refused_before_start(tmp_path: Path) -> None:
    doc = trial_experiment("wide", [], maxTrialCount=300, parallelTrialCount=300)
    path, db = write_experiment(tmp_path, doc), f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = subprocess.run(
        [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", db, "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
        preexec_fn=lambda: _limited(resource.RLIMIT_NOFILE, 256),
    )
    assert result.returncode == 2
    assert "spec.parallelTrialCount: 300 parallel trials need about 1264 open files" in result.stderr
    assert "lower parallelTrialCount to 48" in result.stderr
    assert not (tmp_path / "db.sqlite").exists()  # refused before anything was stored


def test_workdir_and_db_options_are_checked(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, trial_experiment("opts", [], maxTrialCount=2))
    cli = [sys.executable, "-m", "katib_flow.cli", "run", str(path)]
    bad_workdir = subprocess.run([*cli, "--workdir", "/dev/null"], capture_output=True, text=True, cwd=tmp_path)
    assert bad_workdir.returncode == 2
    assert "--workdir: cannot use '/dev/null' for trial folders: it is not a folder" in bad_workdir.stderr
    empty_db = subprocess.run([*cli, "--db", ""], capture_output=True, text=True, cwd=tmp_path)
    assert empty_db.returncode == 2 and "the database URL is empty" in empty_db.stderr
    assert not (tmp_path / ".katib-flow" / "katib-flow.db").exists()


def test_a_relative_workdir_with_the_file_collector(tmp_path: Path) -> None:
    doc = trial_experiment("relfile", ["--out=/katib/metrics.log"], maxTrialCount=2)
    doc["spec"]["metricsCollectorSpec"] = {
        "collector": {"kind": "File"},
        "source": {"fileSystemPath": {"path": "/katib/metrics.log", "kind": "File"}},
    }
    path, db = write_experiment(tmp_path, doc), f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = run_cli(path, db, "--workdir", "wd", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr  # was: every trial MetricsUnavailable
    assert stored_status(db, "relfile")["trialsSucceeded"] == 2
    assert len(list((tmp_path / "wd" / "runs" / "relfile").glob("*/fs/katib/metrics.log"))) == 2
