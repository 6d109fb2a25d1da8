"""The project's examples double as golden tests: each DSL script prints exactly its YAML twin."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from katib_flow.spec import load_experiment, validate

from .conftest import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "examples"
DSL_SCRIPTS = sorted(p for p in EXAMPLES.glob("*/experiment*.py"))


@pytest.mark.parametrize("script", DSL_SCRIPTS, ids=[str(p.relative_to(EXAMPLES)) for p in DSL_SCRIPTS])
def test_dsl_example_prints_its_yaml_twin(script: Path) -> None:
    twin = script.with_suffix(".yaml")
    built = runpy.run_path(str(script))["experiment"].to_yaml()
    assert built == twin.read_text(), f"{twin} is stale: regenerate it with python {script} > {twin}"


VALID_YAML = sorted(p for p in EXAMPLES.glob("*/*.yaml") if p.parent.name != "invalid")


@pytest.mark.parametrize("path", VALID_YAML, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_yaml_is_valid(path: Path) -> None:
    assert validate(load_experiment(path)) == []


def test_quickstart_training_script_prints_metrics_for_the_stdout_collector() -> None:
    script = EXAMPLES / "quickstart" / "train.py"
    out = subprocess.run(
        [sys.executable, str(script), "--lr=0.03", "--momentum=0.7", "--optimizer=adam", "--epochs=2"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert len(out) == 2
    assert all("loss=" in line and "accuracy=" in line for line in out)


def test_digits_training_script_prints_katib_metrics() -> None:
    script = EXAMPLES / "digits" / "train.py"
    out = subprocess.run(
        [sys.executable, str(script), "--lr=0.01", "--num-layers=1", "--units=16", "--optimizer=adam", "--epochs=2"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.splitlines()
    assert len(out) == 2
    assert all("Validation-accuracy=" in line and "Train-accuracy=" in line for line in out)


def test_pbt_training_script_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    script = EXAMPLES / "pbt" / "train.py"

    def train(lr: str) -> list[str]:
        return subprocess.run(
            [sys.executable, str(script), f"--lr={lr}", "--alpha=0.0001", "--epochs=2", f"--checkpoint={tmp_path}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout.splitlines()

    first = train("0.01")
    assert [line.split(":")[0] for line in first] == ["epoch 1", "epoch 2"]
    # a child (a copy of this folder) goes on from epoch 3 with its own learning rate
    second = train("0.005")
    assert [line.split(":")[0] for line in second] == ["epoch 3", "epoch 4"]
    assert all("Validation-accuracy=" in line for line in first + second)
