"""Katib v1beta1 constants: names, defaults and patterns, exactly as Katib spells them."""

from __future__ import annotations

from typing import Final

API_VERSION: Final = "kubeflow.org/v1beta1"
KIND: Final = "Experiment"

# Experiment name rules. Katib's regex is not anchored at the end (so "abc_" passes
# its webhook and then fails when Kubernetes names the trial's Job); katib-flow
# anchors it. The 40-character bound leaves room for the trial suffix inside
# Kubernetes' 63-character label limit.
NAME_PATTERN: Final = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
NAME_MAX_LENGTH: Final = 40
NAMESPACE_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
NAMESPACE_MAX_LENGTH: Final = 63

DEFAULT_PARALLEL_TRIAL_COUNT: Final = 3

RESUME_NEVER: Final = "Never"
RESUME_LONG_RUNNING: Final = "LongRunning"
RESUME_FROM_VOLUME: Final = "FromVolume"
RESUME_POLICIES: Final = (RESUME_NEVER, RESUME_LONG_RUNNING, RESUME_FROM_VOLUME)
DEFAULT_RESUME_POLICY: Final = RESUME_NEVER

OBJECTIVE_MINIMIZE: Final = "minimize"
OBJECTIVE_MAXIMIZE: Final = "maximize"
OBJECTIVE_TYPES: Final = (OBJECTIVE_MINIMIZE, OBJECTIVE_MAXIMIZE)

STRATEGY_MIN: Final = "min"
STRATEGY_MAX: Final = "max"
STRATEGY_LATEST: Final = "latest"
METRIC_STRATEGIES: Final = (STRATEGY_MIN, STRATEGY_MAX, STRATEGY_LATEST)

PARAM_INT: Final = "int"
PARAM_DOUBLE: Final = "double"
PARAM_CATEGORICAL: Final = "categorical"
PARAM_DISCRETE: Final = "discrete"
PARAMETER_TYPES: Final = (PARAM_INT, PARAM_DOUBLE, PARAM_CATEGORICAL, PARAM_DISCRETE)

DIST_UNIFORM: Final = "uniform"
DIST_LOG_UNIFORM: Final = "logUniform"
DIST_NORMAL: Final = "normal"
DIST_LOG_NORMAL: Final = "logNormal"
DISTRIBUTIONS: Final = (DIST_UNIFORM, DIST_LOG_UNIFORM, DIST_NORMAL, DIST_LOG_NORMAL)
DEFAULT_DISTRIBUTION: Final = DIST_UNIFORM

# Trial kinds and Katib's default success/failure conditions (GJSON over the run object).
JOB_KIND: Final = "Job"
JOB_API_VERSION: Final = "batch/v1"
KUBEFLOW_JOB_KINDS: Final = ("TFJob", "PyTorchJob", "XGBoostJob", "MPIJob")
TRAIN_JOB_KIND: Final = "TrainJob"

DEFAULT_JOB_SUCCESS_CONDITION: Final = 'status.conditions.#(type=="Complete")#|#(status=="True")#'
DEFAULT_JOB_FAILURE_CONDITION: Final = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
DEFAULT_KUBEFLOW_JOB_SUCCESS_CONDITION: Final = 'status.conditions.#(type=="Succeeded")#|#(status=="True")#'
DEFAULT_KUBEFLOW_JOB_FAILURE_CONDITION: Final = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
DEFAULT_TRAIN_JOB_SUCCESS_CONDITION: Final = 'status.conditions.#(type=="Complete")#|#(status=="True")#'
DEFAULT_TRAIN_JOB_FAILURE_CONDITION: Final = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
DEFAULT_KUBEFLOW_JOB_PRIMARY_POD_LABELS: Final = {"training.kubeflow.org/job-role": "master"}
# Katib's DefaultTrainJobPrimaryPodLabels (pkg/apis/controller/experiments/v1beta1/constants.go): the first
# node's pod only, so a multi-node TrainJob's metrics are read from one pod.
DEFAULT_TRAIN_JOB_PRIMARY_POD_LABELS: Final = {
    "jobset.sigs.k8s.io/replicatedjob-name": "node",
    "batch.kubernetes.io/job-completion-index": "0",
}

# Metrics collectors.
COLLECTOR_STDOUT: Final = "StdOut"
COLLECTOR_FILE: Final = "File"
COLLECTOR_TFEVENT: Final = "TensorFlowEvent"
COLLECTOR_PUSH: Final = "Push"
COLLECTOR_PROMETHEUS: Final = "PrometheusMetric"
COLLECTOR_CUSTOM: Final = "Custom"
COLLECTOR_NONE: Final = "None"
SUPPORTED_COLLECTORS: Final = (COLLECTOR_STDOUT, COLLECTOR_FILE, COLLECTOR_TFEVENT, COLLECTOR_PUSH, COLLECTOR_CUSTOM)
KATIB_ONLY_COLLECTORS: Final = (COLLECTOR_PROMETHEUS,)

FILE_KIND_FILE: Final = "File"
FILE_KIND_DIRECTORY: Final = "Directory"
FORMAT_TEXT: Final = "TEXT"
FORMAT_JSON: Final = "JSON"
DEFAULT_FILE_PATH: Final = "/var/log/katib/metrics.log"
DEFAULT_TFEVENT_DIR: Final = "/var/log/katib/tfevent/"
DEFAULT_PROMETHEUS_PATH: Final = "/metrics"
DEFAULT_PROMETHEUS_PORT: Final = 8080
DEFAULT_METRICS_FILTER: Final = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"

# Trial template substitution, as Katib's consts package defines it.
TRIAL_PARAMETER_PLACEHOLDER: Final = "${{trialParameters.{name}}}"
TRIAL_PARAMETER_PATTERN: Final = r"\$\{trialParameters\.(.+?)\}"
TRIAL_META_PATTERN: Final = r"\$\{trialSpec\.(.+?)\}"
TRIAL_META_INDEXED_PATTERN: Final = r"^(.+)\[(.+)\]$"
TRIAL_META_KEYS: Final = ("Name", "Namespace", "Kind", "APIVersion", "Labels", "Annotations")
TRIAL_META_INDEXED_KEYS: Final = ("Labels", "Annotations")
