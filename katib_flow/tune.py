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
import re
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .dsl import Collector, EarlyStopping, Experiment, SearchParameter, algorithm, collector, maximize, minimize
from .exceptions import ExperimentExistsError, Problem, SpecError, check_choice
from .spec import constants as c

__all__ = ["TuneResult", "tune"]

_INT = re.compile(r"[+-]?\d+")


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

    ``objective(params)`` gets ``{name: value}`` with ints (int parameters, and
    discrete ones whose values are all ints), floats (double and other discrete
    parameters) and strings (categorical); it returns ``{"metric": value, ...}``
    or reports with :func:`katib_flow.report_metrics`. Defaults follow the Katib
    SDK (``objective_type="maximize"``, ``algorithm_name="random"``).

    Raises :class:`~katib_flow.exceptions.ExperimentFailedError` when the
    experiment failed or no trial succeeded (with the first failures'
    messages), :class:`~katib_flow.exceptions.SpecError` for a bad option, and
    ``KeyboardInterrupt`` (:class:`~katib_flow.exceptions.ExperimentInterrupted`)
    on Ctrl-C, after the running trials were recorded Killed; ``resume=True``
    continues from there.
    """
    from .runner import PROGRESS, run_experiment
    from .runner.folders import prepare_workdir
    from .templating import environment

    check_choice("objective_type", objective_type, (c.OBJECTIVE_MINIMIZE, c.OBJECTIVE_MAXIMIZE))
    check_choice("progress", progress, PROGRESS)
    _check_parameters(parameters)
    function = getattr(objective, "__name__", "")
    if function == "<lambda>" or not function.isidentifier():
        raise SpecError.single("objective", "tune() needs a function defined with def (a lambda has no source to ship)")
    try:
        source = textwrap.dedent(inspect.getsource(objective))
    except (OSError, TypeError) as err:
        raise SpecError.single("objective", f"the source of {function!r} is not available: {err}") from None
    experiment_name = name or function.replace("_", "-").lower()
    root = prepare_workdir(Path(workdir) if workdir is not None else Path.cwd() / ".katib-flow", "workdir")
    script = root / "tune" / experiment_name / "objective.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    types = {n: _python_type(p) for n, p in parameters.items()}
    # types: a repr of {str: "int" | "float" | "str"}; function: checked to be an identifier above
    wrapper = environment().get_template("tune_objective.py.j2").render(types=repr(types), function=function)
    script.write_text(f"{source}\n{wrapper}")
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
    try:
        result = run_experiment(
            experiment,
            db=db,
            resume=resume,
            workdir=root,
            progress=progress,
            require_result=True,
            _workdir_option="workdir",
        )
    except ExperimentExistsError:
        raise SpecError.single(
            "name",
            f"an experiment named {experiment_name!r} is already stored in this database; pass resume=True to "
            "continue it, or name=... for a new one",
        ) from None
    optimal = result.status["currentOptimalTrial"]  # require_result: there is one
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
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    return text


def _python_type(parameter: SearchParameter) -> str:
    """The Python type a trial receives: discrete values keep the type they were given."""
    kind = parameter.parameter_type
    if kind == c.PARAM_INT:
        return "int"
    if kind == c.PARAM_DISCRETE:
        return "int" if all(_INT.fullmatch(v) for v in parameter.values or ()) else "float"
    if kind == c.PARAM_DOUBLE:
        return "float"
    return "str"


def _check_parameters(parameters: Mapping[str, SearchParameter]) -> None:
    if not isinstance(parameters, Mapping) or not parameters:
        raise SpecError.single("parameters", "must be a non-empty dict of {name: search.double(...), ...}")
    problems = [
        Problem(
            f"parameters[{name!r}]",
            f"must be a search space such as search.double(0, 1) or search.categorical([...]) "
            f"(got {type(value).__name__} {value!r})",
        )
        for name, value in parameters.items()
        if not isinstance(value, SearchParameter)
    ]
    if problems:
        raise SpecError(problems)
