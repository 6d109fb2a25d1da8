"""Search-space parsing and grid enumeration."""

from __future__ import annotations

import pytest

from katib_flow.exceptions import SpecError
from katib_flow.space import (
    CategoricalParameter,
    DiscreteParameter,
    DoubleParameter,
    IntParameter,
    SearchSpace,
    grid_values,
)
from katib_flow.spec import ExperimentSpec, FeasibleSpace, ParameterSpec


def _spec(*params: ParameterSpec) -> ExperimentSpec:
    return ExperimentSpec(parameters=list(params))


def _param(name: str, ptype: str, **fs: object) -> ParameterSpec:
    return ParameterSpec(name=name, parameter_type=ptype, feasible_space=FeasibleSpace.model_validate(fs))


def test_space_from_spec_builds_typed_parameters() -> None:
    space = SearchSpace.from_spec(
        _spec(
            _param("lr", "double", min="1e-4", max="0.1", distribution="logUniform"),
            _param("layers", "int", min="1", max="5", step="2"),
            _param("opt", "categorical", list=["sgd", "adam"]),
            _param("batch", "discrete", list=["16", "32.5"]),
        )
    )
    assert space.names == ["lr", "layers", "opt", "batch"]
    assert space["lr"] == DoubleParameter("lr", 1e-4, 0.1, None, "logUniform", "1e-4", "")
    assert space["layers"] == IntParameter("layers", 1, 5, 2, "uniform")
    assert space["opt"] == CategoricalParameter("opt", ("sgd", "adam"))
    assert space["batch"] == DiscreteParameter("batch", ("16", "32.5"), (16.0, 32.5))
    with pytest.raises(KeyError):
        space["missing"]


def test_grid_values_are_exact_decimals_including_max() -> None:
    space = SearchSpace.from_spec(_spec(_param("lr", "double", min="0.01", max="0.05", step="0.005")))
    assert grid_values(space["lr"]) == ["0.01", "0.015", "0.02", "0.025", "0.03", "0.035", "0.04", "0.045", "0.05"]


def test_grid_values_stop_below_max_when_the_step_does_not_divide() -> None:
    space = SearchSpace.from_spec(_spec(_param("m", "double", min="0.5", max="0.9", step="0.3")))
    assert grid_values(space["m"]) == ["0.5", "0.8"]


def test_integer_grid_and_grid_size() -> None:
    space = SearchSpace.from_spec(
        _spec(
            _param("n", "int", min="1", max="10", step="3"),
            _param("opt", "categorical", list=["a", "b", "c"]),
        )
    )
    assert grid_values(space["n"]) == ["1", "4", "7", "10"]
    assert space.grid_size() == 12


def test_continuous_double_has_no_grid() -> None:
    space = SearchSpace.from_spec(_spec(_param("lr", "double", min="0", max="1")))
    assert grid_values(space["lr"]) is None
    assert space.grid_size() is None


def test_from_spec_reports_every_problem() -> None:
    with pytest.raises(SpecError) as info:
        SearchSpace.from_spec(_spec(_param("a", "double", min="2", max="1"), _param("b", "int", min="x", max="3")))
    assert [str(p) for p in info.value.problems] == [
        "spec.parameters[0].feasibleSpace.min: must be less than max (got 2 >= 1)",
        "spec.parameters[1].feasibleSpace.min: must be an integer (got 'x')",
    ]


def test_int_min_equal_max_is_allowed_as_katib_allows_it() -> None:
    space = SearchSpace.from_spec(_spec(_param("epochs", "int", min="1", max="1")))
    assert grid_values(space["epochs"]) == ["1"]
