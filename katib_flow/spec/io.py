"""Reading and writing Experiment YAML.

Loading returns the experiment as written (no defaults), so that
load -> dump -> load is the identity. Every structural defect (malformed YAML
with its line and column, duplicate keys, unknown fields, wrong types) becomes
a :class:`~katib_flow.exceptions.Problem` with a field path.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from ..exceptions import Problem, SpecError, did_you_mean
from .models import Experiment
from .paths import from_loc

__all__ = [
    "ParsedDocument",
    "dump_experiment",
    "dump_experiments",
    "load_experiment",
    "load_experiments",
    "parse_documents",
    "parse_experiment",
    "parse_experiments",
    "read_text",
]


@dataclass
class ParsedDocument:
    """One YAML document of a file: its 1-based position, the model if it parsed, its problems."""

    index: int
    experiment: Experiment | None
    problems: list[Problem] = field(default_factory=list)


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_documents(text: str) -> list[ParsedDocument]:
    """Every non-empty document of ``text``; raises :class:`SpecError` for malformed YAML or no document."""
    try:
        raw_docs = list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = err.problem or err.context or "malformed YAML"
        raise SpecError([Problem("", f"invalid YAML at {where}{what}")]) from err
    except yaml.YAMLError as err:
        raise SpecError([Problem("", f"invalid YAML: {err}")]) from err
    docs: list[ParsedDocument] = []
    for i, raw in enumerate(raw_docs, start=1):
        if raw is None:
            continue
        if not isinstance(raw, dict):
            problem = Problem("", f"document {i} is a {_kind_of(raw)}, expected a mapping (an Experiment)")
            docs.append(ParsedDocument(i, None, [problem]))
            continue
        try:
            docs.append(ParsedDocument(i, Experiment.model_validate(raw)))
        except ValidationError as err:
            docs.append(ParsedDocument(i, None, _problems_from(err)))
    if not docs:
        raise SpecError([Problem("", "empty file: no experiment found")])
    return docs


def parse_experiments(text: str, source: str | None = None) -> list[Experiment]:
    """Every experiment in ``text`` (one per YAML document); raises :class:`SpecError`."""
    try:
        docs = parse_documents(text)
    except SpecError as err:
        raise SpecError(err.problems, source=source) from err
    problems = [p for d in docs for p in d.problems]
    if problems:
        raise SpecError(problems, source=source)
    return [d.experiment for d in docs if d.experiment is not None]


def parse_experiment(text: str, source: str | None = None) -> Experiment:
    """The single experiment in ``text``; raises :class:`SpecError` if there are several."""
    experiments = parse_experiments(text, source)
    if len(experiments) != 1:
        raise SpecError([Problem("", f"expected one experiment, found {len(experiments)}")], source=source)
    return experiments[0]


def load_experiments(path: str | os.PathLike[str]) -> list[Experiment]:
    """Every experiment in the YAML file at ``path``."""
    return parse_experiments(read_text(path), source=str(path))


def load_experiment(path: str | os.PathLike[str]) -> Experiment:
    """The single experiment in the YAML file at ``path``."""
    return parse_experiment(read_text(path), source=str(path))


def dump_experiment(experiment: Experiment) -> str:
    """YAML that Katib accepts: Katib's keys, unset fields omitted, numbers-as-strings quoted."""
    return yaml.safe_dump(
        experiment.to_dict(), sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000
    )


def dump_experiments(experiments: Iterable[Experiment]) -> str:
    return "".join(f"---\n{dump_experiment(e)}" for e in experiments)


def read_text(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of an experiment file; unreadable files raise :class:`SpecError`."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem("", "no such file")], source=str(path)) from None
    except IsADirectoryError:
        raise SpecError([Problem("", "is a directory, expected a YAML file")], source=str(path)) from None
    except UnicodeDecodeError as err:
        raise SpecError([Problem("", f"not UTF-8 text ({err.reason} at byte {err.start})")], source=str(path)) from None
    except OSError as err:
        raise SpecError([Problem("", f"cannot read: {err.strerror}")], source=str(path)) from None


def _kind_of(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


_MESSAGES = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
}


def _problems_from(err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = e["loc"]
        path = str(from_loc(loc))
        if e["type"] == "extra_forbidden":
            known = _field_aliases(Experiment, loc[:-1])
            problems.append(Problem(path, f"unknown field{did_you_mean(str(loc[-1]), known)}"))
            continue
        message = _MESSAGES.get(e["type"])
        if message is None:
            problems.append(Problem(path, e["msg"]))
            continue
        value = e.get("input")
        shown = _kind_of(value) if isinstance(value, (dict, list)) else repr(value)
        problems.append(Problem(path, f"{message} (got {shown})"))
    return problems


def _field_aliases(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Wire names of the fields of the model found at ``loc`` inside ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if info is None:
            return []
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside ``X | None`` or ``list[X]``, if any."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
        return None
    return annotation
