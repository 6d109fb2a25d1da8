"""katib-flow: Katib's experiment language, without Katib's controllers.

The public API. Experiments are written as Katib ``kubeflow.org/v1beta1`` YAML
(:func:`load_experiment`) or built in Python (:class:`Experiment`, :data:`search`).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .collectors.push import report_metrics
from .dsl import (
    Algorithm,
    Collector,
    EarlyStopping,
    Experiment,
    Objective,
    SearchParameter,
    algorithm,
    collector,
    early_stopping,
    maximize,
    minimize,
    search,
)
from .exceptions import (
    CollectorError,
    CompileError,
    InvalidSettingsError,
    KatibFlowError,
    Problem,
    SpecError,
    StorageError,
    TrialExecutionError,
    UnknownAlgorithmError,
)
from .runner import run_experiment
from .space import SearchSpace
from .spec import (
    apply_defaults,
    dump_experiment,
    load_experiment,
    load_experiments,
    parse_experiment,
    parse_experiments,
    validate,
)
from .tune import TuneResult, tune

__all__ = [
    "Algorithm",
    "Collector",
    "CollectorError",
    "CompileError",
    "EarlyStopping",
    "Experiment",
    "InvalidSettingsError",
    "KatibFlowError",
    "Objective",
    "Problem",
    "SearchParameter",
    "SearchSpace",
    "SpecError",
    "StorageError",
    "TrialExecutionError",
    "TuneResult",
    "UnknownAlgorithmError",
    "__version__",
    "algorithm",
    "apply_defaults",
    "collector",
    "dump_experiment",
    "early_stopping",
    "load_experiment",
    "load_experiments",
    "maximize",
    "minimize",
    "parse_experiment",
    "parse_experiments",
    "report_metrics",
    "run_experiment",
    "search",
    "tune",
    "validate",
]
