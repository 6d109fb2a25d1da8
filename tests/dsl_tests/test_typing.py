"""The public API is fully typed: user code type-checks under ``mypy --strict``, and misuse does not."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

GOOD = """
from katib_flow import Experiment, Problem, SpecError, algorithm, collector, load_experiment, minimize, search
from katib_flow import spec

exp: Experiment = Experiment(
    "typed",
    objective=minimize("loss", goal=0.1),
    algorithm=algorithm("tpe", n_startup_trials=3, constant_liar=True),
    parameters={"lr": search.double(0.01, 0.1, distribution="logUniform"), "n": search.int(1, 3)},
    image="img",
    command=["python3", "t.py", "--lr=${trialParameters.lr}", "--n=${trialParameters.n}"],
    metrics_collector=collector.stdout(),
)
text: str = exp.to_yaml()
model: spec.Experiment = exp.to_model()
problems: list[Problem] = exp.validate()
loaded: spec.Experiment = load_experiment("x.yaml")
count: int | None = loaded.spec.max_trial_count
try:
    pass
except SpecError as err:
    paths: list[str] = [p.path for p in err.problems]
"""

BAD = """
from katib_flow import minimize, search
search.double("low", 1.0)
search.double(0.0, 1.0, distribution="gaussian")
minimize(3)
"""


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    path = tmp_path / "user_code.py"
    path.write_text(source)
    out, err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy_cache"), str(path)]
    )
    return out + err, status


def test_user_code_type_checks_strictly(tmp_path: Path) -> None:
    output, status = _mypy(tmp_path, GOOD)
    assert status == 0, output


def test_misuse_is_caught_by_the_type_checker(tmp_path: Path) -> None:
    output, status = _mypy(tmp_path, BAD)
    assert status == 1
    assert output.count("error:") == 3, output
