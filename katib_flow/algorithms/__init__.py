"""Search algorithms, keyed by Katib's exact ``algorithmName``.

This module is the registry: which names exist, which settings each accepts,
which :class:`Suggester` serves each, and how an experiment's ``spec.algorithm``
is validated against them. Suggester modules (and Optuna, scikit-optimize,
SciPy behind them) are imported only when an algorithm is used. Third-party
suggesters register under the ``katib_flow.suggesters`` entry-point group as
``name = "package.module:SuggesterClass"``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from ..exceptions import Problem, UnknownAlgorithmError, did_you_mean
from ..settings import SettingsModel
from ..space import SearchSpace
from ..spec.models import AlgorithmSetting, ExperimentSpec
from ..spec.paths import SPEC
from .base import Suggester

if TYPE_CHECKING:
    from ..spec.models import Experiment
from .settings import (
    BayesianOptimizationSettings,
    CmaesSettings,
    GridSettings,
    HyperbandSettings,
    MultivariateTpeSettings,
    PbtSettings,
    RandomSettings,
    SobolSettings,
    TpeSettings,
)

__all__ = [
    "ALGORITHM_SETTINGS",
    "DEFERRED_ALGORITHMS",
    "ENTRY_POINT_GROUP",
    "KATIB_ONLY_ALGORITHMS",
    "SUGGESTION_SERVICES_ENV",
    "Suggester",
    "algorithm_names",
    "create_suggester",
    "deferred_algorithms",
    "settings_model",
    "suggester_class",
    "suggester_for",
    "validate_algorithm",
]

ENTRY_POINT_GROUP = "katib_flow.suggesters"
# NAME=HOST:PORT,...: algorithm names served by external Katib algorithm services (katib_flow/katib_api/client.py)
SUGGESTION_SERVICES_ENV = "KATIB_FLOW_SUGGESTION_SERVICES"
# Algorithms served by a service this process cannot reach (compile: the service is in the cluster); their
# settings are checked where the service is, by the Workflow's init step (deferred_algorithms()).
DEFERRED_ALGORITHMS: set[str] = set()


@contextmanager
def deferred_algorithms(names: Iterable[str]) -> Iterator[None]:
    """Within the block, skip validating the settings of these algorithms (checked later, by their service)."""
    added = set(names) - DEFERRED_ALGORITHMS
    DEFERRED_ALGORITHMS.update(added)
    try:
        yield
    finally:
        DEFERRED_ALGORITHMS.difference_update(added)


# Settings models of the built-in algorithms, kept apart from the suggester classes below so that
# validating an experiment does not import Optuna, scikit-optimize and SciPy.
ALGORITHM_SETTINGS: dict[str, type[SettingsModel]] = {
    "random": RandomSettings,
    "grid": GridSettings,
    "sobol": SobolSettings,
    "bayesianoptimization": BayesianOptimizationSettings,
    "tpe": TpeSettings,
    "multivariate-tpe": MultivariateTpeSettings,
    "cmaes": CmaesSettings,
    "hyperband": HyperbandSettings,
    "pbt": PbtSettings,
}

_SUGGESTERS: dict[str, str] = {
    "random": "katib_flow.algorithms.random_search:RandomSuggester",
    "grid": "katib_flow.algorithms.grid:GridSuggester",
    "sobol": "katib_flow.algorithms.sobol:SobolSuggester",
    "bayesianoptimization": "katib_flow.algorithms.skopt_bayesian:SkoptBayesianSuggester",
    "tpe": "katib_flow.algorithms.optuna_tpe:TpeSuggester",
    "multivariate-tpe": "katib_flow.algorithms.optuna_tpe:MultivariateTpeSuggester",
    "cmaes": "katib_flow.algorithms.optuna_cmaes:CmaesSuggester",
    "hyperband": "katib_flow.algorithms.hyperband:HyperbandSuggester",
    "pbt": "katib_flow.algorithms.pbt:PbtSuggester",
}

# Names Katib knows that katib-flow does not run, with the reason a user is given.
KATIB_ONLY_ALGORITHMS: dict[str, str] = {
    "enas": "neural architecture search (nasConfig) is not supported by katib-flow",
    "darts": "neural architecture search (nasConfig) is not supported by katib-flow",
}


def algorithm_names() -> list[str]:
    """Every algorithm name katib-flow can run: the built-in ones, then installed plugins."""
    return list(_SUGGESTERS) + [n for n in _plugins() if n not in _SUGGESTERS]


@cache
def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load(target: str) -> type[Suggester[SettingsModel]]:
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, Suggester)):
        raise TypeError(f"{target} is not a katib_flow Suggester")
    return cls


def suggester_class(name: str) -> type[Suggester[SettingsModel]]:
    """The Suggester class serving ``name``; raises :class:`UnknownAlgorithmError`."""
    target = _SUGGESTERS.get(name) or _plugins().get(name)
    if target is None:
        path = str(SPEC.child("algorithm").child("algorithmName"))
        raise UnknownAlgorithmError([Problem(path, _unknown_message(name))])
    return _load(target)


def settings_model(name: str) -> type[SettingsModel]:
    """The settings model of algorithm ``name``; raises :class:`UnknownAlgorithmError`."""
    if name in ALGORITHM_SETTINGS:
        return ALGORITHM_SETTINGS[name]
    return suggester_class(name).settings_class


def create_suggester(
    name: str,
    space: SearchSpace,
    objective_type: str,
    settings: list[AlgorithmSetting] | None = None,
    seed: int = 0,
) -> Suggester[SettingsModel]:
    """A ready suggester; ``settings`` are Katib's name/value pairs, ``seed`` applies unless ``random_state`` is set.

    Raises :class:`UnknownAlgorithmError` or :class:`InvalidSettingsError`.
    """
    cls = suggester_class(name)
    return cls(space, objective_type, settings_model(name).from_entries(settings), seed)


def suggester_for(experiment: Experiment, seed: int) -> Suggester[SettingsModel]:
    """The experiment's suggester: its algorithm's external service when one is configured, else katib-flow's."""
    spec = experiment.spec
    assert spec.algorithm is not None and spec.algorithm.algorithm_name and spec.objective is not None
    name = spec.algorithm.algorithm_name
    if os.environ.get(SUGGESTION_SERVICES_ENV):
        from ..katib_api.client import GrpcSuggester, SuggestionClient, services

        address = services().get(name)
        if address is not None:
            return GrpcSuggester(SuggestionClient(name, address), experiment, seed)
    return create_suggester(
        name, SearchSpace.from_spec(spec), spec.objective.type or "minimize", spec.algorithm.algorithm_settings, seed
    )


def validate_algorithm(spec: ExperimentSpec, space: SearchSpace | None) -> list[Problem]:
    """Problems with ``spec.algorithm``: its name, its settings, and their fit with the experiment.

    An algorithm served by an external service is validated by that service
    (Katib's ``ValidateAlgorithmSettings``).
    """
    path = SPEC.child("algorithm")
    algorithm = spec.algorithm
    if algorithm is None:
        return [Problem(str(path), "must be specified")]
    name = algorithm.algorithm_name
    if not name:
        return [Problem(str(path.child("algorithmName")), "must be specified")]
    if name in DEFERRED_ALGORITHMS:
        return []
    if os.environ.get(SUGGESTION_SERVICES_ENV):
        from ..katib_api.client import remote_algorithm_problems

        remote = remote_algorithm_problems(name, spec)
        if remote is not None:
            return remote
    try:
        model = settings_model(name)
    except UnknownAlgorithmError as err:
        return err.problems
    settings, problems = model.parse(algorithm.algorithm_settings, path.child("algorithmSettings"))
    if settings is not None:
        problems.extend(settings.spec_problems(spec, space))
    return problems


def _unknown_message(name: str) -> str:
    if name in KATIB_ONLY_ALGORITHMS:
        return f"algorithm {name!r}: {KATIB_ONLY_ALGORITHMS[name]}"
    known = algorithm_names()
    return f"unknown algorithm {name!r} (known: {', '.join(known)}){did_you_mean(name, known)}"
