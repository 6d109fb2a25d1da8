"""PBT against hyperband and random at equal compute, on a task where training time is the resource.

The task is the toy PBT benchmark Katib's ``simple-pbt`` trial image runs
(``examples/v1beta1/trial-images/simple-pbt/pbt_test.py``, from Ray Tune's
``pbt_example.py``): accuracy grows fastest when the learning rate matches an
optimum that first rises and then falls with the accuracy reached (a triangle
wave), so no fixed learning rate trains well to the end; a schedule does. A
trial trains some epochs from a state (accuracy, epoch) and reports the
accuracy it reached.

* pbt: each trial trains ``EPOCHS_PER_TRIAL`` epochs from its parent's state
  (the checkpoint), with katib-flow's pbt suggester (population 8,
  truncation 0.25);
* hyperband: the resource parameter is the number of epochs (``r_l`` the
  longest run), each trial trains from scratch, as Katib's hyperband does;
* random: every trial trains the longest run from scratch with one learning rate.

Every contender gets the same number of epochs in all (the compute); the score
is the best accuracy any trial reached. Algorithms are driven in-process, a
batch at a time, through the same suggester API the engine uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from katib_flow.algorithms import create_suggester
from katib_flow.algorithms.pbt import pbt_data
from katib_flow.history import Proposal, TrialRecord, TrialState
from katib_flow.space import SearchSpace
from katib_flow.spec import AlgorithmSetting, ExperimentSpec, FeasibleSpace, ParameterSpec

__all__ = ["CONTENDERS", "EPOCHS_PER_TRIAL", "LONGEST", "best_accuracy", "pbt_report"]

EPOCHS_PER_TRIAL = 5
LONGEST = 81  # the longest single run (hyperband's r_l = 3**4; random trains this long)


@dataclass(frozen=True)
class State:
    accuracy: float = 0.0
    epoch: int = 0


def train(state: State, lr: float, epochs: int, rng: np.random.Generator) -> State:
    """``PBTBenchmarkExample.step`` of Katib's simple-pbt image, ``epochs`` times."""
    accuracy = state.accuracy
    for _ in range(epochs):
        midpoint = 50
        optimal = 0.01 * accuracy / midpoint if accuracy < midpoint else 0.01 - 0.01 * (accuracy - midpoint) / midpoint
        optimal = min(0.01, max(0.001, optimal))
        q_err = max(lr, optimal) / (min(lr, optimal) + np.finfo(float).eps)
        if q_err < 3:
            accuracy += (1.0 / q_err) * rng.random()
        elif lr > optimal:
            accuracy -= (q_err - 3) * rng.random()
        accuracy += 2 * rng.normal()
        accuracy = max(0.0, min(100.0, accuracy))
    return State(accuracy, state.epoch + epochs)


def _space(*extra: ParameterSpec) -> SearchSpace:
    lr = ParameterSpec(
        name="lr",
        parameter_type="double",
        feasible_space=FeasibleSpace(min="0.0001", max="0.02", distribution="logUniform"),
    )
    return SearchSpace.from_spec(ExperimentSpec(parameters=[lr, *extra]))


def _pbt(budget: int, seed: int) -> float:
    settings = [
        AlgorithmSetting(name="suggestion_trial_dir", value="/ckpt"),
        AlgorithmSetting(name="n_population", value="8"),
        AlgorithmSetting(name="truncation_threshold", value="0.25"),
    ]
    suggester = create_suggester("pbt", _space(), "maximize", settings, seed=seed)
    rng = np.random.default_rng(seed)
    history: list[TrialRecord] = []
    states: dict[str, State] = {}
    spent = 0
    while spent + EPOCHS_PER_TRIAL <= budget:
        batch = suggester.suggest(history, (budget - spent) // EPOCHS_PER_TRIAL)
        for proposal in batch:
            name = f"t{len(history)}"
            record = pbt_data(proposal.data) or {}
            start = states.get(str(record.get("parent")), State())  # the parent's checkpoint
            states[name] = train(start, float(proposal.assignments["lr"]), EPOCHS_PER_TRIAL, rng)
            spent += EPOCHS_PER_TRIAL
            history.append(
                TrialRecord(name, proposal.assignments, TrialState.SUCCEEDED, states[name].accuracy, (), proposal.data)
            )
    return max(s.accuracy for s in states.values())


def _hyperband(budget: int, seed: int) -> float:
    epochs = ParameterSpec(name="epochs", parameter_type="int", feasible_space=FeasibleSpace(min="1", max=str(LONGEST)))
    settings = [
        AlgorithmSetting(name="r_l", value=str(LONGEST)),
        AlgorithmSetting(name="eta", value="3"),
        AlgorithmSetting(name="resource_name", value="epochs"),
    ]
    suggester = create_suggester("hyperband", _space(epochs), "maximize", settings, seed=seed)
    return _from_scratch(suggester.suggest, budget, seed, lambda a: int(float(a["epochs"])))


def _random(budget: int, seed: int) -> float:
    suggester = create_suggester("random", _space(), "maximize", [], seed=seed)
    return _from_scratch(suggester.suggest, budget, seed, lambda a: LONGEST)


def _from_scratch(
    suggest: Callable[[Sequence[TrialRecord], int], list[Proposal]],
    budget: int,
    seed: int,
    epochs_of: Callable[[dict[str, str]], int],
) -> float:
    rng = np.random.default_rng(seed)
    history: list[TrialRecord] = []
    best, spent = 0.0, 0
    while True:
        batch = suggest(history, 81)
        if not batch:
            return best
        for proposal in batch:
            assignments = dict(proposal.assignments)
            epochs = epochs_of(assignments)
            if spent + epochs > budget:
                return best
            spent += epochs
            accuracy = train(State(), float(assignments["lr"]), epochs, rng).accuracy
            best = max(best, accuracy)
            history.append(
                TrialRecord(
                    f"t{len(history)}",
                    assignments,
                    TrialState.SUCCEEDED,
                    accuracy,
                    (),
                    dict(proposal.data),
                )
            )


CONTENDERS: dict[str, Callable[[int, int], float]] = {"pbt": _pbt, "hyperband": _hyperband, "random": _random}


def best_accuracy(contender: str, budget: int, seed: int) -> float:
    """The best accuracy (0-100) ``contender`` reaches with ``budget`` epochs in all."""
    value = CONTENDERS[contender](budget, seed)
    assert math.isfinite(value)
    return value


def pbt_report(seeds: int, budgets: tuple[int, ...] = (400, 800, 1600)) -> list[str]:
    """A markdown table: each contender's median best accuracy (and quartiles) at each compute budget."""
    lines = [
        "| epochs in all | " + " | ".join(f"{c}: median (25%-75%)" for c in CONTENDERS) + " |",
        "| ---: | " + " | ".join("---" for _ in CONTENDERS) + " |",
    ]
    for budget in budgets:
        cells = []
        for contender in CONTENDERS:
            values = [best_accuracy(contender, budget, seed) for seed in range(seeds)]
            q1, q2, q3 = np.quantile(values, (0.25, 0.5, 0.75))
            cells.append(f"{q2:.1f} ({q1:.1f}-{q3:.1f})")
        lines.append(f"| {budget} | " + " | ".join(cells) + " |")
    return lines
