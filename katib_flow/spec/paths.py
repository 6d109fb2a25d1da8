"""Kubernetes-style field paths (``spec.parameters[1].feasibleSpace.min``)."""

from __future__ import annotations

from collections.abc import Iterable


class FieldPath:
    """An immutable field path, built like Kubernetes' ``field.NewPath``."""

    __slots__ = ("_text",)

    def __init__(self, text: str = "") -> None:
        self._text = text

    def child(self, name: str) -> FieldPath:
        return FieldPath(f"{self._text}.{name}" if self._text else name)

    def index(self, i: int) -> FieldPath:
        return FieldPath(f"{self._text}[{i}]")

    def key(self, k: str) -> FieldPath:
        return FieldPath(f"{self._text}[{k}]")

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"FieldPath({self._text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldPath) and other._text == self._text

    def __hash__(self) -> int:
        return hash(self._text)


def from_loc(loc: Iterable[int | str]) -> FieldPath:
    """The path of a pydantic error location such as ``('spec', 'parameters', 0, 'name')``."""
    path = FieldPath()
    for part in loc:
        path = path.index(part) if isinstance(part, int) else path.child(part)
    return path


ROOT = FieldPath()
SPEC = ROOT.child("spec")
