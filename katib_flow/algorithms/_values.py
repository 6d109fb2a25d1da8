"""Mapping between the unit interval, parameter values and Katib strings.

Random search and Sobol both draw a number in [0, 1) per parameter and turn it
into a value with the parameter's distribution; model-based algorithms only need
the formatting and snapping helpers. Katib's hyperopt service defines the
distributions: ``normal`` has mean (min+max)/2 and sigma (max-min)/6, and
``logNormal`` the same in log space. Unlike hyperopt, values are truncated to
[min, max]: the feasible space is a hard bound here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..history import TrialRecord
from ..space import (
    CategoricalParameter,
    DiscreteParameter,
    DoubleParameter,
    IntParameter,
    Parameter,
    SearchSpace,
    step_count,
    step_value,
)
from ..spec import constants as c

__all__ = [
    "draw_free",
    "finite_size",
    "from_unit",
    "point_at",
    "point_key",
    "snap",
    "taken_keys",
]

PointKey = tuple[str, ...]

# Truncation at three sigma on each side: sigma = (max - min) / 6.
_TRUNC = 3.0


def snap(param: DoubleParameter | IntParameter, value: float) -> str:
    """The Katib string of ``value`` clipped to [min, max] and rounded to the parameter's step."""
    value = min(max(value, param.min), param.max)
    if isinstance(param, IntParameter) or param.step is not None:
        step = float(param.step or 1)
        count = step_count(param)
        assert count is not None
        k = min(max(round((value - param.min) / step), 0), count - 1)
        return step_value(param, k)
    return repr(float(value))


def from_unit(param: Parameter, u: float) -> str:
    """The value at quantile ``u`` of ``param``'s distribution, as a Katib string."""
    u = min(max(u, 0.0), math.nextafter(1.0, 0.0))
    if isinstance(param, (CategoricalParameter, DiscreteParameter)):
        return param.values[int(u * len(param.values))]
    dist = param.distribution
    if isinstance(param, IntParameter) and dist == c.DIST_UNIFORM:
        count = step_count(param)
        assert count is not None
        return step_value(param, int(u * count))
    if dist == c.DIST_UNIFORM and isinstance(param, DoubleParameter) and param.step is not None:
        count = step_count(param)
        assert count is not None
        return step_value(param, int(u * count))
    lo, hi = float(param.min), float(param.max)
    log = dist in (c.DIST_LOG_UNIFORM, c.DIST_LOG_NORMAL)
    # Rounding to a step covers the end points only half as often; widen by half a step to compensate.
    stepped = isinstance(param, IntParameter) or param.step is not None
    half = float(param.step or 1) / 2 if stepped and not log else 0.0
    a, b = (math.log(lo), math.log(hi)) if log else (lo - half, hi + half)
    if dist in (c.DIST_NORMAL, c.DIST_LOG_NORMAL):
        mu, sigma = (a + b) / 2, (b - a) / (2 * _TRUNC)
        # Imported here: SciPy's stats module costs about a second to import, and only normal
        # distributions need it (random search over uniform ones would pay it for nothing).
        from scipy.stats import truncnorm

        x = float(truncnorm.ppf(u, -_TRUNC, _TRUNC)) * sigma + mu
    else:
        x = a + u * (b - a)
    if log:
        x = math.exp(x)
    return snap(param, x)


def point_key(space: SearchSpace, assignments: Mapping[str, str]) -> PointKey:
    """A canonical key of a point, so "0.10" and "0.1" are the same point."""
    key = []
    for p in space.parameters:
        raw = assignments.get(p.name, "")
        if isinstance(p, (DoubleParameter, IntParameter, DiscreteParameter)):
            try:
                key.append(repr(float(raw)))
                continue
            except ValueError:
                pass
        key.append(raw)
    return tuple(key)


def taken_keys(space: SearchSpace, history: Sequence[TrialRecord]) -> set[PointKey]:
    """Keys of every point already in the history, whatever the trial's state."""
    return {point_key(space, t.assignments) for t in history}


def finite_size(space: SearchSpace) -> int | None:
    """Number of distinct points of the space, or None if some parameter is continuous."""
    return space.grid_size()


def point_at(space: SearchSpace, index: int) -> dict[str, str]:
    """The ``index``-th point of a finite space, in row-major order (first parameter slowest)."""
    point: dict[str, str] = {}
    for p in reversed(space.parameters):
        if isinstance(p, (CategoricalParameter, DiscreteParameter)):
            index, r = divmod(index, len(p.values))
            point[p.name] = p.values[r]
        else:
            count = step_count(p)
            assert count is not None, f"parameter {p.name} is continuous"
            index, r = divmod(index, count)
            point[p.name] = step_value(p, r)
    return {p.name: point[p.name] for p in space.parameters}


# Draws tried per wanted point before a finite space is enumerated to find the points still free.
_REJECTION_TRIES = 64


def draw_free(space: SearchSpace, rng: np.random.Generator, taken: set[PointKey], n: int) -> list[dict[str, str]]:
    """Up to ``n`` random points of a finite space that are not in ``taken`` (which is updated).

    Draws follow each parameter's distribution; when free points are too rare
    for rejection, they are enumerated and picked uniformly.
    """
    size = finite_size(space)
    assert size is not None, "draw_free needs a finite space"
    points: list[dict[str, str]] = []
    tries = 0
    while len(points) < n and tries < _REJECTION_TRIES * n and len(taken) < size:
        tries += 1
        point = {p.name: from_unit(p, float(rng.random())) for p in space.parameters}
        key = point_key(space, point)
        if key not in taken:
            taken.add(key)
            points.append(point)
    if len(points) < n and len(taken) < size:
        free = [i for i in range(size) if point_key(space, point_at(space, i)) not in taken]
        for i in rng.permutation(len(free))[: n - len(points)]:
            point = point_at(space, free[int(i)])
            taken.add(point_key(space, point))
            points.append(point)
    return points
