"""Python builders for Katib experiments.

Everything here produces the wire models of :mod:`katib_flow.spec`; the YAML a
builder writes is what Katib itself accepts::

    from katib_flow import Experiment, algorithm, minimize, search

    exp = Experiment(
        "mnist-random",
        objective=minimize("loss", goal=0.001),
        algorithm=algorithm("random", random_state=10),
        parameters={"lr": search.double(0.01, 0.05), "momentum": search.double(0.5, 0.9)},
        image="python:3.11",
        command=["python3", "train.py", "--lr=${trialParameters.lr}", "--momentum=${trialParameters.momentum}"],
        max_trial_count=12,
        parallel_trial_count=3,
    )
    print(exp.to_yaml())
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from . import spec
from .exceptions import Problem, SpecError
from .space import parse_parameter
from .spec import constants as c
from .spec.paths import FieldPath
from .spec.placeholders import parameter_placeholders

__all__ = [
    "Algorithm",
    "Collector",
    "EarlyStopping",
    "Experiment",
    "Objective",
    "SearchParameter",
    "algorithm",
    "collector",
    "early_stopping",
    "maximize",
    "minimize",
    "search",
]

Distribution = Literal["uniform", "logUniform", "normal", "logNormal"]
Number = float | int
SettingValue = str | int | float | bool


def _text(value: SettingValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class SearchParameter:
    """One parameter's feasible space; the name comes from the ``parameters`` mapping."""

    parameter_type: str
    min: str | None = None
    max: str | None = None
    step: str | None = None
    values: tuple[str, ...] | None = None
    distribution: str | None = None

    def to_spec(self, name: str) -> spec.ParameterSpec:
        return spec.ParameterSpec(
            name=name,
            parameter_type=self.parameter_type,
            feasible_space=spec.FeasibleSpace(
                min=self.min,
                max=self.max,
                step=self.step,
                values=list(self.values) if self.values is not None else None,
                distribution=self.distribution,
            ),
        )


def _checked(param: SearchParameter, what: str) -> SearchParameter:
    # Fail at the call that is wrong, as Optuna's suggest_* do, not at to_yaml() time.
    _, problems = parse_parameter(param.to_spec("_"), FieldPath(f"search.{what}"))
    if problems:
        raise SpecError(problems)
    return param


def _double(
    min: Number, max: Number, step: Number | None = None, distribution: Distribution | None = None
) -> SearchParameter:
    """A float in [min, max]; with ``step`` only min + k*step values (a grid for algorithm grid)."""
    return _checked(
        SearchParameter(
            c.PARAM_DOUBLE,
            _text(float(min)),
            _text(float(max)),
            None if step is None else _text(float(step)),
            None,
            distribution,
        ),
        "double",
    )


def _int(min: int, max: int, step: int | None = None, distribution: Distribution | None = None) -> SearchParameter:
    """An integer in [min, max] (both inclusive)."""
    return _checked(
        SearchParameter(c.PARAM_INT, str(min), str(max), None if step is None else str(step), None, distribution), "int"
    )


def _categorical(values: Sequence[str | int | float | bool]) -> SearchParameter:
    """One of ``values``, passed to the trial as text."""
    return _checked(SearchParameter(c.PARAM_CATEGORICAL, values=tuple(_text(v) for v in values)), "categorical")


def _discrete(values: Sequence[int | float]) -> SearchParameter:
    """One of the numbers in ``values``; ordered, so model-based algorithms can exploit it."""
    return _checked(SearchParameter(c.PARAM_DISCRETE, values=tuple(_text(v) for v in values)), "discrete")


class _Search:
    """``search.double``, ``search.int``, ``search.categorical``, ``search.discrete``."""

    double = staticmethod(_double)
    categorical = staticmethod(_categorical)
    discrete = staticmethod(_discrete)
    int = staticmethod(_int)


search = _Search()


@dataclass(frozen=True)
class Objective:
    type: str
    metric: str
    goal: float | None = None
    additional_metrics: tuple[str, ...] = ()
    strategies: tuple[tuple[str, str], ...] = ()

    def to_spec(self) -> spec.ObjectiveSpec:
        return spec.ObjectiveSpec(
            type=self.type,
            goal=self.goal,
            objective_metric_name=self.metric,
            additional_metric_names=list(self.additional_metrics) or None,
            metric_strategies=[spec.MetricStrategy(name=n, value=v) for n, v in self.strategies] or None,
        )


def minimize(
    metric: str,
    goal: float | None = None,
    additional_metrics: Sequence[str] = (),
    strategies: Mapping[str, str] | None = None,
) -> Objective:
    """Minimize ``metric``; stop when it reaches ``goal``. ``strategies`` maps a metric to min, max or latest."""
    return Objective(c.OBJECTIVE_MINIMIZE, metric, goal, tuple(additional_metrics), tuple((strategies or {}).items()))


def maximize(
    metric: str,
    goal: float | None = None,
    additional_metrics: Sequence[str] = (),
    strategies: Mapping[str, str] | None = None,
) -> Objective:
    """Maximize ``metric``; stop when it reaches ``goal``. ``strategies`` maps a metric to min, max or latest."""
    return Objective(c.OBJECTIVE_MAXIMIZE, metric, goal, tuple(additional_metrics), tuple((strategies or {}).items()))


@dataclass(frozen=True)
class Algorithm:
    name: str
    settings: tuple[tuple[str, str], ...] = ()

    def to_spec(self) -> spec.AlgorithmSpec:
        entries = [spec.AlgorithmSetting(name=k, value=v) for k, v in self.settings]
        return spec.AlgorithmSpec(algorithm_name=self.name, algorithm_settings=entries or None)


def algorithm(name: str, **settings: SettingValue) -> Algorithm:
    """A search algorithm by Katib name with its settings, e.g. ``algorithm("tpe", n_startup_trials=5)``."""
    return Algorithm(name, tuple((k, _text(v)) for k, v in settings.items()))


@dataclass(frozen=True)
class EarlyStopping:
    name: str
    settings: tuple[tuple[str, str], ...] = ()

    def to_spec(self) -> spec.EarlyStoppingSpec:
        entries = [spec.EarlyStoppingSetting(name=k, value=v) for k, v in self.settings]
        return spec.EarlyStoppingSpec(algorithm_name=self.name, algorithm_settings=entries or None)


def early_stopping(name: str = "medianstop", **settings: SettingValue) -> EarlyStopping:
    """Early stopping by Katib name, e.g. ``early_stopping("medianstop", min_trials_required=2)``."""
    return EarlyStopping(name, tuple((k, _text(v)) for k, v in settings.items()))


@dataclass(frozen=True)
class Collector:
    kind: str
    path: str | None = None
    file_kind: str | None = None
    format: str | None = None
    filters: tuple[str, ...] = ()

    def to_spec(self) -> spec.MetricsCollectorSpec:
        fs = None if self.path is None else spec.FileSystemPath(path=self.path, kind=self.file_kind, format=self.format)
        flt = spec.FilterSpec(metrics_format=list(self.filters)) if self.filters else None
        source = spec.SourceSpec(file_system_path=fs, filter=flt) if (fs or flt) else None
        return spec.MetricsCollectorSpec(source=source, collector=spec.CollectorSpec(kind=self.kind))


class _Collectors:
    """``collector.stdout()``, ``collector.file(...)``, ``collector.tensorflow_event(...)``, ``collector.push()``."""

    @staticmethod
    def stdout(filters: Sequence[str] = ()) -> Collector:
        """Metrics parsed from the primary container's output (Katib's default)."""
        return Collector(c.COLLECTOR_STDOUT, filters=tuple(filters))

    @staticmethod
    def file(
        path: str = c.DEFAULT_FILE_PATH, format: Literal["TEXT", "JSON"] = "TEXT", filters: Sequence[str] = ()
    ) -> Collector:
        """Metrics read from a file the trial writes (TEXT lines or JSON objects)."""
        return Collector(c.COLLECTOR_FILE, path, c.FILE_KIND_FILE, format, tuple(filters))

    @staticmethod
    def tensorflow_event(path: str = c.DEFAULT_TFEVENT_DIR) -> Collector:
        """Metrics read from TensorFlow event files under a directory."""
        return Collector(c.COLLECTOR_TFEVENT, path, c.FILE_KIND_DIRECTORY)

    @staticmethod
    def push() -> Collector:
        """The trial reports its own metrics with ``katib_flow.report_metrics``."""
        return Collector(c.COLLECTOR_PUSH)


collector = _Collectors()


@dataclass
class Experiment:
    """A Katib experiment built in Python; :meth:`to_yaml` writes the Katib YAML.

    The trial is either a container (``image`` + ``command``/``args``, run as a
    batch Job) or a ready ``trial_spec``. Trial parameters are derived from the
    ``${trialParameters.<name>}`` placeholders the trial uses: a placeholder
    named after a search parameter refers to it; ``trial_parameters`` maps any
    other placeholder name to its reference.
    """

    name: str
    objective: Objective
    parameters: Mapping[str, SearchParameter]
    algorithm: Algorithm | str = "random"
    early_stopping: EarlyStopping | None = None
    max_trial_count: int | None = None
    parallel_trial_count: int | None = None
    max_failed_trial_count: int | None = None
    resume_policy: Literal["Never", "LongRunning", "FromVolume"] | None = None
    namespace: str | None = None
    image: str | None = None
    command: Sequence[str] | None = None
    args: Sequence[str] | None = None
    env: Mapping[str, str] | None = None
    working_dir: str | None = None
    resources: Mapping[str, Mapping[str, str]] | None = None
    primary_container_name: str = "training-container"
    trial_spec: Mapping[str, Any] | None = None
    trial_parameters: Mapping[str, str] = field(default_factory=dict)
    metrics_collector: Collector | None = None
    success_condition: str | None = None
    failure_condition: str | None = None
    primary_pod_labels: Mapping[str, str] | None = None
    retain: bool | None = None

    def to_model(self, *, validate: bool = True) -> spec.Experiment:
        """The wire model as a user would write it (no defaults); raises :class:`SpecError` if invalid."""
        trial_spec = self._trial_spec()
        algo = algorithm(self.algorithm) if isinstance(self.algorithm, str) else self.algorithm
        model = spec.Experiment(
            api_version=c.API_VERSION,
            kind=c.KIND,
            metadata=spec.ObjectMeta(name=self.name, namespace=self.namespace),
            spec=spec.ExperimentSpec(
                parameters=[p.to_spec(n) for n, p in self.parameters.items()],
                objective=self.objective.to_spec(),
                algorithm=algo.to_spec(),
                early_stopping=self.early_stopping.to_spec() if self.early_stopping else None,
                trial_template=spec.TrialTemplate(
                    retain=self.retain,
                    trial_spec=trial_spec,
                    trial_parameters=[
                        spec.TrialParameterSpec(name=n, reference=self.trial_parameters.get(n, n))
                        for n in parameter_placeholders(trial_spec)
                    ],
                    primary_pod_labels=dict(self.primary_pod_labels) if self.primary_pod_labels else None,
                    primary_container_name=self.primary_container_name,
                    success_condition=self.success_condition,
                    failure_condition=self.failure_condition,
                ),
                parallel_trial_count=self.parallel_trial_count,
                max_trial_count=self.max_trial_count,
                max_failed_trial_count=self.max_failed_trial_count,
                metrics_collector_spec=self.metrics_collector.to_spec() if self.metrics_collector else None,
                resume_policy=self.resume_policy,
            ),
        )
        if validate:
            spec.check(model, source=f"Experiment({self.name!r})")
        return model

    def to_yaml(self) -> str:
        """Katib ``kubeflow.org/v1beta1`` YAML of this experiment (validated first)."""
        return spec.dump_experiment(self.to_model())

    def validate(self) -> list[Problem]:
        """Every problem of this experiment, as ``katib-flow validate`` reports them."""
        return spec.validate(self.to_model(validate=False))

    def _trial_spec(self) -> dict[str, Any]:
        if self.trial_spec is not None:
            if self.image is not None or self.command is not None or self.args is not None:
                raise SpecError([Problem("trial_spec", "give either trial_spec or image/command/args, not both")])
            return dict(self.trial_spec)
        if self.image is None:
            raise SpecError([Problem("image", "an image (with command/args) or a trial_spec is required")])
        container: dict[str, Any] = {"name": self.primary_container_name, "image": self.image}
        if self.command is not None:
            container["command"] = list(self.command)
        if self.args is not None:
            container["args"] = list(self.args)
        if self.working_dir is not None:
            container["workingDir"] = self.working_dir
        if self.env:
            container["env"] = [{"name": k, "value": v} for k, v in self.env.items()]
        if self.resources:
            container["resources"] = {k: dict(v) for k, v in self.resources.items()}
        return {
            "apiVersion": c.JOB_API_VERSION,
            "kind": c.JOB_KIND,
            "spec": {"template": {"spec": {"containers": [container], "restartPolicy": "Never"}}},
        }
