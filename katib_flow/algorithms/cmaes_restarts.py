"""IPOP and BIPOP restarts for ``cmaes``, decided again from the stored trials on every call.

Katib's ``restart_strategy`` setting (goptuna, a port of Optuna's CMA-ES)
restarts CMA-ES from a random point when it has converged: ``ipop`` with a
population twice as large each time, ``bipop`` alternating such large
populations with small random ones (between the default and the latest large
one), a small one whenever fewer trials went to small than to large runs, the
first run counting as small (Hansen 2009, "Benchmarking a BI-population CMA-ES
on the BBOB-2009 function testbed", as Optuna <= 4.2 implemented it).
Optuna 5 no longer restarts, so it is done here: each restart keeps
its own generations and optimizer under the attribute prefix
``cma:restart_<k>:`` (restart 0 keeps ``cma:``), and everything about restart
k (population, start point) is a function of the experiment's seed
and of the trials of the earlier restarts, so every call agrees on it.
"""

from __future__ import annotations

import math
import pickle
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..history import TrialRecord
from ..space import DoubleParameter, IntParameter, SearchSpace
from ..spec import constants as c

__all__ = ["OPTUNA_ATTRS", "Restart", "current_restart", "restart_prefix"]

OPTUNA_ATTRS = "optuna_system_attrs"
_GENERATION = re.compile(r"^cma:(?:restart_(\d+):)?generation$")


def restart_prefix(index: int) -> str:
    return "cma:" if index == 0 else f"cma:restart_{index}:"


@dataclass(frozen=True)
class Restart:
    """One CMA-ES run of the experiment: restart 0 is the first."""

    index: int
    popsize: int
    large: bool = False  # BIPOP's regime (the first run counts as small)
    x0: dict[str, float] | None = None  # start point of a restart; None: the middle of the space

    @property
    def prefix(self) -> str:
        return restart_prefix(self.index)


def current_restart(
    history: Sequence[TrialRecord], space: SearchSpace, strategy: str, popsize: int, seed: int
) -> Restart:
    """The restart new trials belong to: the latest one, or the next if the latest has converged."""
    first = Restart(0, popsize)
    if strategy == "none":
        return first
    counts = Counter(i for t in history if (i := _restart_of(t.data.get(OPTUNA_ATTRS, {}))) is not None)
    restarts = [first]
    while len(restarts) <= max(counts, default=0):
        restarts.append(_next(restarts, counts, space, strategy, seed))
    latest = restarts[-1]
    if _converged(history, latest.prefix):
        return _next(restarts, counts, space, strategy, seed)
    return latest


def _restart_of(attrs: Mapping[str, Any]) -> int | None:
    for key in attrs:
        match = _GENERATION.match(key)
        if match:
            return int(match.group(1) or 0)
    return None


def _next(restarts: list[Restart], counts: Counter[int], space: SearchSpace, strategy: str, seed: int) -> Restart:
    index = len(restarts)
    rng = np.random.default_rng([seed, index])
    x0 = _random_point(space, rng)
    base = restarts[0].popsize
    if strategy == "ipop":
        return Restart(index, base * 2**index, large=True, x0=x0)
    large_runs = sum(1 for r in restarts if r.large)
    spent_small = sum(counts[r.index] for r in restarts if not r.large)
    spent_large = sum(counts[r.index] for r in restarts if r.large)
    if spent_small < spent_large:
        u = float(rng.uniform())
        return Restart(index, math.floor(base * (2**large_runs) ** (u**2)), x0=x0)
    return Restart(index, base * 2 ** (large_runs + 1), large=True, x0=x0)


def _random_point(space: SearchSpace, rng: np.random.Generator) -> dict[str, float]:
    """A uniform start point over the int and double parameters (log-uniform where the scale is log)."""
    point: dict[str, float] = {}
    for p in space.parameters:
        if not isinstance(p, (DoubleParameter, IntParameter)) or p.min == p.max:
            continue
        if p.distribution in (c.DIST_LOG_UNIFORM, c.DIST_LOG_NORMAL):
            value = math.exp(rng.uniform(math.log(p.min), math.log(p.max)))
        else:
            value = float(rng.uniform(p.min, p.max))
        point[p.name] = float(min(max(round(value), p.min), p.max)) if isinstance(p, IntParameter) else value
    return point


def _converged(history: Sequence[TrialRecord], prefix: str) -> bool:
    """Whether the latest optimizer state stored for this restart says CMA-ES should stop."""
    key = prefix + "optimizer:"
    for t in reversed(history):
        if not t.state.has_objective:
            continue
        attrs = t.data.get(OPTUNA_ATTRS, {})
        parts = {k: v for k, v in attrs.items() if k.startswith(key)}
        if parts:
            text = "".join(parts[f"{key}{i}"] for i in range(len(parts)))
            # The state katib-flow stored itself with the trial, as Optuna reads it from its storage.
            return bool(pickle.loads(bytes.fromhex(text)).should_stop())
    return False
