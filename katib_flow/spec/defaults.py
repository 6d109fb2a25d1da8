"""Defaulting, exactly as Katib's mutating webhook (``Experiment.SetDefault``) does it.

The wire model keeps what the user wrote; :func:`apply_defaults` returns a new
model with Katib's defaults filled in. Validation runs on the defaulted model, as
Katib validates after mutating.
"""

from __future__ import annotations

from . import constants as c
from .models import (
    CollectorSpec,
    Experiment,
    FeasibleSpace,
    FileSystemPath,
    HTTPGetAction,
    MetricsCollectorSpec,
    MetricStrategy,
    ObjectiveSpec,
    SourceSpec,
    TrialTemplate,
)

__all__ = ["apply_defaults", "default_strategy"]


def apply_defaults(experiment: Experiment) -> Experiment:
    """A copy of ``experiment`` with every Katib default applied; the input is not changed."""
    exp = experiment.model_copy(deep=True)
    spec = exp.spec
    if spec.parallel_trial_count is None:
        spec.parallel_trial_count = c.DEFAULT_PARALLEL_TRIAL_COUNT
    if not spec.resume_policy:
        spec.resume_policy = c.DEFAULT_RESUME_POLICY
    if spec.objective is not None:
        _default_objective(spec.objective)
    if spec.trial_template is not None:
        _default_trial_template(spec.trial_template)
    spec.metrics_collector_spec = _default_collector(spec.metrics_collector_spec)
    for param in spec.parameters or []:
        if param.feasible_space is None:
            # Katib's FeasibleSpace is a struct, never nil; distribution is set on it regardless.
            param.feasible_space = FeasibleSpace()
        if not param.feasible_space.distribution:
            param.feasible_space.distribution = c.DEFAULT_DISTRIBUTION
    return exp


def default_strategy(objective_type: str | None) -> str:
    """Katib's default metric strategy for an objective type: min, max, or latest."""
    if objective_type == c.OBJECTIVE_MINIMIZE:
        return c.STRATEGY_MIN
    if objective_type == c.OBJECTIVE_MAXIMIZE:
        return c.STRATEGY_MAX
    return c.STRATEGY_LATEST


def _default_objective(obj: ObjectiveSpec) -> None:
    strategies = list(obj.metric_strategies or [])
    named = {s.name for s in strategies}
    strategy = default_strategy(obj.type)
    if obj.objective_metric_name not in named:
        strategies.append(MetricStrategy(name=obj.objective_metric_name, value=strategy))
        named.add(obj.objective_metric_name)
    for metric in obj.additional_metric_names or []:
        if metric not in named:
            strategies.append(MetricStrategy(name=metric, value=strategy))
            named.add(metric)
    obj.metric_strategies = strategies


def _default_trial_template(template: TrialTemplate) -> None:
    if template.trial_spec is None:
        return
    kind = template.trial_spec.get("kind")
    if kind == c.JOB_KIND:
        success, failure, labels = c.DEFAULT_JOB_SUCCESS_CONDITION, c.DEFAULT_JOB_FAILURE_CONDITION, None
    elif kind in c.KUBEFLOW_JOB_KINDS:
        success, failure = c.DEFAULT_KUBEFLOW_JOB_SUCCESS_CONDITION, c.DEFAULT_KUBEFLOW_JOB_FAILURE_CONDITION
        labels = c.DEFAULT_KUBEFLOW_JOB_PRIMARY_POD_LABELS
    elif kind == c.TRAIN_JOB_KIND:
        success, failure = c.DEFAULT_TRAIN_JOB_SUCCESS_CONDITION, c.DEFAULT_TRAIN_JOB_FAILURE_CONDITION
        labels = c.DEFAULT_TRAIN_JOB_PRIMARY_POD_LABELS
    else:
        return
    if not template.success_condition:
        template.success_condition = success
    if not template.failure_condition:
        template.failure_condition = failure
    if labels is not None and not template.primary_pod_labels:
        template.primary_pod_labels = dict(labels)


def _default_collector(mc: MetricsCollectorSpec | None) -> MetricsCollectorSpec:
    mc = mc if mc is not None else MetricsCollectorSpec()
    if mc.collector is None:
        mc.collector = CollectorSpec(kind=c.COLLECTOR_STDOUT)
    kind = mc.collector.kind
    if kind == c.COLLECTOR_PROMETHEUS:
        source = mc.source = mc.source or SourceSpec()
        http = source.http_get = source.http_get or HTTPGetAction()
        if not http.path:
            http.path = c.DEFAULT_PROMETHEUS_PATH
        if http.port in (None, 0, "0", ""):
            http.port = c.DEFAULT_PROMETHEUS_PORT
    elif kind in (c.COLLECTOR_FILE, c.COLLECTOR_TFEVENT):
        source = mc.source = mc.source or SourceSpec()
        fs = source.file_system_path = source.file_system_path or FileSystemPath()
        is_file = kind == c.COLLECTOR_FILE
        if not fs.kind:
            fs.kind = c.FILE_KIND_FILE if is_file else c.FILE_KIND_DIRECTORY
        if not fs.path:
            fs.path = c.DEFAULT_FILE_PATH if is_file else c.DEFAULT_TFEVENT_DIR
        if is_file and not fs.format:
            fs.format = c.FORMAT_TEXT
    return mc
