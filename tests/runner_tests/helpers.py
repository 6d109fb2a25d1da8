"""Building and running test experiments: a Job whose container runs scripts.TRAIN with real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from katib_flow.engine import evaluate, find_experiment
from katib_flow.store import Store

from .scripts import write_train


def trial_experiment(name: str, args: list[str], **spec: Any) -> dict[str, Any]:
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


def write_experiment(folder: Path, doc: dict[str, Any]) -> Path:
    write_train(folder)
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def run_cli(path: Path, db_url: str, *extra: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", db_url, "--quiet", *extra],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
        check=False,
    )


def stored_status(db_url: str, name: str) -> dict[str, Any]:
    with Store(db_url) as store:
        return evaluate(store, find_experiment(store, name).id).status


def start_cli(path: Path, db_url: str, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", db_url, "--quiet", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def wait_for_succeeded(db_url: str, name: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if stored_status(db_url, name).get("trialsSucceeded", 0) >= count:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{count} trials did not succeed in time")


def trial_processes(experiment: str) -> list[int]:
    """Live processes started for a trial of ``experiment`` (their environment names the trial)."""
    marker = f"KATIB_FLOW_TRIAL_NAME={experiment}-".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(item.startswith(marker) for item in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def wait_until(check: Any, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``check()`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the database may not exist yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")
