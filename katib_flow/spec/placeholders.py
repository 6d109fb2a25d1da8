"""Katib's trial-template placeholders, found in and substituted into parsed objects.

``${trialParameters.<name>}`` and ``${trialSpec.<Meta>}`` only ever appear inside
strings of the trial spec. They are looked for and replaced string by string in
the parsed object tree, never in serialized YAML, so a parameter value can
never change the structure of the run object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import constants as c

__all__ = [
    "is_meta_reference",
    "iter_strings",
    "map_strings",
    "parameter_placeholders",
    "substitute_parameters",
]

_PARAM_RE = re.compile(c.TRIAL_PARAMETER_PATTERN)
_META_RE = re.compile(c.TRIAL_META_PATTERN)
_META_INDEXED_RE = re.compile(c.TRIAL_META_INDEXED_PATTERN)


def iter_strings(tree: Any) -> Iterator[str]:
    """Every string in a parsed YAML/JSON tree, keys included, depth first."""
    if isinstance(tree, str):
        yield tree
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            if isinstance(key, str):
                yield key
            yield from iter_strings(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from iter_strings(item)


def map_strings(tree: Any, fn: Callable[[str], str]) -> Any:
    """A copy of ``tree`` with ``fn`` applied to every string (keys included)."""
    if isinstance(tree, str):
        return fn(tree)
    if isinstance(tree, Mapping):
        return {(fn(k) if isinstance(k, str) else k): map_strings(v, fn) for k, v in tree.items()}
    if isinstance(tree, list):
        return [map_strings(item, fn) for item in tree]
    return tree


def parameter_placeholders(tree: Any) -> list[str]:
    """Names used as ``${trialParameters.<name>}`` in ``tree``, in first-seen order."""
    seen: dict[str, None] = {}
    for text in iter_strings(tree):
        for match in _PARAM_RE.finditer(text):
            seen.setdefault(match.group(1), None)
    return list(seen)


def substitute_parameters(tree: Any, values: Mapping[str, str]) -> Any:
    """Replace ``${trialParameters.<name>}`` for every name in ``values``; others stay."""

    def replace(text: str) -> str:
        return _PARAM_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    return map_strings(tree, replace)


def is_meta_reference(reference: str) -> bool:
    """Whether a trialParameter reference is trial metadata, e.g. ``${trialSpec.Labels[app]}``."""
    match = _META_RE.search(reference)
    if match is None:
        return False
    key = match.group(1)
    if key in c.TRIAL_META_KEYS:
        return True
    indexed = _META_INDEXED_RE.match(key)
    return indexed is not None and indexed.group(1) in c.TRIAL_META_INDEXED_KEYS
