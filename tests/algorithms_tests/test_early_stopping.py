"""medianstop against hand-computed cases, and Katib's rule semantics."""

from __future__ import annotations

import pytest

from katib_flow.earlystopping import create_early_stopper
from katib_flow.earlystopping.base import Comparison, StopRule, should_stop
from katib_flow.exceptions import InvalidSettingsError
from katib_flow.history import TrialRecord, TrialState
from katib_flow.spec import EarlyStoppingSetting


def _trial(name: str, series: tuple[float, ...], state: TrialState = TrialState.SUCCEEDED) -> TrialRecord:
    return TrialRecord(name, {}, state, series[-1] if series else None, series)


def _settings(**values: str) -> list[EarlyStoppingSetting]:
    return [EarlyStoppingSetting(name=k, value=v) for k, v in values.items()]


def test_no_rule_until_min_trials_required_succeeded() -> None:
    stopper = create_early_stopper("medianstop", "accuracy", "maximize", _settings(min_trials_required="3"))
    history = [_trial("a", (0.5,)), _trial("b", (0.6,)), _trial("c", (0.9,), TrialState.RUNNING)]
    assert stopper.rules(history) == []


def test_rule_value_is_the_mean_of_first_start_step_averages() -> None:
    # start_step 2: averages are (0.2+0.4)/2 = 0.3, (0.5+0.7)/2 = 0.6, (0.8+1.0)/2 = 0.9 (later reports ignored).
    # Katib's service takes the mean of those averages, 0.6; the median would also be 0.6 here, so
    # the next case tells them apart.
    stopper = create_early_stopper("medianstop", "accuracy", "maximize", _settings(start_step="2"))
    history = [_trial("a", (0.2, 0.4, 0.99)), _trial("b", (0.5, 0.7)), _trial("c", (0.8, 1.0, 0.1))]
    (rule,) = stopper.rules(history)
    assert (rule.metric, rule.comparison, rule.start_step) == ("accuracy", Comparison.LESS, 2)
    assert rule.value == pytest.approx(0.6)


def test_katib_takes_the_mean_not_the_median() -> None:
    # Averages over start_step=1: 0.1, 0.2, 0.9 -> mean 0.4 (median would be 0.2).
    stopper = create_early_stopper("medianstop", "loss", "minimize", _settings(start_step="1"))
    history = [_trial("a", (0.1,)), _trial("b", (0.2,)), _trial("c", (0.9,)), _trial("d", (5.0,), TrialState.FAILED)]
    (rule,) = stopper.rules(history)
    assert rule.value == pytest.approx(0.4)
    assert rule.comparison is Comparison.GREATER


def test_only_succeeded_trials_count() -> None:
    stopper = create_early_stopper("medianstop", "loss", "minimize", _settings(min_trials_required="2"))
    history = [_trial("a", (1.0,)), _trial("b", (3.0,), TrialState.EARLY_STOPPED), _trial("c", (2.0,))]
    (rule,) = stopper.rules(history)
    assert rule.value == pytest.approx(1.5)
    assert rule.start_step == 4


def test_rule_applies_from_start_step_on_and_stays_met() -> None:
    rule = StopRule("accuracy", 0.6, Comparison.LESS, start_step=3)
    assert not rule.is_met([0.1, 0.2])  # the first two reports are skipped
    assert rule.is_met([0.1, 0.2, 0.5])
    assert rule.is_met([0.1, 0.2, 0.5, 0.9])  # once met, a later good report does not undo it
    assert not rule.is_met([0.1, 0.2, 0.7, 0.8])


def test_every_rule_must_hold_to_stop() -> None:
    rules = [StopRule("accuracy", 0.8, Comparison.LESS), StopRule("epoch", 9, Comparison.EQUAL)]
    assert not should_stop(rules, {"accuracy": [0.5]})
    assert should_stop(rules, {"accuracy": [0.5], "epoch": [8, 9]})
    assert not should_stop([], {"accuracy": [0.1]})


def test_rule_wire_form() -> None:
    rule = StopRule("loss", 0.25, Comparison.GREATER, 4)
    assert rule.to_dict() == {"name": "loss", "value": "0.25", "comparison": "greater", "startStep": 4}


def test_bad_settings() -> None:
    with pytest.raises(InvalidSettingsError, match="min_trials_required"):
        create_early_stopper("medianstop", "loss", "minimize", _settings(min_trials_required="0"))
