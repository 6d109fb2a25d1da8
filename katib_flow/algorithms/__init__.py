"""Search algorithms, keyed by Katib's exact ``algorithmName``.

This module is the registry: which names exist, which settings each accepts,
and how an experiment's ``spec.algorithm`` is validated against them.
"""

from __future__ import annotations

from ..exceptions import Problem, UnknownAlgorithmError, did_you_mean
from ..settings import SettingsModel
from ..space import SearchSpace
from ..spec.models import ExperimentSpec
from ..spec.paths import SPEC
from .settings import (
    BayesianOptimizationSettings,
    CmaesSettings,
    GridSettings,
    HyperbandSettings,
    MultivariateTpeSettings,
    RandomSettings,
    SobolSettings,
    TpeSettings,
)

__all__ = [
    "ALGORITHM_SETTINGS",
    "KATIB_ONLY_ALGORITHMS",
    "algorithm_names",
    "settings_model",
    "validate_algorithm",
]

ALGORITHM_SETTINGS: dict[str, type[SettingsModel]] = {
    "random": RandomSettings,
    "grid": GridSettings,
    "sobol": SobolSettings,
    "bayesianoptimization": BayesianOptimizationSettings,
    "tpe": TpeSettings,
    "multivariate-tpe": MultivariateTpeSettings,
    "cmaes": CmaesSettings,
    "hyperband": HyperbandSettings,
}

# Names Katib knows that katib-flow does not run, with the reason a user is given.
KATIB_ONLY_ALGORITHMS: dict[str, str] = {
    "enas": "neural architecture search (nasConfig) is not supported by katib-flow",
    "darts": "neural architecture search (nasConfig) is not supported by katib-flow",
    "pbt": "population based training is not supported by katib-flow",
}


def algorithm_names() -> list[str]:
    """Every algorithm name katib-flow can run."""
    return list(ALGORITHM_SETTINGS)


def settings_model(name: str) -> type[SettingsModel]:
    """The settings model of algorithm ``name``; raises :class:`UnknownAlgorithmError`."""
    try:
        return ALGORITHM_SETTINGS[name]
    except KeyError:
        path = str(SPEC.child("algorithm").child("algorithmName"))
        raise UnknownAlgorithmError([Problem(path, _unknown_message(name))]) from None


def validate_algorithm(spec: ExperimentSpec, space: SearchSpace | None) -> list[Problem]:
    """Problems with ``spec.algorithm``: its name, its settings, and their fit with the experiment."""
    path = SPEC.child("algorithm")
    algorithm = spec.algorithm
    if algorithm is None:
        return [Problem(str(path), "must be specified")]
    name = algorithm.algorithm_name
    if not name:
        return [Problem(str(path.child("algorithmName")), "must be specified")]
    model = ALGORITHM_SETTINGS.get(name)
    if model is None:
        return [Problem(str(path.child("algorithmName")), _unknown_message(name))]
    settings, problems = model.parse(algorithm.algorithm_settings, path.child("algorithmSettings"))
    if settings is not None:
        problems.extend(settings.spec_problems(spec, space))
    return problems


def _unknown_message(name: str) -> str:
    if name in KATIB_ONLY_ALGORITHMS:
        return f"algorithm {name!r}: {KATIB_ONLY_ALGORITHMS[name]}"
    known = algorithm_names()
    return f"unknown algorithm {name!r} (known: {', '.join(known)}){did_you_mean(name, known)}"
