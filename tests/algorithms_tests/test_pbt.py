"""PBT's rules, against Katib's pbt service: generations, parents, truncation, perturbation, re-queues."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from katib_flow.algorithms import create_suggester
from katib_flow.algorithms.pbt import GENERATION_LABEL, PARENT_LABEL, pbt_data
from katib_flow.history import Proposal, TrialRecord, TrialState
from katib_flow.spec import AlgorithmSetting

from .conformance import param, space_of

SPACE = space_of(
    param("lr", "double", min="0.001", max="0.1"),
    param("units", "int", min="10", max="100", step="10"),
    param("optimizer", "categorical", list=["sgd", "adam", "rmsprop"]),
)


def settings(n: int = 5, threshold: float = 0.4, resample: float | None = None) -> list[AlgorithmSetting]:
    found = [
        AlgorithmSetting(name="suggestion_trial_dir", value="/ckpt"),
        AlgorithmSetting(name="n_population", value=str(n)),
        AlgorithmSetting(name="truncation_threshold", value=str(threshold)),
    ]
    if resample is not None:
        found.append(AlgorithmSetting(name="resample_probability", value=str(resample)))
    return found


def finished(i: int, p: Proposal, objective: float | None, state: TrialState = TrialState.SUCCEEDED) -> TrialRecord:
    return TrialRecord(f"t{i}", dict(p.assignments), state, objective, (), dict(p.data))


def suggest(history: list[TrialRecord], n: int, **kwargs: float | None) -> list[Proposal]:
    size = int(kwargs.pop("n_population", 5) or 5)
    return create_suggester("pbt", SPACE, "maximize", settings(size, **kwargs), seed=3).suggest(history, n)  # type: ignore[arg-type]


def generation_0(scores: list[float]) -> list[TrialRecord]:
    return [finished(i, p, s) for i, (p, s) in enumerate(zip(suggest([], len(scores)), scores, strict=True))]


def test_generation_0_is_n_population_points_and_then_the_population_waits() -> None:
    first = suggest([], 8)
    assert len(first) == 5  # n_population, however many slots ask
    assert [pbt_data(p.data) for p in first] == [{"generation": 0, "member": k, "parent": None} for k in range(5)]
    assert all(p.data["labels"] == {GENERATION_LABEL: "0"} for p in first)
    running = [TrialRecord(f"t{i}", p.assignments, TrialState.RUNNING, data=dict(p.data)) for i, p in enumerate(first)]
    assert suggest(running, 3) == []  # the next generation needs this one's objectives
    four_done = [finished(i, p, 0.5) for i, p in enumerate(first[:4])] + running[4:]
    assert suggest(four_done, 3) == []


def test_the_next_generation_follows_katibs_truncation_selection() -> None:
    history = generation_0([0.1, 0.9, 0.5, 0.3, 0.7])
    nxt = suggest(history, 5)
    assert len(nxt) == 5
    by_name = {t.name: t for t in history}
    records = [pbt_data(p.data) for p in nxt]
    assert all(r is not None and r["generation"] == 1 for r in records)
    assert [r["member"] for r in records if r] == [0, 1, 2, 3, 4]
    # Katib: quantiles at 0.4 and 0.6 (numpy's linear rule): lower 0.34, upper 0.58; exploit the members
    # below the lower one, at most int(5 * 0.4) = 2: t0 (0.1) and t3 (0.3).
    lower, upper = np.quantile([0.1, 0.9, 0.5, 0.3, 0.7], (0.4, 0.6))
    for p in nxt[:2]:  # a copy of a top member's values, continuing from that member's checkpoint
        parent = by_name[str(p.data["labels"][PARENT_LABEL])]
        assert (parent.objective or 0) >= upper
        assert p.assignments == parent.assignments
    # the other three explore: each perturbs its own values and continues its own checkpoint
    explored = nxt[2:]
    parents = {str(p.data["labels"][PARENT_LABEL]) for p in explored}
    assert parents == {t.name for t in history if (t.objective or 0) >= lower}
    for p in explored:
        parent = by_name[str(p.data["labels"][PARENT_LABEL])]
        lr, old_lr = float(p.assignments["lr"]), float(parent.assignments["lr"])
        assert math.isclose(lr, min(old_lr * 0.8, 0.1)) or math.isclose(lr, min(old_lr * 1.2, 0.1))
        units, old_units = int(p.assignments["units"]), int(parent.assignments["units"])
        assert units in {min(max(round(old_units * f / 10) * 10, 10), 100) for f in (0.8, 1.2)}
        choices = ["sgd", "adam", "rmsprop"]
        i = choices.index(parent.assignments["optimizer"])
        assert p.assignments["optimizer"] in {choices[(i - 1) % 3], choices[(i + 1) % 3]}


def test_a_minimized_objective_is_ranked_the_other_way() -> None:
    base = suggest([], 5)
    history = [finished(i, p, s) for i, (p, s) in enumerate(zip(base, [0.1, 0.9, 0.5, 0.3, 0.7], strict=True))]
    minimizing = create_suggester("pbt", SPACE, "minimize", settings(), seed=3).suggest(history, 5)
    donors = {str(p.data["labels"][PARENT_LABEL]) for p in minimizing[:2]}
    assert donors <= {"t0", "t3"}  # the lowest losses are the best members now


def test_failed_members_are_proposed_again_killed_ones_are_left_to_the_engine() -> None:
    first = suggest([], 5)
    history = [
        finished(0, first[0], None, TrialState.FAILED),
        finished(1, first[1], None, TrialState.KILLED),
        finished(2, first[2], None, TrialState.METRICS_UNAVAILABLE),
        finished(3, first[3], 0.4),
        TrialRecord("t4", first[4].assignments, TrialState.RUNNING, data=dict(first[4].data)),
    ]
    again = suggest(history, 5)
    assert [p.assignments for p in again] == [first[0].assignments, first[2].assignments]
    assert [pbt_data(p.data) for p in again] == [pbt_data(first[0].data), pbt_data(first[2].data)]
    # a failed member's re-run that succeeds completes the generation
    history += [finished(5, again[0], 0.6), finished(6, again[1], 0.2), finished(7, first[1], 0.3)]
    history[4] = finished(4, first[4], 0.5)
    assert {pbt_data(p.data)["generation"] for p in suggest(history, 5)} == {1}  # type: ignore[index]


@pytest.mark.parametrize(("resample", "changed"), [(1.0, True), (0.0, False)])
def test_resample_probability_resamples_instead_of_perturbing(resample: float, changed: bool) -> None:
    history = generation_0([0.1, 0.9, 0.5, 0.3, 0.7])
    by_name = {t.name: t for t in history}
    explored = suggest(history, 5, resample=resample)[2:]
    for p in explored:
        parent = by_name[str(p.data["labels"][PARENT_LABEL])]
        if changed:  # resampled from the space: not a x0.8 / x1.2 step of the parent's value
            lr, old = float(p.assignments["lr"]), float(parent.assignments["lr"])
            assert not (math.isclose(lr, old * 0.8) or math.isclose(lr, old * 1.2))
        else:
            assert p.assignments == parent.assignments


def test_generations_go_on_and_each_is_planned_the_same_in_every_process() -> None:
    history: list[TrialRecord] = []
    for generation in range(4):
        batch = suggest(history, 5)
        again = suggest(history, 5)
        assert [p.assignments for p in batch] == [p.assignments for p in again]
        assert {pbt_data(p.data)["generation"] for p in batch} == {generation}  # type: ignore[index]
        history += [finished(len(history), p, 0.1 * k + generation) for k, p in enumerate(batch)]
    members = [pbt_data(t.data) for t in history]
    assert all(m is not None for m in members)
    names = {t.name for t in history}
    assert all(m["parent"] in names for m in members if m and m["generation"] > 0)


def test_a_parent_named_only_by_katibs_label_is_still_the_parent(tmp_path: Path) -> None:
    from katib_flow.engine.checkpoints import CheckpointMissingError, parent_of, prepare_checkpoint

    assert parent_of({"labels": {PARENT_LABEL: "p-1"}}) == "p-1"  # e.g. proposed by an external pbt service
    assert parent_of({"pbt": {"generation": 0, "member": 0, "parent": None}}) is None
    with pytest.raises(CheckpointMissingError, match="parent trial p-1 is missing"):
        prepare_checkpoint(tmp_path, "c-1", "p-1")  # a parent this run never made: refused, not started empty
    (tmp_path / "p-1").mkdir()
    (tmp_path / "p-1" / "model").write_text("weights")
    copied = prepare_checkpoint(tmp_path, "c-1", "p-1")
    (copied / "model").write_text("trained on")
    assert (tmp_path / "p-1" / "model").read_text() == "weights"  # the parent's folder is never written
    assert prepare_checkpoint(tmp_path, "c-1", "p-1").joinpath("model").read_text() == "weights"  # a retry: afresh
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-1", "p-1"]  # no partial copy left behind
