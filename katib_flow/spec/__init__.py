"""Katib ``kubeflow.org/v1beta1`` Experiments: wire models, defaults, validation, YAML I/O."""

from __future__ import annotations

from . import constants
from .defaults import apply_defaults
from .io import (
    ParsedDocument,
    dump_experiment,
    dump_experiments,
    load_experiment,
    load_experiments,
    parse_documents,
    parse_experiment,
    parse_experiments,
    read_text,
)
from .models import (
    AlgorithmSetting,
    AlgorithmSpec,
    CollectorSpec,
    ConfigMapSource,
    EarlyStoppingSetting,
    EarlyStoppingSpec,
    Experiment,
    ExperimentSpec,
    FeasibleSpace,
    FileSystemPath,
    FilterSpec,
    MetricsCollectorSpec,
    MetricStrategy,
    ObjectiveSpec,
    ObjectMeta,
    ParameterSpec,
    SourceSpec,
    TrialParameterSpec,
    TrialTemplate,
)
from .validation import check, validate

__all__ = [
    "AlgorithmSetting",
    "AlgorithmSpec",
    "CollectorSpec",
    "ConfigMapSource",
    "EarlyStoppingSetting",
    "EarlyStoppingSpec",
    "Experiment",
    "ExperimentSpec",
    "FeasibleSpace",
    "FileSystemPath",
    "FilterSpec",
    "MetricStrategy",
    "MetricsCollectorSpec",
    "ObjectMeta",
    "ObjectiveSpec",
    "ParameterSpec",
    "ParsedDocument",
    "SourceSpec",
    "TrialParameterSpec",
    "TrialTemplate",
    "apply_defaults",
    "check",
    "constants",
    "dump_experiment",
    "dump_experiments",
    "load_experiment",
    "load_experiments",
    "parse_documents",
    "parse_experiment",
    "parse_experiments",
    "read_text",
    "validate",
]
