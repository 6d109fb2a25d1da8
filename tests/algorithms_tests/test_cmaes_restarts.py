"""cmaes restarts (``restart_strategy: ipop | bipop``), which Optuna 5 no longer does itself."""

from __future__ import annotations

import pickle
from collections import Counter
from typing import Any

import cmaes
import numpy as np
import pytest

from katib_flow.algorithms import create_suggester
from katib_flow.algorithms.cmaes_restarts import OPTUNA_ATTRS, Restart, current_restart, restart_prefix
from katib_flow.history import TrialRecord, TrialState
from katib_flow.spec import AlgorithmSetting

from .conformance import param, space_of

SPACE = space_of(
    param("x", "double", min="-5", max="5"),
    param("lr", "double", min="0.0001", max="0.1", distribution="logUniform"),
)


def _converged_optimizer() -> str:
    """A pickled CMA-ES that has seen a flat function long enough to stop, as Optuna stores it."""
    optimizer = cmaes.CMA(mean=np.zeros(2), sigma=0.2, bounds=np.array([[-1.0, 1.0]] * 2), seed=1)
    while not optimizer.should_stop():
        optimizer.tell([(optimizer.ask(), 1.0) for _ in range(optimizer.population_size)])
    return pickle.dumps(optimizer).hex()


def _trials(restart: int, count: int, optimizer: str | None = None) -> list[TrialRecord]:
    """``count`` finished trials of one restart; the last carries ``optimizer`` when given."""
    prefix = restart_prefix(restart)
    out = []
    for i in range(count):
        attrs: dict[str, Any] = {prefix + "generation": i // 6}
        if optimizer is not None and i == count - 1:
            attrs[prefix + "optimizer:0"] = optimizer
        point = {"x": "0", "lr": "0.01"}
        out.append(TrialRecord(f"r{restart}-{i}", point, TrialState.SUCCEEDED, 1.0, (), {OPTUNA_ATTRS: attrs}))
    return out


def test_no_restart_strategy_never_restarts() -> None:
    history = _trials(0, 60, _converged_optimizer())
    assert current_restart(history, SPACE, "none", 6, seed=1) == Restart(0, 6)


def test_a_run_that_has_not_converged_continues() -> None:
    live = cmaes.CMA(mean=np.zeros(2), sigma=0.2, bounds=np.array([[-1.0, 1.0]] * 2), seed=1)
    history = _trials(0, 12, pickle.dumps(live).hex())
    assert current_restart(history, SPACE, "ipop", 6, seed=1).index == 0


def test_ipop_doubles_the_population_from_a_random_point_once_cmaes_has_converged() -> None:
    converged = _converged_optimizer()
    first = current_restart(_trials(0, 60, converged), SPACE, "ipop", 6, seed=1)
    assert (first.index, first.popsize, first.prefix) == (1, 12, "cma:restart_1:")
    assert first.x0 is not None and -5 <= first.x0["x"] <= 5 and 0.0001 <= first.x0["lr"] <= 0.1
    # Every later call agrees on restart 1, whatever else happened since.
    history = _trials(0, 60, converged) + _trials(1, 30)
    assert current_restart(history, SPACE, "ipop", 6, seed=1) == first
    second = current_restart(_trials(0, 60, converged) + _trials(1, 30, converged), SPACE, "ipop", 6, seed=1)
    assert (second.index, second.popsize) == (2, 24)
    assert second.x0 != first.x0


def test_bipop_goes_small_while_small_runs_have_used_fewer_trials() -> None:
    converged = _converged_optimizer()
    # The first run counts as small: the first restart is large.
    run1 = current_restart(_trials(0, 60, converged), SPACE, "bipop", 6, seed=1)
    assert (run1.index, run1.popsize, run1.large) == (1, 12, True)
    # 60 small trials against 120 large: small, between the default and the latest large population.
    run2 = current_restart(_trials(0, 60, converged) + _trials(1, 120, converged), SPACE, "bipop", 6, seed=1)
    assert run2.index == 2 and not run2.large and 6 <= run2.popsize <= 12
    # Once small runs have used as many trials as large ones, the next is large again, twice as large.
    history = _trials(0, 60, converged) + _trials(1, 120, converged) + _trials(2, 60, converged)
    run3 = current_restart(history, SPACE, "bipop", 6, seed=1)
    assert (run3.index, run3.popsize, run3.large) == (3, 24, True)


@pytest.mark.parametrize(("strategy", "restarted"), [("ipop", True), ("none", False)])
def test_the_suggester_restarts_on_a_flat_objective(strategy: str, restarted: bool) -> None:
    settings = [AlgorithmSetting(name="restart_strategy", value=strategy)]
    history: list[TrialRecord] = []
    while len(history) < 168:
        for p in create_suggester("cmaes", SPACE, "minimize", settings, seed=2).suggest(history, 4):
            history.append(TrialRecord(f"t{len(history)}", p.assignments, TrialState.SUCCEEDED, 1.0, (), p.data))
    attrs = [t.data.get(OPTUNA_ATTRS, {}) for t in history]
    generations = Counter((key, value) for a in attrs for key, value in a.items() if key.endswith("generation"))
    second_run = {g: n for (key, g), n in generations.items() if key == "cma:restart_1:generation"}
    if restarted:
        assert second_run.get(0) == 12  # a generation of the doubled population
    else:
        assert not second_run and max(g for (_, g) in generations) > 22  # CMA-ES went on with its first run
