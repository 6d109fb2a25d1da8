"""``tune()``: tune a Python function, in the spirit of the Katib SDK's ``tune()``.

Each trial runs the function in its own Python process: its source is written
to a small script (as the Katib SDK ships it into a container), so it must be
self-contained, with its imports inside it. It receives a dict of parameter
values of the right types and reports by returning a dict of metrics or by
calling :func:`katib_flow.report_metrics`.
"""

from __future__ import annotations

import inspect
import os
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .dsl import Collector, EarlyStopping, Experiment, SearchParameter, algorithm, collector, maximize, minimize
from .exceptions import SpecError
from .spec import constants as c

__all__ = ["TuneResult", "tune"]

_WRAPPER = """
import sys

import katib_flow

TYPES = {types}


def _value(name, text):
    kind = TYPES[name]
    if kind == "int":
        return int(text)
    if kind in ("double", "discrete"):
        return float(text)
    return text


params = {{}}
for arg in sys.argv[1:]:
    key, _, text = arg[2:].partition("=")
    params[key] = _value(key, text)
result = {name}(params)
if result is not None:
    katib_flow.report_metrics(result)
"""


@dataclass(frozen=True)
class TuneResult:
    """The best trial of a tuning run."""

    experiment: str
    trial: str | None
    parameters: dict[str, Any]
    objective: float | None
    metrics: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""
    succeeded: bool = False


def tune(
    objective: Callable[[dict[str, Any]], Mapping[str, float] | None],
    parameters: Mapping[str, SearchParameter],
    *,
    objective_metric_name: str,
    objective_type: Literal["minimize", "maximize"] = "maximize",
    objective_goal: float | None = None,
    additional_metric_names: Sequence[str] = (),
    algorithm_name: str = "random",
    algorithm_settings: Mapping[str, str | int | float | bool] | None = None,
    early_stopping: EarlyStopping | None = None,
    max_trial_count: int = 10,
    parallel_trial_count: int = 1,
    max_failed_trial_count: int | None = None,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    db: str | None = None,
    workdir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: Literal["none", "lines", "live"] = "none",
) -> TuneResult:
    """Run ``objective`` once per trial in its own process, locally, and return the best trial.

    ``objective(params)`` gets ``{name: value}`` with ints, floats (double and
    discrete) and strings (categorical); it returns ``{"metric": value, ...}``
    or reports with :func:`katib_flow.report_metrics`. Defaults follow the Katib
    SDK (``objective_type="maximize"``, ``algorithm_name="random"``).
    """
    from .runner import run_experiment

    function = objective.__name__
    if function == "<lambda>" or not function.isidentifier():
        raise SpecError.single("objective", "tune() needs a function defined with def (a lambda has no source to ship)")
    try:
        source = textwrap.dedent(inspect.getsource(objective))
    except (OSError, TypeError) as err:
        raise SpecError.single("objective", f"the source of {function!r} is not available: {err}") from None
    experiment_name = name or function.replace("_", "-").lower()
    root = Path(workdir) if workdir is not None else Path.cwd() / ".katib-flow"
    script = root / "tune" / experiment_name / "objective.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    types = {n: p.parameter_type for n, p in parameters.items()}
    script.write_text(source + _WRAPPER.format(types=repr(types), name=function))
    build = minimize if objective_type == c.OBJECTIVE_MINIMIZE else maximize
    push: Collector = collector.push()
    experiment = Experiment(
        experiment_name,
        objective=build(objective_metric_name, goal=objective_goal, additional_metrics=list(additional_metric_names)),
        algorithm=algorithm(algorithm_name, **(algorithm_settings or {})),
        early_stopping=early_stopping,
        parameters=parameters,
        image="python",
        command=[sys.executable, str(script), *(f"--{n}=${{trialParameters.{n}}}" for n in parameters)],
        env=dict(env or {}),
        metrics_collector=push,
        max_trial_count=max_trial_count,
        parallel_trial_count=parallel_trial_count,
        max_failed_trial_count=max_failed_trial_count,
    ).to_model()
    result = run_experiment(experiment, db=db, resume=resume, workdir=root, progress=progress)
    optimal = result.status.get("currentOptimalTrial")
    if not optimal:
        return TuneResult(experiment_name, None, {}, None, [], result.reason, result.succeeded)
    values = {a["name"]: a["value"] for a in optimal["parameterAssignments"]}
    typed = {n: _typed(types[n], v) for n, v in values.items()}
    strategy = "min" if objective_type == c.OBJECTIVE_MINIMIZE else "max"
    objective_value = next(
        (
            float(m[strategy])
            for m in optimal["observation"]["metrics"]
            if m["name"] == objective_metric_name and m[strategy] != "unavailable"
        ),
        None,
    )
    return TuneResult(
        experiment_name,
        optimal["bestTrialName"],
        typed,
        objective_value,
        optimal["observation"]["metrics"],
        result.reason,
        result.succeeded,
    )


def _typed(kind: str, text: str) -> Any:
    if kind == c.PARAM_INT:
        return int(text)
    if kind in (c.PARAM_DOUBLE, c.PARAM_DISCRETE):
        return float(text)
    return text
