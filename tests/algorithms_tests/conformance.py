"""Shared pieces of the algorithm conformance suite: spaces, a toy objective, a driver loop."""

from __future__ import annotations

import math
from collections.abc import Mapping

from katib_flow.algorithms import create_suggester
from katib_flow.algorithms.base import Suggester
from katib_flow.history import Proposal, TrialRecord, TrialState
from katib_flow.settings import SettingsModel
from katib_flow.space import SearchSpace
from katib_flow.spec import AlgorithmSetting, ExperimentSpec, FeasibleSpace, ParameterSpec


def param(name: str, ptype: str, **fs: object) -> ParameterSpec:
    return ParameterSpec(name=name, parameter_type=ptype, feasible_space=FeasibleSpace.model_validate(fs))


def space_of(*params: ParameterSpec) -> SearchSpace:
    return SearchSpace.from_spec(ExperimentSpec(parameters=list(params)))


MIXED = space_of(
    param("lr", "double", min="0.0001", max="0.1", distribution="logUniform"),
    param("dropout", "double", min="0.0", max="0.5", step="0.05"),
    param("units", "int", min="8", max="128"),
    param("optimizer", "categorical", list=["sgd", "adam", "rmsprop"]),
    param("batch", "discrete", list=["16", "32", "64"]),
)
# Every parameter countable: what grid search needs.
COUNTABLE = space_of(
    param("dropout", "double", min="0.0", max="0.5", step="0.1"),
    param("units", "int", min="8", max="128", step="8"),
    param("optimizer", "categorical", list=["sgd", "adam", "rmsprop"]),
    param("batch", "discrete", list=["16", "32", "64"]),
)
TINY = space_of(param("units", "int", min="1", max="3"), param("optimizer", "categorical", list=["sgd", "adam"]))
WITH_EPOCHS = space_of(
    *[param("epochs", "int", min="1", max="9")],
    *[
        param("lr", "double", min="0.0001", max="0.1", distribution="logUniform"),
        param("units", "int", min="8", max="128"),
        param("optimizer", "categorical", list=["sgd", "adam", "rmsprop"]),
    ],
)
TINY_WITH_EPOCHS = space_of(
    param("epochs", "int", min="1", max="9"),
    *[param("units", "int", min="1", max="3"), param("optimizer", "categorical", list=["sgd", "adam"])],
)

HYPERBAND = [
    AlgorithmSetting(name="r_l", value="9"),
    AlgorithmSetting(name="eta", value="3"),
    AlgorithmSetting(name="resource_name", value="epochs"),
]


PBT = [
    AlgorithmSetting(name="suggestion_trial_dir", value="/var/log/katib/checkpoints/"),
    AlgorithmSetting(name="n_population", value="8"),
    AlgorithmSetting(name="truncation_threshold", value="0.25"),
]


def case(name: str, *, tiny: bool = False) -> tuple[SearchSpace, list[AlgorithmSetting]]:
    """A space and settings that algorithm ``name`` accepts."""
    if name == "hyperband":
        return (TINY_WITH_EPOCHS if tiny else WITH_EPOCHS), HYPERBAND
    if name == "pbt":
        return (TINY if tiny else MIXED), PBT
    if tiny:
        return TINY, []
    return (COUNTABLE if name == "grid" else MIXED), []


def make(name: str, space: SearchSpace, settings: list[AlgorithmSetting], seed: int = 7) -> Suggester[SettingsModel]:
    return create_suggester(name, space, "minimize", settings, seed=seed)


def objective(assignments: Mapping[str, str]) -> float:
    """A deterministic toy loss with a known shape: every parameter matters a little."""
    total = 0.0
    for name, value in sorted(assignments.items()):
        try:
            x = float(value)
            total += (math.log10(x) + 2.5) ** 2 if name == "lr" else abs(x % 7 - 3) / 10
        except ValueError:
            total += 0.1 * (sum(map(ord, value)) % 5)
    return total


def record(i: int, proposal: Proposal, state: TrialState = TrialState.SUCCEEDED) -> TrialRecord:
    value = objective(proposal.assignments) if state.has_objective else None
    series = (value + 0.3, value + 0.1, value) if value is not None else ()
    return TrialRecord(f"trial-{i}", dict(proposal.assignments), state, value, series, dict(proposal.data))


def drive(make_suggester: object, calls: int, batch: int) -> list[list[dict[str, str]]]:
    """Run ``calls`` suggest calls of ``batch`` points, finishing each batch before the next call.

    ``make_suggester`` is called before every call, so passing a factory that
    builds a fresh suggester exercises the stateless contract.
    """
    assert callable(make_suggester)
    history: list[TrialRecord] = []
    batches = []
    for _ in range(calls):
        proposals = make_suggester().suggest(history, batch)
        batches.append([dict(p.assignments) for p in proposals])
        history += [record(len(history), p) for p in proposals]
    return batches
