"""Katib's trial conditions, evaluated as Katib evaluates them: GJSON paths over the run object.

Katib's trial controller runs ``gjson.Get(runObject, condition)`` for the
failure condition first, then the success condition, and takes a condition as
met when the result is an object or a non-empty array; the matched condition
(the first element of an array) gives the trial's reason and message. The
defaults are queries such as ``status.conditions.#(type=="Complete")#|#(status=="True")#``.
Argo's resource conditions cannot express these, so the ``wait`` step evaluates
a user's own condition with this module. It implements the part of GJSON's
path syntax that conditions use, with GJSON's results:

- ``a.b.c`` keys (``\\.`` escapes a dot, ``*`` and ``?`` are wildcards), ``0``/``1``
  array indices, ``#`` (an array's length), ``#.key`` (that key of every element);
- queries ``#(path op value)`` (the first match) and ``#(path op value)#`` (every
  match, an array), with ``== != < <= > >= % !%`` and string, number, ``true``,
  ``false`` or ``null`` values, and ``#(path)`` (the path exists);
- ``|`` pipes the result into the rest of the path;
- ``@this`` (the value itself) and multipaths ``[path,path]`` (an array of what
  each path selects, those that select nothing left out): Katib's Argo Workflow
  example judges ``status.[@this].#(phase=="Succeeded")#``, a query over the
  one-element array ``[status]``.

A scalar result (``status.succeeded`` is ``1``) is not a met condition, in
Katib and here: conditions must select an object. Where Katib's controller
cannot read the match (an array of scalars) it logs an error and the trial
never ends; here such a match counts as met, with no reason or message.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MISSING", "Verdict", "condition_holds", "condition_match", "get", "judge"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_QUERY = re.compile(r"^#\((.*)\)(#?)$", re.DOTALL)
_OPERATORS = ("==", "!=", "<=", ">=", "!%", "<", ">", "%", "=")


@dataclass(frozen=True)
class _Query:
    path: str
    op: str | None
    value: Any
    every: bool


@dataclass(frozen=True)
class Verdict:
    """A run object met its success or failure condition; reason and message come from the matched condition."""

    succeeded: bool
    reason: str
    message: str


def condition_match(document: Any, condition: str) -> Any:
    """What Katib reads as the met condition: the object (or an array's first element), or :data:`MISSING`."""
    found = get(document, condition)
    if isinstance(found, dict):
        return found
    if isinstance(found, list) and found:
        return found[0]
    return MISSING


def condition_holds(document: Any, condition: str) -> bool:
    """Katib's test: the condition selects an object or a non-empty array."""
    return condition_match(document, condition) is not MISSING


def judge(document: Any, success: str, failure: str) -> Verdict | None:
    """Failed, succeeded (checked in that order, as Katib does) or still running (None)."""
    for succeeded, condition in ((False, failure), (True, success)):
        match = condition_match(document, condition)
        if match is not MISSING:
            fields = match if isinstance(match, dict) else {}
            return Verdict(succeeded, str(fields.get("reason", "")), str(fields.get("message", "")))
    return None


def get(document: Any, path: str) -> Any:
    """The value at a GJSON ``path``, or :data:`MISSING`."""
    value = document
    for segment in _split(path, "|"):
        value = _walk(value, _split(segment, "."))
        if value is MISSING:
            return MISSING
    return value


def _walk(value: Any, parts: list[str]) -> Any:
    for i, part in enumerate(parts):
        if value is MISSING:
            return MISSING
        if part == "@this":
            continue
        if part.startswith("[") and part.endswith("]"):  # a multipath, relative to the value
            found = [value if p.strip() == "@this" else get(value, p.strip()) for p in _split(part[1:-1], ",")]
            value = [f for f in found if f is not MISSING]
            continue
        query = _QUERY.match(part)
        if isinstance(value, list):
            if part == "#":
                if i + 1 < len(parts):  # "#.key": that key of every element
                    found = [_walk(item, parts[i + 1 :]) for item in value]
                    return [f for f in found if f is not MISSING]
                return len(value)
            if query is not None:
                return _query(value, _parse_query(query), parts[i + 1 :])
            value = value[int(part)] if part.isdigit() and int(part) < len(value) else MISSING
        elif isinstance(value, dict):
            value = _member(value, _unescape(part))
        else:
            return MISSING
    return value


def _member(obj: dict[str, Any], key: str) -> Any:
    if "*" in key or "?" in key:
        return next((v for k, v in obj.items() if fnmatch.fnmatchcase(k, key)), MISSING)
    return obj.get(key, MISSING)


def _query(items: list[Any], query: _Query, rest: list[str]) -> Any:
    matches = [item for item in items if _matches(item, query)]
    if not query.every:
        return _walk(matches[0], rest) if matches else MISSING
    if not items:
        return MISSING  # GJSON: an every-match query over an empty array has no result
    found = [_walk(m, rest) for m in matches]
    return [f for f in found if f is not MISSING]


def _matches(item: Any, query: _Query) -> bool:
    value = _walk(item, _split(query.path, ".")) if query.path else item
    if query.op is None:
        return value is not MISSING
    if value is MISSING:
        return False
    return _compare(value, query.op, query.value)


def _compare(value: Any, op: str, target: Any) -> bool:
    if isinstance(target, str):
        if not isinstance(value, str):
            return False
        if op in ("%", "!%"):
            return fnmatch.fnmatchcase(value, target) == (op == "%")
    elif isinstance(target, bool) or target is None:
        if op in ("==", "="):
            return value is target
        if op == "!=":
            return value is not target
        return False
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    ops = {
        "==": value == target,
        "=": value == target,
        "!=": value != target,
        "<": value < target,
        "<=": value <= target,
        ">": value > target,
        ">=": value >= target,
    }
    return bool(ops.get(op, False))


def _parse_query(match: re.Match[str]) -> _Query:
    body, every = match.group(1).strip(), bool(match.group(2))
    for op in _OPERATORS:
        at = _find_operator(body, op)
        if at >= 0:
            raw = body[at + len(op) :].strip()
            return _Query(body[:at].strip(), op, _literal(raw), every)
    return _Query(body, None, None, every)


def _find_operator(body: str, op: str) -> int:
    # An operator outside quotes; "<" must not be the start of "<=", and so on.
    quoted = False
    for i in range(len(body)):
        if body[i] == '"' and (i == 0 or body[i - 1] != "\\"):
            quoted = not quoted
        if not quoted and body.startswith(op, i):
            following = body[i + len(op) : i + len(op) + 1]
            if len(op) == 1 and following == "=":
                continue
            if op == "=" and i > 0 and body[i - 1] in "=!<>":
                continue
            return i
    return -1


def _literal(raw: str) -> Any:
    if raw.startswith('"'):
        parsed: Any = json.loads(raw)
        return parsed
    if raw in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[raw]
    try:
        return float(raw)
    except ValueError:
        return raw  # GJSON compares an unquoted word as a string


def _split(path: str, separator: str) -> list[str]:
    """Split on ``separator`` outside ``#(...)``, ``[...]`` and quotes, keeping escapes for :func:`_unescape`."""
    parts, current, depth, quoted, i = [], "", 0, False, 0
    while i < len(path):
        ch = path[i]
        if ch == "\\" and i + 1 < len(path):
            current += path[i : i + 2]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        if ch == separator and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return [p for p in parts if p != ""]


def _unescape(part: str) -> str:
    return re.sub(r"\\(.)", r"\1", part)
