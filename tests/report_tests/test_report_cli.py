"""``katib-flow report`` and ``katib-flow run --report``, with real trial processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.runner_tests.helpers import run_cli, start_cli, trial_experiment, write_experiment

CLI = [sys.executable, "-m", "katib_flow.cli"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


def test_run_report_is_written_and_ends_without_reloading(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    report = tmp_path / "out" / "report.html"
    path = write_experiment(tmp_path, trial_experiment("reported", ["--steps=4"], maxTrialCount=4))
    result = run_cli(path, db, "--report", str(report), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"report: {report}" in result.stderr
    html = report.read_text()
    assert 'data-standing="Succeeded"' in html
    assert "http-equiv" not in html  # the run is over: the page no longer reloads itself
    assert html.count('<tr class="succeeded') == 4
    assert '"curves"' in html  # four steps per trial: learning curves drawn from the observation logs


def test_run_report_says_running_and_reloads_while_trials_run(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    report = tmp_path / "report.html"
    doc = trial_experiment("slow", ["--steps=3", "--delay=0.5"], maxTrialCount=2, parallelTrialCount=1)
    process = start_cli(write_experiment(tmp_path, doc), db, tmp_path, "--report", str(report))
    try:
        deadline = time.monotonic() + 60
        while not report.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        during = report.read_text()
        assert 'data-standing="Running"' in during
        assert 'http-equiv="refresh" content="10"' in during
        assert process.wait(timeout=120) == 0
    finally:
        process.kill()
    after = report.read_text()
    assert 'data-standing="Succeeded"' in after and "http-equiv" not in after


def test_run_report_refuses_a_file_it_cannot_write_before_any_trial(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    path = write_experiment(tmp_path, trial_experiment("blocked", [], maxTrialCount=2))
    result = run_cli(path, db, "--report", str(blocker / "report.html"), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("katib-flow: --report: cannot create the folder of")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "db.sqlite").exists()  # refused before the experiment was stored


def test_report_command_writes_a_file_or_standard_output(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    path = write_experiment(tmp_path, trial_experiment("cmd", [], maxTrialCount=3))
    assert run_cli(path, db, cwd=tmp_path).returncode == 0
    written = _cli("report", "cmd", "--db", db, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    default = tmp_path / "cmd-report.html"
    assert f"wrote {default.name}" in written.stdout
    assert 'data-standing="Succeeded"' in default.read_text()
    to_stdout = _cli("report", "cmd", "--db", db, "-o", "-", cwd=tmp_path)
    assert to_stdout.stdout.startswith("<!doctype html>") and to_stdout.stdout.rstrip().endswith("</html>")
    missing = _cli("report", "nope", "--db", db, cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"katib-flow: no experiment named 'nope' in {db}"]
