"""katib-flow: Katib's experiment language, without Katib's controllers.

The public API. Experiments are written as Katib ``kubeflow.org/v1beta1`` YAML
(:func:`load_experiment`) or built in Python (:class:`Experiment`, :data:`search`).
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Names are imported on first use (PEP 562): the command line, the Argo step pods and
# ``import katib_flow`` in a trial process need a fraction of the package each.
_LAZY = {
    "report_metrics": ".collectors.push",
    **dict.fromkeys(
        [
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
        ],
        ".dsl",
    ),
    **dict.fromkeys(
        [
            "CollectorError",
            "CompileError",
            "InvalidSettingsError",
            "KatibFlowError",
            "Problem",
            "SpecError",
            "StorageError",
            "TrialExecutionError",
            "UnknownAlgorithmError",
        ],
        ".exceptions",
    ),
    "run_experiment": ".runner",
    "SearchSpace": ".space",
    **dict.fromkeys(
        [
            "apply_defaults",
            "dump_experiment",
            "load_experiment",
            "load_experiments",
            "parse_experiment",
            "parse_experiments",
            "validate",
        ],
        ".spec",
    ),
    "TuneResult": ".tune",
    "tune": ".tune",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'katib_flow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
