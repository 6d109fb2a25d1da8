"""The engine on SQLite and a real MariaDB: lifecycle, reservation, rendering, metrics, completion."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from katib_flow import search
from katib_flow.collectors import Observation
from katib_flow.engine import (
    Claim,
    Outcome,
    claim_trial,
    evaluate,
    find_experiment,
    finish_and_claim,
    finish_trial,
    init_experiment,
    load_history,
    mark_running,
    record_observations,
    render_trial,
    reserve_trials,
    stop_rules,
)
from katib_flow.exceptions import SpecError, StorageError
from katib_flow.history import TrialRecord, TrialState
from katib_flow.store import ExperimentRow, ObservationRow, Store, TrialRow

from .helpers import T0, complete, experiment


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def test_init_is_refused_twice_and_resumes_with_budget_changes_only(store: Store) -> None:
    stored = init_experiment(store, experiment())
    assert stored.experiment.spec.parallel_trial_count == 2
    assert [c["reason"] for c in stored.conditions] == ["ExperimentCreated", "ExperimentRunning"]
    with pytest.raises(StorageError, match="already exists"):
        init_experiment(store, experiment())
    assert init_experiment(store, experiment(), existing="reuse").id == stored.id
    bigger = init_experiment(store, experiment(max_trials=9, parallel=3), existing="resume")
    assert (bigger.id, bigger.experiment.spec.max_trial_count) == (stored.id, 9)
    with pytest.raises(SpecError, match=r"only spec\.parallelTrialCount, spec\.maxTrialCount"):
        init_experiment(store, experiment(algo="tpe"), existing="resume")
    with pytest.raises(StorageError, match="no experiment named 'other' to resume"):
        init_experiment(store, experiment("other"), existing="resume")
    assert find_experiment(store, "exp").id == stored.id


def test_reservation_respects_parallelism_budget_and_slots(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=3, parallel=2))
    first = reserve_trials(store, exp.id, [(0, 0), (1, 0), (2, 0)])
    assert [t is not None for t in first] == [True, True, False]  # parallelTrialCount 2
    again = reserve_trials(store, exp.id, [(0, 0), (1, 0)])
    assert [t.name for t in again if t] == [t.name for t in first if t]  # a slot keeps its trial
    assert first[0] and first[0].name.startswith("exp-") and len(first[0].name) == len("exp-") + 8
    assert first[0] and first[0].state is TrialState.CREATED
    assert first[0] is not None
    complete(store, first[0], [0.5])
    third = reserve_trials(store, exp.id, [(0, 1), (2, 0)])
    assert [t is not None for t in third] == [True, False]  # one free slot
    assert first[1] is not None and third[0] is not None
    complete(store, first[1], [0.4])
    complete(store, third[0], [0.3])
    assert reserve_trials(store, exp.id, [(1, 1)]) == [None]  # maxTrialCount 3 reached
    result = evaluate(store, exp.id)
    assert (result.completed, result.succeeded, result.reason) == (True, True, "ExperimentMaxTrialsReached")


def test_claim_reserves_renders_and_starts_once_per_slot(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=2, parallel=1))
    claim = claim_trial(store, exp.id, (0, 0), start=True)
    assert claim.trial is not None and claim.rendered is not None and not claim.completed
    assert claim.trial.state is TrialState.RUNNING and claim.trial.run_object == claim.rendered.run_object
    assert claim.rendered.command.argv[1:3] == ["train.py", f"--lr={claim.trial.assignments['lr']}"]
    again = claim_trial(store, exp.id, (0, 0), start=True)  # a restarted slot or a retried step
    assert again.trial == claim.trial and again.rendered == claim.rendered
    assert claim_trial(store, exp.id, (0, 1)).trial is None  # parallelTrialCount 1 holds it back
    complete(store, claim.trial, [0.5])
    finished = claim_trial(store, exp.id, (0, 0))
    assert finished.trial is not None and finished.trial.state is TrialState.SUCCEEDED and finished.rendered is None
    last = claim_trial(store, exp.id, (0, 1))
    assert last.trial is not None and last.trial.state is TrialState.CREATED  # without start: Created
    complete(store, last.trial, [0.4])
    assert claim_trial(store, exp.id, (0, 2)) == Claim(None, None, True)


def test_finishing_the_last_trial_completes_the_experiment_in_the_same_call(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=1, parallel=1, max_failed=1, goal=0.1))
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    complete(store, trial, [0.05])
    with store.session() as session:
        row = session.get_one(ExperimentRow, exp.id)
        assert row.completed and row.conditions[-1]["reason"] == "ExperimentGoalReached"


def test_names_are_deterministic_for_a_seed(store: Store) -> None:
    a = init_experiment(store, experiment("a"))
    names = [t.name for t in reserve_trials(store, a.id, [(0, 0), (1, 0)]) if t]
    from katib_flow.engine import trial_name

    assert names == [trial_name("a", a.seed, 0), trial_name("a", a.seed, 1)]


def test_render_substitutes_parameters_and_trial_metadata(store: Store) -> None:
    exp = init_experiment(store, experiment(namespace="team"))
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    rendered = render_trial(store, exp.id, trial.name)
    container = rendered.run_object["spec"]["template"]["spec"]["containers"][0]
    assert rendered.run_object["metadata"] == {"name": trial.name, "namespace": "team"}
    assert container["command"] == [
        "python3",
        "train.py",
        f"--lr={trial.assignments['lr']}",
        f"--units={trial.assignments['units']}",
        f"--name={trial.name}",
    ]
    assert rendered.command.argv == container["command"]
    assert render_trial(store, exp.id, trial.name) == rendered  # stored once, returned again


def test_render_keeps_a_hostile_value_inside_one_string(store: Store) -> None:
    exp = init_experiment(
        store, experiment(params={"lr": search.categorical(["a\n- b: c", "$(rm -rf /)"]), "units": search.int(1, 2)})
    )
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    argv = render_trial(store, exp.id, trial.name).command.argv
    assert argv[2] == f"--lr={trial.assignments['lr']}"
    assert len(argv) == 5


def test_metrics_strategies_and_metrics_unavailable(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=4))
    t1, t2 = reserve_trials(store, exp.id, [(0, 0), (1, 0)])
    assert t1 is not None and t2 is not None
    done = complete(store, t1, [0.9, 0.2, 0.6])
    assert (done.state, done.objective) == (TrialState.SUCCEEDED, 0.2)  # minimize -> min
    assert done.metrics == [{"name": "loss", "min": "0.2", "max": "0.9", "latest": "0.6"}]
    mark_running(store, exp.id, t2.name)
    record_observations(store, exp.id, t2.name, [Observation("accuracy", "0.5", T0)], first_seq=0)
    missing = finish_trial(store, exp.id, t2.name, Outcome.SUCCEEDED)
    assert missing.state is TrialState.METRICS_UNAVAILABLE
    assert "no numeric value of 'loss'" in missing.message
    status = evaluate(store, exp.id).status
    assert status["currentOptimalTrial"]["bestTrialName"] == t1.name
    assert status["trialsSucceeded"] == 1 and status["trialMetricsUnavailable"] == 1
    assert status["metricsUnavailableTrialList"] == [t2.name]


def test_recording_is_idempotent_by_sequence_number(store: Store) -> None:
    exp = init_experiment(store, experiment())
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    obs = [Observation("loss", str(v), T0 + timedelta(seconds=v)) for v in range(5)]
    assert record_observations(store, exp.id, trial.name, obs[:3], first_seq=0) == 3
    assert record_observations(store, exp.id, trial.name, obs, first_seq=0) == 5  # a re-read of the whole log
    record_observations(store, exp.id, trial.name, obs, first_seq=0)
    record_observations(store, exp.id, trial.name, obs[:2], source="push")
    record_observations(store, exp.id, trial.name, obs[:2], source="push")  # pushes append
    with store.session() as session:
        count = session.execute(select(func.count()).select_from(ObservationRow)).scalar_one()
    assert count == 5 + 4


def test_finish_twice_changes_nothing(store: Store) -> None:
    exp = init_experiment(store, experiment())
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    first = complete(store, trial, [0.3])
    again = finish_trial(store, exp.id, trial.name, Outcome.FAILED, "late failure")
    assert again == first


@pytest.mark.parametrize(
    ("goal", "maximize_metric", "losses", "reason"),
    [
        (0.1, False, [0.05], "ExperimentGoalReached"),
        (0.9, True, [0.95], "ExperimentGoalReached"),
        (0.01, False, [0.5], None),
    ],
)
def test_goal(store: Store, goal: float, maximize_metric: bool, losses: list[float], reason: str | None) -> None:
    exp = init_experiment(store, experiment(goal=goal, maximize_metric=maximize_metric))
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    complete(store, trial, losses)
    result = evaluate(store, exp.id)
    assert result.completed == (reason is not None)
    if reason:
        assert (result.reason, result.succeeded) == (reason, True)
        conditions = {c["type"]: (c["status"], c["reason"]) for c in result.status["conditions"]}
        assert conditions["Succeeded"] == ("True", reason)
        assert conditions["Running"][0] == "False"


def test_reaching_max_failed_fails_the_experiment(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=6, parallel=3, max_failed=2))
    trials = [t for t in reserve_trials(store, exp.id, [(0, 0), (1, 0), (2, 0)]) if t]
    complete(store, trials[0], [], Outcome.FAILED)
    assert not evaluate(store, exp.id).completed  # one failure of two allowed
    complete(store, trials[1], [])  # no metric: MetricsUnavailable counts as failed; 2 >= 2 (Katib's >=)
    result = evaluate(store, exp.id)
    assert (result.completed, result.succeeded, result.reason) == (True, False, "ExperimentFailed")
    assert reserve_trials(store, exp.id, [(0, 1)]) == [None]


def test_max_failed_zero_fails_at_the_first_failure(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=3, parallel=1, max_failed=0))
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None and not evaluate(store, exp.id).completed  # no failure yet: 0 failed is not >= 0
    complete(store, trial, [], Outcome.FAILED)
    assert evaluate(store, exp.id).reason == "ExperimentFailed"


def test_a_killed_grid_point_is_run_again(store: Store) -> None:
    grid = {"lr": search.double(0.1, 0.2, step=0.1), "units": search.int(1, 1)}  # two points
    exp = init_experiment(store, experiment(algo="grid", max_trials=2, parallel=2, params=grid))
    trials = [t for t in reserve_trials(store, exp.id, [(0, 0), (1, 0)]) if t]
    complete(store, trials[0], [0.5])
    complete(store, trials[1], [0.5], Outcome.KILLED)
    # The killed trial's point is given back: the next trial runs it again.
    (rerun,) = reserve_trials(store, exp.id, [(1, 1)])
    assert rerun is not None and rerun.assignments == trials[1].assignments
    assert reserve_trials(store, exp.id, [(0, 1)]) == [None]  # the budget is taken
    complete(store, rerun, [0.4])
    result = evaluate(store, exp.id)
    assert (result.reason, result.succeeded) == ("ExperimentMaxTrialsReached", True)
    # Before katib-flow gave killed points back this ended ExperimentSuggestionEndReached, one point unrun.
    assert result.status["trialsSucceeded"] == 2


def test_early_stopping_rules_come_from_succeeded_trials(store: Store) -> None:
    exp = init_experiment(store, experiment(early_stopping=True, parallel=2))
    trials = [t for t in reserve_trials(store, exp.id, [(0, 0), (1, 0)]) if t]
    assert stop_rules(store, exp.id) == []
    complete(store, trials[0], [0.4, 0.2, 0.1])
    complete(store, trials[1], [0.8, 0.6])
    (rule,) = stop_rules(store, exp.id)
    # averages over start_step=2: 0.3 and 0.7 -> Katib's rule value is their mean, 0.5; minimize -> greater
    assert (rule.metric, rule.comparison.value, rule.start_step) == ("loss", "greater", 2)
    assert rule.value == pytest.approx(0.5)


def _selects(store: Store, load: Callable[[], object]) -> int:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        load()
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])


def test_history_loads_with_a_few_queries_and_decodes_finished_trials_once(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=30, parallel=30))
    trials = [t for t in reserve_trials(store, exp.id, [(i, 0) for i in range(30)]) if t]
    for t in trials:
        complete(store, t, [0.3, 0.2])
    loaded: list[list[TrialRecord]] = []

    def load() -> None:
        with store.session() as session:
            loaded.append(load_history(session, exp.id, "loss"))

    # ids and states, the rows not seen finished before, the objective's observations
    assert _selects(store, load) == 3
    assert _selects(store, load) == 2  # every trial had finished: nothing to decode again
    assert loaded[0] == loaded[1]
    assert len(loaded[0]) == 30 and all(h.objective_series == (0.3, 0.2) for h in loaded[0])


def test_history_sees_a_trial_finish_after_it_was_loaded_running(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=3, parallel=2))
    first, second = reserve_trials(store, exp.id, [(0, 0), (1, 0)])
    assert first is not None and second is not None
    with store.session() as session:
        assert [h.state for h in load_history(session, exp.id)] == [TrialState.CREATED] * 2
    complete(store, first, [0.4])
    with store.session() as session:
        history = load_history(session, exp.id)
    assert [(h.state, h.objective) for h in history] == [(TrialState.SUCCEEDED, 0.4), (TrialState.CREATED, None)]


def test_status_uses_katib_keys(store: Store) -> None:
    exp = init_experiment(store, experiment())
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    complete(store, trial, [0.25])
    status = evaluate(store, exp.id).status
    assert {
        "startTime",
        "conditions",
        "currentOptimalTrial",
        "trials",
        "trialsSucceeded",
        "trialsFailed",
        "trialsRunning",
        "trialsEarlyStopped",
        "trialMetricsUnavailable",
        "trialsKilled",
        "trialsPending",
        "succeededTrialList",
    } <= set(status)
    optimal = status["currentOptimalTrial"]
    assert optimal["parameterAssignments"] == [{"name": k, "value": v} for k, v in trial.assignments.items()]
    assert optimal["observation"]["metrics"][0]["min"] == "0.25"
    with store.session() as session:
        assert session.execute(select(func.count()).select_from(TrialRow)).scalar_one() == 1


def test_new_trials_carry_the_rules_of_the_moment(store: Store) -> None:
    exp = init_experiment(store, experiment(early_stopping=True, parallel=2, max_trials=4))
    first = [t for t in reserve_trials(store, exp.id, [(0, 0), (1, 0)]) if t]
    assert all(t.stop_rules == [] for t in first)  # no finished trial yet
    complete(store, first[0], [0.4, 0.2])
    complete(store, first[1], [0.8, 0.6])
    (later,) = reserve_trials(store, exp.id, [(0, 1)])
    assert later is not None
    assert later.stop_rules == stop_rules(store, exp.id)
    assert later.stop_rules[0].value == pytest.approx(0.5)


def _snapshot(store: Store) -> list[object]:
    from katib_flow.store import ExperimentRow

    with store.session() as session:
        rows: list[object] = []
        for model in (ExperimentRow, TrialRow, ObservationRow):
            for row in session.execute(select(model)).scalars():
                rows.append({c.name: getattr(row, c.name) for c in model.__table__.columns})
        return rows


def test_every_engine_function_called_twice_changes_nothing_the_second_time(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=2, parallel=1, goal=0.01))
    steps: list[Callable[[], object]] = [
        lambda: init_experiment(store, experiment(max_trials=2, parallel=1, goal=0.01), existing="reuse"),
        lambda: reserve_trials(store, exp.id, [(0, 0)]),
    ]
    for step in steps:
        step()
        before = _snapshot(store)
        step()
        assert _snapshot(store) == before
    (trial,) = reserve_trials(store, exp.id, [(0, 0)])
    assert trial is not None
    obs = [Observation("loss", "0.5", T0)]
    later: list[Callable[[], object]] = [
        lambda: render_trial(store, exp.id, trial.name),
        lambda: mark_running(store, exp.id, trial.name),
        lambda: record_observations(store, exp.id, trial.name, obs, first_seq=0),
        lambda: finish_trial(store, exp.id, trial.name, Outcome.SUCCEEDED),
        lambda: evaluate(store, exp.id),
        lambda: reserve_trials(store, exp.id, [(0, 1)]),
        lambda: evaluate(store, exp.id),
    ]
    for step in later:
        step()
        before = _snapshot(store)
        step()
        assert _snapshot(store) == before


def test_finish_and_claim_finishes_then_claims_the_next_slot_in_one_transaction(store: Store) -> None:
    exp = init_experiment(store, experiment(max_trials=3, parallel=1, goal=0.1))
    first = claim_trial(store, exp.id, (0, 0), start=True)
    assert first.trial is not None
    loss = [Observation("loss", "0.5", T0)]
    done, following = finish_and_claim(
        store, exp.id, first.trial.name, Outcome.SUCCEEDED, "", (0, 1), observations=loss, first_seq=0
    )
    assert done.state is TrialState.SUCCEEDED and done.objective == 0.5
    assert following.trial is not None and following.trial.state is TrialState.RUNNING
    assert following.rendered is not None
    # The same slot asked again is the same trial (a restarted slot creates nothing).
    assert claim_trial(store, exp.id, (0, 1), start=True).trial == following.trial
    # A finish that reaches the goal gives no next trial: the claim sees the finished one.
    goal = [Observation("loss", "0.05", T0)]
    _, last = finish_and_claim(
        store, exp.id, following.trial.name, Outcome.SUCCEEDED, "", (0, 2), observations=goal, first_seq=0
    )
    assert (last.trial, last.completed) == (None, True)
    assert evaluate(store, exp.id).reason == "ExperimentGoalReached"
