"""Hyperband: Katib's bracket arithmetic, promotions, waiting, and a clean end."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from katib_flow.algorithms.hyperband import Rung, schedule
from katib_flow.algorithms.settings import HyperbandSettings
from katib_flow.history import TrialRecord, TrialState

from .conformance import HYPERBAND, WITH_EPOCHS, make, objective


def test_schedule_for_r_l_9_eta_3_is_the_textbook_one() -> None:
    rungs = schedule(HyperbandSettings(r_l=9, eta=3, resource_name="epochs"))
    assert rungs == [
        Rung(2, 0, 9, 1),
        Rung(2, 1, 3, 3),
        Rung(2, 2, 1, 9),
        Rung(1, 0, 5, 3),
        Rung(1, 1, 2, 9),
        Rung(0, 0, 3, 9),
    ]


def test_schedule_of_katibs_example_r_l_2_eta_2() -> None:
    # examples/v1beta1/hpo/hyperband.yaml: two rungs in the first bracket, then one.
    rungs = schedule(HyperbandSettings(r_l=2, eta=2, resource_name="num-epochs"))
    assert rungs == [Rung(1, 0, 2, 1), Rung(1, 1, 1, 2), Rung(0, 0, 2, 2)]


def _finish(records: list[TrialRecord]) -> list[TrialRecord]:
    return [
        TrialRecord(t.name, t.assignments, TrialState.SUCCEEDED, objective(t.assignments), (), t.data) for t in records
    ]


def _without_epochs(assignments: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in assignments.items() if k != "epochs"}


def test_full_run_promotes_the_best_waits_for_rungs_and_ends() -> None:
    suggester = make("hyperband", WITH_EPOCHS, HYPERBAND)
    history: list[TrialRecord] = []
    # Rung (2, 0): nine random configurations with one epoch, proposed across calls.
    first = suggester.suggest(history, 4) + suggester.suggest([], 0)
    history += [TrialRecord(f"t{i}", p.assignments, TrialState.RUNNING, None, (), p.data) for i, p in enumerate(first)]
    more = suggester.suggest(history, 10)
    assert len(more) == 5  # the rung holds nine; the next rung must wait for results
    history += [
        TrialRecord(f"t{len(history) + i}", p.assignments, TrialState.RUNNING, None, (), p.data)
        for i, p in enumerate(more)
    ]
    assert {t.assignments["epochs"] for t in history} == {"1"}
    assert suggester.suggest(history, 3) == []  # waiting, not finished: trials are running
    history = _finish(history)
    promoted = suggester.suggest(history, 10)
    assert len(promoted) == 3
    best = sorted(history, key=lambda t: t.objective or 0.0)[:3]
    assert [_without_epochs(p.assignments) for p in promoted] == [_without_epochs(t.assignments) for t in best]
    assert {p.assignments["epochs"] for p in promoted} == {"3"}
    # Drive the rest to the end; count trials per rung.
    history += _finish(
        [TrialRecord(f"p{i}", p.assignments, TrialState.RUNNING, None, (), p.data) for i, p in enumerate(promoted)]
    )
    for _ in range(20):
        batch = suggester.suggest(history, 10)
        if not batch:
            break
        history += _finish(
            [
                TrialRecord(f"x{len(history)}-{i}", p.assignments, TrialState.RUNNING, None, (), p.data)
                for i, p in enumerate(batch)
            ]
        )
    sizes: dict[tuple[int, int], int] = {}
    for t in history:
        key = (int(t.data["hyperband_bracket"]), int(t.data["hyperband_rung"]))
        sizes[key] = sizes.get(key, 0) + 1
    assert sizes == {(2, 0): 9, (2, 1): 3, (2, 2): 1, (1, 0): 5, (1, 1): 2, (0, 0): 3}
    assert suggester.suggest(history, 5) == []  # the outer loop is over


def test_next_bracket_starts_while_the_last_rung_of_the_previous_runs() -> None:
    suggester = make("hyperband", WITH_EPOCHS, HYPERBAND)
    history: list[TrialRecord] = []
    for _ in range(2):  # rungs (2,0) and (2,1), finished
        batch = suggester.suggest(history, 20)
        history += _finish(
            [
                TrialRecord(f"t{len(history)}-{i}", p.assignments, TrialState.RUNNING, None, (), p.data)
                for i, p in enumerate(batch)
            ]
        )
    last = suggester.suggest(history, 20)
    # The single survivor of bracket 2 gets nine epochs, and bracket 1 starts at once (Katib does the same).
    assert [p.data["hyperband_rung"] for p in last][:1] == [2]
    assert [p.assignments["epochs"] for p in last] == ["9"] + ["3"] * 5


def test_failed_trials_are_not_promoted() -> None:
    suggester = make("hyperband", WITH_EPOCHS, HYPERBAND)
    rung0 = suggester.suggest([], 9)
    history = [
        TrialRecord(
            f"t{i}",
            p.assignments,
            TrialState.FAILED if i < 7 else TrialState.SUCCEEDED,
            None if i < 7 else float(i),
            (),
            p.data,
        )
        for i, p in enumerate(rung0)
    ]
    promoted = suggester.suggest(history, 5)
    assert len(promoted) == 2  # only two trials finished; three would have been promoted


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_promotion_follows_the_objective_direction(direction: str) -> None:
    from katib_flow.algorithms import create_suggester

    suggester = create_suggester("hyperband", WITH_EPOCHS, direction, HYPERBAND, seed=1)
    rung0 = suggester.suggest([], 9)
    history = [
        TrialRecord(f"t{i}", p.assignments, TrialState.SUCCEEDED, float(i), (), p.data) for i, p in enumerate(rung0)
    ]
    promoted = suggester.suggest(history, 3)
    expected = [0, 1, 2] if direction == "minimize" else [8, 7, 6]
    assert [p.assignments["units"] for p in promoted] == [rung0[i].assignments["units"] for i in expected]
