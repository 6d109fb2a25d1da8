"""Neutral search-space value objects built from an experiment's ``spec.parameters``.

Katib keeps every bound as a string and parses it late, inside each algorithm
service; a typo then surfaces minutes after the experiment started. Here the
strings are parsed once, up front, and every defect is reported with its field
path. Algorithms, the DSL and validation all use these objects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .exceptions import Problem, SpecError
from .spec import constants as c
from .spec.models import ExperimentSpec, ParameterSpec
from .spec.paths import SPEC, FieldPath

__all__ = [
    "CategoricalParameter",
    "DiscreteParameter",
    "DoubleParameter",
    "IntParameter",
    "Parameter",
    "SearchSpace",
    "grid_values",
    "parse_parameter",
    "step_count",
    "step_value",
]

_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT_RE = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class DoubleParameter:
    name: str
    min: float
    max: float
    step: float | None = None
    distribution: str = c.DIST_UNIFORM
    # The bounds as written, so that grid points keep the user's decimal precision.
    min_text: str = ""
    step_text: str = ""
    type: str = c.PARAM_DOUBLE


@dataclass(frozen=True)
class IntParameter:
    name: str
    min: int
    max: int
    step: int | None = None
    distribution: str = c.DIST_UNIFORM
    type: str = c.PARAM_INT


@dataclass(frozen=True)
class CategoricalParameter:
    name: str
    values: tuple[str, ...]
    type: str = c.PARAM_CATEGORICAL


@dataclass(frozen=True)
class DiscreteParameter:
    name: str
    values: tuple[str, ...]
    numbers: tuple[float, ...]
    type: str = c.PARAM_DISCRETE


Parameter = DoubleParameter | IntParameter | CategoricalParameter | DiscreteParameter


@dataclass(frozen=True)
class SearchSpace:
    parameters: tuple[Parameter, ...]

    @classmethod
    def from_spec(cls, spec: ExperimentSpec) -> SearchSpace:
        """The space of ``spec.parameters``; raises :class:`SpecError` listing every defect."""
        params: list[Parameter] = []
        problems: list[Problem] = []
        for i, raw in enumerate(spec.parameters or []):
            param, found = parse_parameter(raw, SPEC.child("parameters").index(i))
            problems.extend(found)
            if param is not None:
                params.append(param)
        if problems:
            raise SpecError(problems)
        return cls(tuple(params))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def __getitem__(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def grid_size(self) -> int | None:
        """Number of grid points, or None when some parameter is continuous without a step."""
        size = 1
        for p in self.parameters:
            values = grid_values(p)
            if values is None:
                return None
            size *= len(values)
        return size


def grid_values(param: Parameter) -> list[str] | None:
    """The values a grid search visits for ``param``, as Katib strings; None if uncountable.

    Doubles step from min by ``step`` up to max inclusive, in exact decimal
    arithmetic so that ``0.01 + 8 * 0.005`` is ``0.05`` and not ``0.049999...``.
    """
    if isinstance(param, (CategoricalParameter, DiscreteParameter)):
        return list(param.values)
    count = step_count(param)
    if count is None:
        return None
    return [step_value(param, k) for k in range(count)]


def step_count(param: DoubleParameter | IntParameter) -> int | None:
    """How many points ``min + k * step`` lie in [min, max]; None for a double without step."""
    if isinstance(param, IntParameter):
        return (param.max - param.min) // (param.step or 1) + 1
    if param.step is None:
        return None
    return int((Decimal(repr(param.max)) - Decimal(param.min_text)) / Decimal(param.step_text)) + 1


def step_value(param: DoubleParameter | IntParameter, k: int) -> str:
    """The Katib string of ``min + k * step`` (exact decimal for doubles)."""
    if isinstance(param, IntParameter):
        return str(param.min + k * (param.step or 1))
    value = Decimal(param.min_text) + k * Decimal(param.step_text)
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def parse_parameter(raw: ParameterSpec, path: FieldPath) -> tuple[Parameter | None, list[Problem]]:
    """Parse one ``spec.parameters[i]``; returns the parameter (None if broken) and its problems."""
    problems: list[Problem] = []
    if not raw.name:
        problems.append(Problem(str(path.child("name")), "must be specified"))
    ptype = raw.parameter_type
    fs = raw.feasible_space
    fs_path = path.child("feasibleSpace")
    if ptype not in c.PARAMETER_TYPES:
        msg = "must be specified" if not ptype else f"parameterType {ptype!r} is not supported"
        problems.append(Problem(str(path.child("parameterType")), f"{msg} (one of {', '.join(c.PARAMETER_TYPES)})"))
        return None, problems
    if fs is None or not (fs.min or fs.max or fs.step or fs.values is not None):
        problems.append(Problem(str(fs_path), "feasibleSpace must be specified"))
        return None, problems
    dist = fs.distribution or c.DIST_UNIFORM
    if dist not in c.DISTRIBUTIONS:
        problems.append(
            Problem(
                str(fs_path.child("distribution")),
                f"distribution {dist!r} is not supported (one of {', '.join(c.DISTRIBUTIONS)})",
            )
        )
    name = raw.name or ""
    if ptype in (c.PARAM_CATEGORICAL, c.PARAM_DISCRETE):
        for key, value in (("min", fs.min), ("max", fs.max), ("step", fs.step)):
            if value:
                problems.append(
                    Problem(
                        str(fs_path.child(key)), f"is not supported for parameterType {ptype}; use feasibleSpace.list"
                    )
                )
        if dist not in (c.DIST_UNIFORM,) and dist in c.DISTRIBUTIONS:
            problems.append(
                Problem(str(fs_path.child("distribution")), f"{dist} applies only to int and double parameters")
            )
        values = _parse_list(fs.values, fs_path.child("list"), numeric=ptype == c.PARAM_DISCRETE, problems=problems)
        if problems:
            return None, problems
        if ptype == c.PARAM_CATEGORICAL:
            return CategoricalParameter(name, tuple(values)), problems
        return DiscreteParameter(name, tuple(values), tuple(float(v) for v in values)), problems
    return _parse_range(name, ptype, fs.min, fs.max, fs.step, fs.values, dist, fs_path, problems)


def _parse_list(values: Sequence[str] | None, path: FieldPath, *, numeric: bool, problems: list[Problem]) -> list[str]:
    if not values:
        problems.append(Problem(str(path), "must be a non-empty list"))
        return []
    seen: set[str] = set()
    for i, value in enumerate(values):
        if numeric and not _NUMBER_RE.match(value):
            problems.append(Problem(str(path.index(i)), f"must be a number for a discrete parameter (got {value!r})"))
        if value in seen:
            problems.append(Problem(str(path.index(i)), f"duplicate value {value!r}"))
        seen.add(value)
    return list(values)


def _parse_range(
    name: str,
    ptype: str,
    min_text: str | None,
    max_text: str | None,
    step_text: str | None,
    values: Sequence[str] | None,
    dist: str,
    path: FieldPath,
    problems: list[Problem],
) -> tuple[Parameter | None, list[Problem]]:
    is_int = ptype == c.PARAM_INT
    if values:
        problems.append(
            Problem(str(path.child("list")), f"feasibleSpace.list is not supported for parameterType {ptype}")
        )
    lo = _parse_number(min_text, path.child("min"), is_int, problems)
    hi = _parse_number(max_text, path.child("max"), is_int, problems)
    step = None if not step_text else _parse_number(step_text, path.child("step"), is_int, problems)
    if step is not None and step <= 0:
        problems.append(Problem(str(path.child("step")), f"must be greater than 0 (got {step_text})"))
    if lo is not None and hi is not None:
        if is_int and lo > hi:
            problems.append(
                Problem(str(path.child("min")), f"must be less than or equal to max (got {min_text} > {max_text})")
            )
        elif not is_int and lo >= hi:
            problems.append(Problem(str(path.child("min")), f"must be less than max (got {min_text} >= {max_text})"))
        if dist in (c.DIST_LOG_UNIFORM, c.DIST_LOG_NORMAL) and lo <= 0:
            problems.append(
                Problem(str(path.child("min")), f"must be greater than 0 for distribution {dist} (got {min_text})")
            )
    if problems or lo is None or hi is None:
        return None, problems
    if is_int:
        int_step = None if step is None else int(step)
        return IntParameter(name, int(lo), int(hi), int_step, dist), problems
    return DoubleParameter(name, float(lo), float(hi), step, dist, str(min_text), step_text or ""), problems


def _parse_number(text: str | None, path: FieldPath, is_int: bool, problems: list[Problem]) -> float | None:
    if not text:
        problems.append(
            Problem(str(path), f"must be specified for parameterType {c.PARAM_INT if is_int else c.PARAM_DOUBLE}")
        )
        return None
    pattern, kind = (_INT_RE, "an integer") if is_int else (_NUMBER_RE, "a number")
    if not pattern.match(text.strip()):
        problems.append(Problem(str(path), f"must be {kind} (got {text!r})"))
        return None
    try:
        return int(text) if is_int else float(Decimal(text.strip()))
    except (ValueError, InvalidOperation):  # pragma: no cover - the regex already excludes these
        problems.append(Problem(str(path), f"must be {kind} (got {text!r})"))
        return None
