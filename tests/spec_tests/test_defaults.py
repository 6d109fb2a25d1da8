"""Defaulting follows Katib's mutating webhook field by field."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from katib_flow.spec import Experiment, apply_defaults, parse_experiment
from katib_flow.spec import constants as c

from .base import base, del_, set_


def _defaulted(doc: dict[str, Any]) -> Experiment:
    return apply_defaults(parse_experiment(yaml.safe_dump(doc)))


def test_budget_and_resume_defaults() -> None:
    doc = del_(base(), "spec.parallelTrialCount")
    spec = _defaulted(doc).spec
    assert spec.parallel_trial_count == 3
    assert spec.resume_policy == "Never"
    assert spec.max_trial_count == 6


def test_defaults_do_not_change_the_input() -> None:
    exp = parse_experiment(yaml.safe_dump(del_(base(), "spec.parallelTrialCount")))
    apply_defaults(exp)
    assert exp.spec.parallel_trial_count is None
    assert exp.spec.metrics_collector_spec is None


@pytest.mark.parametrize(("objective_type", "strategy"), [("minimize", "min"), ("maximize", "max")])
def test_metric_strategies_follow_objective_type(objective_type: str, strategy: str) -> None:
    doc = set_(base(), "spec.objective.type", objective_type)
    objective = _defaulted(doc).spec.objective
    assert objective is not None and objective.metric_strategies is not None
    assert [(s.name, s.value) for s in objective.metric_strategies] == [("accuracy", strategy), ("loss", strategy)]


def test_user_strategies_are_kept() -> None:
    doc = set_(base(), "spec.objective.metricStrategies", [{"name": "loss", "value": "latest"}])
    objective = _defaulted(doc).spec.objective
    assert objective is not None and objective.metric_strategies is not None
    assert [(s.name, s.value) for s in objective.metric_strategies] == [("loss", "latest"), ("accuracy", "max")]


def test_job_conditions_defaulted_but_user_conditions_kept() -> None:
    doc = set_(base(), "spec.trialTemplate.successCondition", "status.succeeded > 0")
    template = _defaulted(doc).spec.trial_template
    assert template is not None
    assert template.success_condition == "status.succeeded > 0"
    assert template.failure_condition == c.DEFAULT_JOB_FAILURE_CONDITION


@pytest.mark.parametrize("kind", ["TFJob", "PyTorchJob", "XGBoostJob", "MPIJob"])
def test_kubeflow_job_defaults(kind: str) -> None:
    doc = set_(base(), "spec.trialTemplate.trialSpec.kind", kind)
    template = _defaulted(doc).spec.trial_template
    assert template is not None
    assert template.success_condition == c.DEFAULT_KUBEFLOW_JOB_SUCCESS_CONDITION
    assert template.failure_condition == c.DEFAULT_KUBEFLOW_JOB_FAILURE_CONDITION
    assert template.primary_pod_labels == {"training.kubeflow.org/job-role": "master"}


def test_train_job_defaults() -> None:
    doc = set_(base(), "spec.trialTemplate.trialSpec.kind", "TrainJob")
    template = _defaulted(doc).spec.trial_template
    assert template is not None
    # Katib's DefaultTrainJobPrimaryPodLabels: node 0 only
    assert template.primary_pod_labels == {
        "jobset.sigs.k8s.io/replicatedjob-name": "node",
        "batch.kubernetes.io/job-completion-index": "0",
    }
    assert template.success_condition == c.DEFAULT_TRAIN_JOB_SUCCESS_CONDITION


def test_unknown_kind_gets_no_conditions() -> None:
    doc = set_(base(), "spec.trialTemplate.trialSpec.kind", "RayJob")
    template = _defaulted(doc).spec.trial_template
    assert template is not None
    assert template.success_condition is None and template.primary_pod_labels is None


@pytest.mark.parametrize(
    ("kind", "fs_kind", "path", "fmt"),
    [
        ("File", "File", "/var/log/katib/metrics.log", "TEXT"),
        ("TensorFlowEvent", "Directory", "/var/log/katib/tfevent/", None),
    ],
)
def test_file_collector_defaults(kind: str, fs_kind: str, path: str, fmt: str | None) -> None:
    doc = set_(base(), "spec.metricsCollectorSpec", {"collector": {"kind": kind}})
    mc = _defaulted(doc).spec.metrics_collector_spec
    assert mc is not None and mc.source is not None and mc.source.file_system_path is not None
    fs = mc.source.file_system_path
    assert (fs.kind, fs.path, fs.format) == (fs_kind, path, fmt)


def test_prometheus_defaults() -> None:
    doc = set_(base(), "spec.metricsCollectorSpec", {"collector": {"kind": "PrometheusMetric"}})
    mc = _defaulted(doc).spec.metrics_collector_spec
    assert mc is not None and mc.source is not None and mc.source.http_get is not None
    assert (mc.source.http_get.path, mc.source.http_get.port) == ("/metrics", 8080)


def test_stdout_is_the_default_collector_and_keeps_the_filter_unset() -> None:
    mc = _defaulted(base()).spec.metrics_collector_spec
    assert mc is not None and mc.collector is not None
    assert mc.collector.kind == "StdOut"
    assert mc.source is None


def test_distribution_defaults_to_uniform_for_every_parameter() -> None:
    params = _defaulted(base()).spec.parameters or []
    assert [p.feasible_space.distribution for p in params if p.feasible_space] == ["uniform"] * 4
