"""One conformance suite, parametrized over every registered algorithm (cf. Optuna's pytest_samplers)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from katib_flow.algorithms import ALGORITHM_SETTINGS, algorithm_names, create_suggester, suggester_class
from katib_flow.exceptions import InvalidSettingsError, UnknownAlgorithmError
from katib_flow.history import TrialRecord, TrialState
from katib_flow.space import CategoricalParameter, DiscreteParameter, DoubleParameter, IntParameter, SearchSpace
from katib_flow.spec import AlgorithmSetting

from .conformance import case, drive, make, record

ALGORITHMS = algorithm_names()
# Hyperband promotes the same configurations with a larger resource and overwrites the resource
# parameter outside its feasible space, exactly as Katib does. PBT's exploit copies a good member's values
# (its model trains on from a checkpoint), and a population never runs out of generations.
REPEATS_BY_DESIGN = {"hyperband", "pbt"}
# Grid search visits the grid in row-major order unless random_state asks for a shuffled order.
SEED_FREE = {"grid"}


def _assert_in_space(space: SearchSpace, point: dict[str, str], skip: set[str]) -> None:
    assert set(point) == set(space.names)
    for p in space.parameters:
        if p.name in skip:
            continue
        raw = point[p.name]
        if isinstance(p, (CategoricalParameter, DiscreteParameter)):
            assert raw in p.values
        elif isinstance(p, IntParameter):
            value = int(raw)
            assert p.min <= value <= p.max
            assert (value - p.min) % (p.step or 1) == 0
        else:
            assert isinstance(p, DoubleParameter)
            value_f = float(raw)
            assert p.min <= value_f <= p.max
            if p.step is not None:
                k = (Decimal(raw) - Decimal(p.min_text)) / Decimal(p.step_text)
                assert k == k.to_integral_value(), f"{raw} is off the step grid of {p.name}"


@pytest.mark.parametrize("name", ALGORITHMS)
def test_registered_suggester_matches_its_name(name: str) -> None:
    cls = suggester_class(name)
    space, settings = case(name)
    assert isinstance(create_suggester(name, space, "maximize", settings), cls)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_values_lie_in_the_space_with_types_and_steps(name: str) -> None:
    space, settings = case(name)
    skip = {"epochs"} if name == "hyperband" else set()
    for batch in drive(lambda: make(name, space, settings), calls=6, batch=3):
        for point in batch:
            _assert_in_space(space, point, skip)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("n", [1, 3, 8])
def test_n_is_honoured(name: str, n: int) -> None:
    space, settings = case(name)
    proposals = make(name, space, settings).suggest([], n)
    assert len(proposals) == n


@pytest.mark.parametrize("name", sorted(set(ALGORITHMS) - {"pbt"}))  # two exploits may copy one member
def test_batch_holds_no_duplicate_points(name: str) -> None:
    space, settings = case(name)
    history: list[TrialRecord] = []
    for _ in range(4):
        proposals = make(name, space, settings).suggest(history, 6)
        keys = [tuple(sorted(p.assignments.items())) for p in proposals]
        assert len(set(keys)) == len(keys)
        history += [record(len(history), p) for p in proposals]


@pytest.mark.parametrize("name", sorted(set(ALGORITHMS) - REPEATS_BY_DESIGN))
def test_finite_space_is_exhausted_without_repeats_and_then_ends(name: str) -> None:
    space, settings = case(name, tiny=True)
    history: list[TrialRecord] = []
    for _ in range(10):
        proposals = make(name, space, settings).suggest(history, 4)
        if not proposals:
            break
        history += [record(len(history), p) for p in proposals]
    points = [tuple(sorted(t.assignments.items())) for t in history]
    assert len(points) == 6  # 3 units x 2 optimizers
    assert len(set(points)) == 6
    assert make(name, space, settings).suggest(history, 4) == []


@pytest.mark.parametrize("name", sorted(set(ALGORITHMS) - REPEATS_BY_DESIGN))
def test_running_points_are_not_proposed_again_on_a_finite_space(name: str) -> None:
    space, settings = case(name, tiny=True)
    first = make(name, space, settings).suggest([], 4)
    running = [record(i, p, TrialState.RUNNING) for i, p in enumerate(first)]
    rest = make(name, space, settings).suggest(running, 4)
    assert len(rest) == 2
    taken = {tuple(sorted(t.assignments.items())) for t in running}
    assert not taken & {tuple(sorted(p.assignments.items())) for p in rest}


@pytest.mark.parametrize("name", ALGORITHMS)
def test_same_seed_same_sequence(name: str) -> None:
    space, settings = case(name)
    first = drive(lambda: make(name, space, settings, seed=11), calls=5, batch=2)
    again = drive(lambda: make(name, space, settings, seed=11), calls=5, batch=2)
    other = drive(lambda: make(name, space, settings, seed=12), calls=5, batch=2)
    assert first == again
    if name not in SEED_FREE:
        assert first != other


@pytest.mark.parametrize("name", ALGORITHMS)
def test_random_state_setting_overrides_the_seed(name: str) -> None:
    space, settings = case(name)
    if "random_state" not in suggester_class(name).settings_class.model_fields:
        pytest.skip(f"{name} has no random_state setting")
    seeded = [*settings, AlgorithmSetting(name="random_state", value="5")]
    a = create_suggester(name, space, "minimize", seeded, seed=1).suggest([], 3)
    b = create_suggester(name, space, "minimize", seeded, seed=2).suggest([], 3)
    assert [p.assignments for p in a] == [p.assignments for p in b]


@pytest.mark.parametrize("name", ALGORITHMS)
def test_rebuilt_suggester_continues_exactly_like_a_kept_one(name: str) -> None:
    space, settings = case(name)
    kept = make(name, space, settings)
    with_kept = drive(lambda: kept, calls=8, batch=2)
    rebuilt = drive(lambda: make(name, space, settings), calls=8, batch=2)
    assert with_kept == rebuilt


@pytest.mark.parametrize("name", ALGORITHMS)
def test_bad_settings_are_rejected_with_the_setting_name(name: str) -> None:
    space, settings = case(name)
    with pytest.raises(InvalidSettingsError, match="unknown setting 'bogus'"):
        create_suggester(name, space, "minimize", [*settings, AlgorithmSetting(name="bogus", value="1")])


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(UnknownAlgorithmError):
        create_suggester("simulated-annealing", case("random")[0], "minimize")


@pytest.mark.parametrize("name", ALGORITHMS)
def test_maximize_and_minimize_both_work(name: str) -> None:
    space, settings = case(name)
    for direction in ("minimize", "maximize"):
        history: list[TrialRecord] = []
        for _ in range(4):
            proposals = create_suggester(name, space, direction, settings, seed=3).suggest(history, 3)
            history += [record(len(history), p) for p in proposals]
        assert len(history) >= 4


@pytest.mark.parametrize("name", sorted(ALGORITHM_SETTINGS))
def test_validation_uses_the_suggesters_own_settings_model(name: str) -> None:
    assert ALGORITHM_SETTINGS[name] is suggester_class(name).settings_class
