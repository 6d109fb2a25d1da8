"""`katib-flow run` with trial kinds beyond Job: a TrainJob's trainer runs locally; an Argo Workflow is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..trial_kinds import ARGO_WORKFLOW, CUSTOM_KIND, experiment_with, local_train_job
from .helpers import stored_status
from .scripts import write_train


def _run(tmp_path: Path, doc: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc))
    return subprocess.run(
        [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", f"sqlite:///{tmp_path / 'db'}", "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def test_a_train_job_runs_its_trainer_as_a_local_process(tmp_path: Path) -> None:
    script = write_train(tmp_path)
    result = _run(tmp_path, experiment_with(local_train_job(str(script)), "trainjob"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert stored_status(f"sqlite:///{tmp_path / 'db'}", "trainjob")["trialsSucceeded"] == 2


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (ARGO_WORKFLOW, "trials of kind argoproj.io/v1alpha1 Workflow run several steps, each in its own container"),
        (CUSTOM_KIND, "cannot see the primary container 'learner' in trials of kind example.com/v1 Training"),
    ],
    ids=["argo", "custom"],
)
def test_kinds_that_are_not_one_process_are_refused_with_one_line(
    tmp_path: Path, template: dict[str, Any], message: str
) -> None:
    result = _run(tmp_path, experiment_with(template))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("katib-flow: spec.trialTemplate.trialSpec.kind: ") and message in line
    assert "katib-flow compile" in line
    assert not (tmp_path / "db").exists()  # refused before anything was stored
