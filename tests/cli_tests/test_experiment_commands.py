"""``status``, ``trials``, ``list``, ``delete``: reading (and deleting) stored experiments from the command line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.runner_tests.helpers import run_cli, trial_experiment, write_experiment

CLI = [sys.executable, "-m", "katib_flow.cli"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=60, check=False)


@pytest.fixture
def stored(tmp_path: Path) -> str:
    """A database holding 'mixed' (3 trials: 2 succeeded, 1 failed) in namespace kubeflow."""
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    doc = trial_experiment("mixed", [], maxTrialCount=3, parallelTrialCount=1)
    doc["metadata"]["namespace"] = "kubeflow"
    doc["spec"]["parameters"][0]["feasibleSpace"] = {"min": "0.1", "max": "0.3", "step": "0.1"}
    doc["spec"]["algorithm"] = {"algorithmName": "grid"}
    # x=0.3 fails: the training script takes --mode from its arguments, so fail by a bad flag value for one point.
    container = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    container["command"] = [
        sys.executable,
        "-c",
        "import sys; x=float(sys.argv[1]); print('bad input', x) or sys.exit(4) if x > 0.25 else print(f'loss={x}')",
        "${trialParameters.x}",
    ]
    result = run_cli(write_experiment(tmp_path, doc), db, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return db


def test_status_finds_a_namespaced_experiment_by_name_and_shows_failures(tmp_path: Path, stored: str) -> None:
    shown = _cli("status", "mixed", "--db", stored, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "experiment succeeded: ExperimentMaxTrialsReached" in shown.stdout
    assert f"logs: {tmp_path / '.katib-flow' / 'runs' / 'kubeflow.mixed'}" in shown.stdout
    as_json = json.loads(_cli("status", "mixed", "-n", "kubeflow", "--db", stored, "-o", "json", cwd=tmp_path).stdout)
    assert as_json["trialsSucceeded"] == 2 and as_json["trialsFailed"] == 1
    missing = _cli("status", "mixed", "-n", "default", "--db", stored, cwd=tmp_path)
    assert missing.returncode == 2 and "no experiment named 'mixed' in namespace 'default'" in missing.stderr


def test_status_lists_the_namespaces_of_an_ambiguous_name(tmp_path: Path, stored: str) -> None:
    doc = trial_experiment("mixed", [], maxTrialCount=1, parallelTrialCount=1)
    (tmp_path / "other").mkdir()
    assert run_cli(write_experiment(tmp_path / "other", doc), stored, cwd=tmp_path).returncode == 0
    ambiguous = _cli("status", "mixed", "--db", stored, cwd=tmp_path)
    assert ambiguous.returncode == 2
    assert "exist in several namespaces ('kubeflow', (none))" in ambiguous.stderr and "--namespace" in ambiguous.stderr


def test_trials_show_why_a_trial_failed_in_every_format(tmp_path: Path, stored: str) -> None:
    text = _cli("trials", "mixed", "--db", stored, cwd=tmp_path)
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "REASON", "LOSS", "SECONDS", "PARAMETERS"]
    failed_row = next(i for i, line in enumerate(lines) if " Failed " in line)
    assert "the command exited with code 4" in lines[failed_row + 1] and "bad input 0.3" in text.stdout
    records = json.loads(_cli("trials", "mixed", "--db", stored, "-o", "json", cwd=tmp_path).stdout)
    assert [r["state"] for r in records] == ["Succeeded", "Succeeded", "Failed"]
    assert "exited with code 4" in records[2]["message"]
    assert yaml.safe_load(_cli("trials", "mixed", "--db", stored, "-o", "yaml", cwd=tmp_path).stdout) == records
    table = list(csv.DictReader(io.StringIO(_cli("trials", "mixed", "--db", stored, "-o", "csv", cwd=tmp_path).stdout)))
    assert [r["x"] for r in table] == ["0.1", "0.2", "0.3"] and table[2]["objective"] == ""
    best_first = json.loads(
        _cli("trials", "mixed", "--db", stored, "-o", "json", "--sort", "objective", cwd=tmp_path).stdout
    )
    assert [r["assignments"]["x"] for r in best_first] == ["0.1", "0.2", "0.3"]  # minimize: lowest loss first


def test_list_shows_every_stored_experiment(tmp_path: Path, stored: str) -> None:
    text = _cli("list", "--db", stored, cwd=tmp_path).stdout.splitlines()
    assert text[0].split()[:4] == ["NAME", "NAMESPACE", "STATE", "REASON"]
    assert text[1].split()[:6] == ["mixed", "kubeflow", "Succeeded", "ExperimentMaxTrialsReached", "3", "2"]
    (record,) = json.loads(_cli("list", "--db", stored, "-o", "json", cwd=tmp_path).stdout)
    assert record["bestObjective"] == pytest.approx(0.1) and record["objectiveMetricName"] == "loss"


def test_delete_removes_the_experiment_and_its_folders(tmp_path: Path, stored: str) -> None:
    folder = tmp_path / ".katib-flow" / "runs" / "kubeflow.mixed"
    assert folder.is_dir()
    deleted = _cli("delete", "mixed", "--db", stored, "--debug", cwd=tmp_path)  # --debug after the command
    assert deleted.returncode == 0, deleted.stderr
    assert "deleted experiment 'mixed' (3 trials)" in deleted.stdout and not folder.exists()
    assert json.loads(_cli("list", "--db", stored, "-o", "json", cwd=tmp_path).stdout) == []
    again = _cli("delete", "mixed", "--db", stored, cwd=tmp_path)
    assert again.returncode == 2 and "no experiment named 'mixed'" in again.stderr


@pytest.mark.parametrize("command", ["status", "trials", "list", "delete"])
def test_read_commands_never_create_a_database(tmp_path: Path, command: str) -> None:
    typo = tmp_path / "typo" / "katib-flow.db"
    args = [command] if command == "list" else [command, "anything"]
    result = _cli(*args, "--db", f"sqlite:///{typo}", cwd=tmp_path)
    assert result.returncode == 2 and "no katib-flow database at" in result.stderr
    assert not typo.parent.exists()
    default = _cli(*args, cwd=tmp_path)  # the default database does not exist either
    assert default.returncode == 2 and not (tmp_path / ".katib-flow").exists()
