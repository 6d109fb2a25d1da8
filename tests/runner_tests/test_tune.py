"""tune(): a Python function per trial, in its own process."""

from __future__ import annotations

from pathlib import Path

import pytest

from katib_flow import SpecError, search, tune


def quadratic(params: dict[str, object]) -> dict[str, float]:
    import math

    x, n, kind = params["x"], params["n"], params["kind"]
    assert isinstance(x, float) and isinstance(n, int) and isinstance(kind, str)
    return {"score": -((x - 0.25) ** 2) - abs(n - 3) - (0 if kind == "b" else 1) + math.cos(0)}


def reports_itself(params: dict[str, object]) -> None:
    import katib_flow

    x = params["x"]
    assert isinstance(x, float)
    for step in range(3):
        katib_flow.report_metrics({"loss": (x - 0.5) ** 2 + 1 / (step + 1)}, step=step)


def test_tune_returns_the_best_trial_with_typed_parameters(tmp_path: Path) -> None:
    result = tune(
        quadratic,
        {"x": search.double(0, 1), "n": search.int(1, 5), "kind": search.categorical(["a", "b"])},
        objective_metric_name="score",
        algorithm_name="tpe",
        algorithm_settings={"random_state": 1, "n_startup_trials": 4},
        max_trial_count=8,
        parallel_trial_count=2,
        db=f"sqlite:///{tmp_path / 'db.sqlite'}",
        workdir=tmp_path,
    )
    assert result.succeeded and result.reason == "ExperimentMaxTrialsReached"
    assert set(result.parameters) == {"x", "n", "kind"}
    assert isinstance(result.parameters["n"], int) and isinstance(result.parameters["x"], float)
    assert result.objective is not None and result.objective > -5
    assert result.experiment == "quadratic"


def test_tune_with_report_metrics_and_minimize(tmp_path: Path) -> None:
    result = tune(
        reports_itself,
        {"x": search.double(0, 1)},
        objective_metric_name="loss",
        objective_type="minimize",
        max_trial_count=3,
        db=f"sqlite:///{tmp_path / 'db.sqlite'}",
        workdir=tmp_path,
    )
    assert result.succeeded
    assert result.objective is not None and result.objective < 0.6  # the last step's loss is min


def test_lambdas_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="needs a function defined with def"):
        tune(lambda p: {"m": 1.0}, {"x": search.double(0, 1)}, objective_metric_name="m", workdir=tmp_path)
