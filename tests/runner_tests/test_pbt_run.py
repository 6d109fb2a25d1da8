"""PBT run locally: each trial's checkpoint folder starts as its parent's, and kill -9 + --resume loses none."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from katib_flow.algorithms.pbt import GENERATION_LABEL, PARENT_LABEL
from katib_flow.engine import find_experiment
from katib_flow.store import Store, TrialRow

from .helpers import run_cli, start_cli, stored_status, trial_experiment, wait_for_succeeded

# A stand-in for a training program that resumes: it reads the lineage its checkpoint folder holds (its
# parent's, copied in), appends itself, and scores better the longer the lineage (more epochs trained).
PROGRAM = r"""
import json, os, pathlib, sys, time
args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
folder = pathlib.Path(args["checkpoint"])
state = folder / "lineage.json"
lineage = json.loads(state.read_text()) if state.exists() else []
lineage.append(os.environ["KATIB_TRIAL_NAME"])
time.sleep(float(args.get("delay", "0")))
state.write_text(json.dumps(lineage))
x = float(args["x"])
print(f"accuracy={min(0.99, 0.5 + 0.1 * len(lineage) - abs(x - 0.3)):.6f}")
"""


def pbt_experiment(name: str, *, trials: int, delay: float = 0.0) -> dict[str, Any]:
    """The runner tests' Job experiment, with pbt (population 5) and the stand-in program above."""
    settings = {
        "suggestion_trial_dir": "/var/log/katib/checkpoints/",
        "n_population": "5",
        "truncation_threshold": "0.4",
    }
    doc = trial_experiment(
        name,
        [],
        objective={"type": "maximize", "objectiveMetricName": "accuracy"},
        algorithm={"algorithmName": "pbt", "algorithmSettings": [{"name": k, "value": v} for k, v in settings.items()]},
        parallelTrialCount=3,
        maxTrialCount=trials,
        maxFailedTrialCount=3,
    )
    container = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    container["command"] = [
        sys.executable,
        "program.py",
        "--x=${trialParameters.x}",
        "--checkpoint=/var/log/katib/checkpoints/",
        f"--delay={delay}",
    ]
    return doc


def _write(folder: Path, doc: dict[str, Any]) -> Path:
    (folder / "program.py").write_text(PROGRAM)
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _trials(db_url: str, name: str) -> list[tuple[str, str, dict[str, Any]]]:
    with Store(db_url) as store:
        experiment_id = find_experiment(store, name).id
        with store.session() as session:
            rows = session.query(TrialRow).filter(TrialRow.experiment_id == experiment_id).order_by(TrialRow.seq)
            return [(r.name, r.state, dict(r.data or {})) for r in rows]


def _lineage(checkpoints: Path, trial: str) -> list[str]:
    return list(json.loads((checkpoints / trial / "lineage.json").read_text()))


def test_each_trial_continues_from_its_parents_checkpoint_generation_after_generation(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'pbt.db'}"  # the store's backends are covered by the kill -9 test below
    path = _write(tmp_path, pbt_experiment("pbt-local", trials=15))
    result = run_cli(path, db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    trials = _trials(db_url, "pbt-local")
    assert [state for _, state, _ in trials] == ["Succeeded"] * 15
    checkpoints = tmp_path / ".katib-flow" / "runs" / "pbt-local" / "checkpoints"
    generations = {}
    for name, _, data in trials:
        labels = data["labels"]
        generations[name] = int(labels[GENERATION_LABEL])
        parent = labels.get(PARENT_LABEL)
        if parent is None:
            assert generations[name] == 0 and _lineage(checkpoints, name) == [name]
        else:  # the parent's folder was copied in before the trial started, then the trial appended itself
            assert generations[parent] == generations[name] - 1
            assert _lineage(checkpoints, name) == [*_lineage(checkpoints, parent), name]
    assert sorted(generations.values()) == [0] * 5 + [1] * 5 + [2] * 5


def test_kill_9_then_resume_loses_no_checkpoint_and_runs_no_trial_twice(tmp_path: Path, db_url: str) -> None:
    path = _write(tmp_path, pbt_experiment("pbt-killed", trials=10, delay=0.4))
    runner = start_cli(path, db_url, tmp_path)
    wait_for_succeeded(db_url, "pbt-killed", 6)  # mid-population: generation 1 has started
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=60)
    checkpoints = tmp_path / ".katib-flow" / "runs" / "pbt-killed" / "checkpoints"
    before = {
        name: _lineage(checkpoints, name) for name, state, _ in _trials(db_url, "pbt-killed") if state == "Succeeded"
    }
    result = run_cli(path, db_url, "--resume", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert stored_status(db_url, "pbt-killed")["trialsSucceeded"] == 10
    for name, lineage in before.items():  # finished before the kill: never run again, folder untouched
        assert _lineage(checkpoints, name) == lineage
    trials = _trials(db_url, "pbt-killed")
    for name, state, data in trials:
        if state != "Succeeded":
            continue
        lineage = _lineage(checkpoints, name)
        assert lineage.count(name) == 1
        parent = data["labels"].get(PARENT_LABEL)
        assert lineage == ([*_lineage(checkpoints, parent), name] if parent else [name])
