"""Katib's own example experiments whose trial is a plain Job run locally unchanged but for the program.

The training image's ``python3 /opt/...mnist.py`` is replaced by a local stand-in
that prints (or writes, for the File collector example) metrics exactly as those
images do; every other argument, the collector and the algorithm are Katib's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_flow.engine import evaluate, find_experiment
from katib_flow.store import Store

from ..conftest import katib_example_files

STAND_IN = r"""
import random, sys
args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:] if "=" in a)
lr = float(args.get("lr", args.get("learning-rate", "0.01")))
rng = random.Random(sys.argv[1:].__str__())
epochs = int(args.get("epochs", "1"))
log_path = args.get("log-path")
lines = []
for epoch in range(1, epochs + 1):
    loss = abs(lr - 0.03) * 10 + rng.uniform(0, 0.05) + 0.5 / epoch
    accuracy = 1 - loss / 2
    lines.append(f"2026-01-23T05:19:53Z INFO     Train Epoch: {epoch} [0/60000 (0%)]\tloss={loss:.4f}")
    lines.append("2026-01-23T05:19:54Z INFO     {metricName: accuracy, metricValue: %.4f};"
                 "{metricName: loss, metricValue: %.4f}" % (accuracy, loss))
if log_path:
    with open(log_path, "w") as f:
        f.write("\n".join(lines) + "\n")
else:
    print("\n".join(lines))
"""

JOB_EXAMPLES = [
    p
    for p in katib_example_files()
    if yaml.safe_load(p.read_text())["spec"]["trialTemplate"]["trialSpec"]["kind"] == "Job"
]


def _localised(path: Path, stand_in: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    container = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    assert command[0] == "python3" and command[1].startswith("/opt/")
    container["command"] = [sys.executable, str(stand_in), *command[2:]]
    doc["spec"]["maxTrialCount"] = max(doc["spec"]["parallelTrialCount"], 2)
    doc["spec"]["maxFailedTrialCount"] = 0
    doc["spec"]["objective"].pop("goal", None)
    return doc


@pytest.mark.skipif(not JOB_EXAMPLES, reason="../shared/katib-examples is absent")
@pytest.mark.parametrize("example", JOB_EXAMPLES, ids=[p.stem for p in JOB_EXAMPLES])
def test_katib_job_example_runs_locally(tmp_path: Path, example: Path) -> None:
    stand_in = tmp_path / "mnist_stand_in.py"
    stand_in.write_text(STAND_IN)
    path = tmp_path / example.name
    path.write_text(yaml.safe_dump(_localised(example, stand_in)))
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = subprocess.run(
        [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", db, "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    name = yaml.safe_load(path.read_text())["metadata"]["name"]
    with Store(db) as store:
        status = evaluate(store, find_experiment(store, name, "kubeflow").id).status
    assert status["trialsSucceeded"] >= 2
    metrics = {m["name"] for m in status["currentOptimalTrial"]["observation"]["metrics"]}
    assert yaml.safe_load(path.read_text())["spec"]["objective"]["objectiveMetricName"] in metrics
