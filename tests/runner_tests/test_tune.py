"""tune(): a Python function per trial, in its own process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from katib_flow import SpecError, search, tune
from katib_flow.engine import evaluate, find_experiment
from katib_flow.exceptions import ExperimentFailedError
from katib_flow.store import Store


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


def always_raises(params: dict[str, object]) -> dict[str, float]:
    raise RuntimeError(f"diverged at x={params['x']}")


def returns_a_float(params: dict[str, object]) -> float:
    return 0.5


def returns_nothing(params: dict[str, object]) -> None:
    return None


def takes_discrete(params: dict[str, object]) -> dict[str, float]:
    batch, rate = params["batch"], params["rate"]
    assert isinstance(batch, int) and isinstance(rate, float), (batch, rate)
    return {"score": float(batch) * rate}


def _db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


@pytest.mark.parametrize(
    ("objective", "message"),
    [
        (always_raises, "RuntimeError: diverged at x="),
        (returns_a_float, "returns_a_float() must return a dict of metrics"),
        (returns_nothing, "Metrics are not available: no numeric value of 'score'"),
    ],
    ids=["raises", "float", "none"],
)
def test_no_successful_trial_raises_with_the_failures(tmp_path: Path, objective: Any, message: str) -> None:
    with pytest.raises(ExperimentFailedError) as caught:
        tune(objective, {"x": search.double(0, 1)}, objective_metric_name="score", max_trial_count=2, db=_db(tmp_path))
    error = caught.value
    assert error.status["trials"] == 2 and not error.status.get("currentOptimalTrial")
    assert len(error.failures) == 2 and message in error.failures[0].message
    assert message in str(error) and "no trial succeeded" in str(error)


def test_a_failed_experiment_raises(tmp_path: Path) -> None:
    with pytest.raises(ExperimentFailedError, match=r"failed \(ExperimentFailed\)"):
        tune(
            always_raises,
            {"x": search.double(0, 1)},
            objective_metric_name="score",
            max_trial_count=3,
            max_failed_trial_count=1,
            db=_db(tmp_path),
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"objective_type": "minimise"},
            r"objective_type: must be one of 'minimize', 'maximize' .*did you mean 'minimize'",
        ),
        ({"progress": "bar"}, r"progress: must be one of 'none', 'lines', 'live' \(got 'bar'\)"),
        ({"algorithm_name": "bayesian"}, r"did you mean 'bayesianoptimization'"),
    ],
)
def test_misspelt_options_are_refused(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        tune(quadratic, {"x": search.double(0, 1)}, objective_metric_name="score", db=_db(tmp_path), **options)
    assert not (tmp_path / "db.sqlite").exists() or "algorithm_name" in options


def test_parameters_that_are_not_search_spaces_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"parameters\['x'\]: must be a search space .*\(got tuple \(0, 1\)\)"):
        tune(quadratic, {"x": (0, 1)}, objective_metric_name="score", db=_db(tmp_path))  # type: ignore[dict-item]


def test_discrete_values_keep_their_type(tmp_path: Path) -> None:
    result = tune(
        takes_discrete,
        {"batch": search.discrete([16, 32, 64]), "rate": search.discrete([0.5, 1, 2])},
        objective_metric_name="score",
        algorithm_name="grid",
        max_trial_count=9,
        parallel_trial_count=2,
        db=_db(tmp_path),
    )
    assert result.parameters == {"batch": 64, "rate": 2.0}
    assert isinstance(result.parameters["batch"], int) and isinstance(result.parameters["rate"], float)


def test_relative_sqlite_url_works_for_pushed_metrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = tune(
        reports_itself,
        {"x": search.double(0, 1)},
        objective_metric_name="loss",
        max_trial_count=2,
        db="sqlite:///tune.db",
    )
    assert result.objective is not None  # the trials (in their own folders) wrote to ./tune.db, not ./<trial>/tune.db
    assert (tmp_path / "tune.db").is_file()


def test_running_the_same_script_twice_says_how_to_resume(tmp_path: Path) -> None:
    options: dict[str, Any] = {"objective_metric_name": "loss", "max_trial_count": 1, "db": _db(tmp_path)}
    options["objective_type"] = "minimize"
    first = tune(reports_itself, {"x": search.double(0, 1)}, **options)
    with pytest.raises(SpecError, match=r"name: an experiment named 'reports-itself' .*pass resume=True"):
        tune(reports_itself, {"x": search.double(0, 1)}, **options)
    again = tune(reports_itself, {"x": search.double(0, 1)}, resume=True, **options)  # finished: same result
    assert again == first


INTERRUPTED_SCRIPT = """
import sys, time
from katib_flow import search, tune

def slow(params):
    import time
    time.sleep(30)
    return {"score": 1.0}

try:
    tune(slow, {"x": search.double(0, 1)}, objective_metric_name="score", max_trial_count=4,
         parallel_trial_count=2, db=sys.argv[1])
except KeyboardInterrupt as stop:
    print("raised", type(stop).__name__, flush=True)
    sys.exit(7)
print("went on", flush=True)
"""


def test_ctrl_c_inside_tune_raises_keyboard_interrupt(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(INTERRUPTED_SCRIPT)
    db = _db(tmp_path)
    process = subprocess.Popen(
        [sys.executable, str(script), db], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if list((tmp_path / ".katib-flow" / "runs" / "slow").glob("*/trial.log")):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 7, err
    assert "raised ExperimentInterrupted" in out and "went on" not in out
    with Store(db) as store:
        status = evaluate(store, find_experiment(store, "slow").id).status
    assert status["trialsKilled"] >= 1 and status["trialsRunning"] == 0
