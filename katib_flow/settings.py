"""Typed settings for algorithms and early stopping, parsed from Katib's name/value lists.

Katib passes ``algorithmSettings`` to each algorithm service as strings and lets
the service reject them (or, for several services, silently ignore them). Each
katib-flow plugin instead declares a pydantic model with Katib's setting names;
unknown names and bad values are reported at validation time with the path of
the offending entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .exceptions import InvalidSettingsError, Problem, did_you_mean
from .space import SearchSpace
from .spec.models import ExperimentSpec
from .spec.paths import FieldPath

__all__ = ["NamedValue", "SettingsModel"]

S = TypeVar("S", bound="SettingsModel")


class NamedValue(Protocol):
    """An ``algorithmSettings`` entry: Katib's ``{name, value}`` pair."""

    @property
    def name(self) -> str | None: ...

    @property
    def value(self) -> str | None: ...


class SettingsModel(BaseModel):
    """Base of a plugin's settings: field names are Katib's setting names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plugin_name: ClassVar[str] = ""

    @classmethod
    def parse(cls: type[S], entries: Sequence[NamedValue] | None, path: FieldPath) -> tuple[S | None, list[Problem]]:
        """Settings from a name/value list; problems point at ``path[i].name`` or ``path[i].value``."""
        problems: list[Problem] = []
        raw: dict[str, Any] = {}
        index: dict[str, int] = {}
        known = list(cls.model_fields)
        for i, entry in enumerate(entries or []):
            name = entry.name or ""
            if not name:
                problems.append(Problem(str(path.index(i).child("name")), "must be specified"))
            elif name not in cls.model_fields:
                listing = ", ".join(known) if known else "none"
                problems.append(
                    Problem(
                        str(path.index(i).child("name")),
                        f"unknown setting {name!r} for {cls.plugin_name} (known: {listing}){did_you_mean(name, known)}",
                    )
                )
            elif name in raw:
                problems.append(Problem(str(path.index(i).child("name")), f"duplicate setting {name!r}"))
            else:
                raw[name] = entry.value if entry.value is not None else ""
                index[name] = i
        try:
            settings = cls.model_validate(raw)
        except ValidationError as err:
            for e in err.errors():
                loc = e["loc"]
                name = str(loc[0]) if loc else ""
                where = path.index(index[name]).child("value") if name in index else path
                got = f" (got {raw[name]!r})" if name in raw else ""
                label = f"{name}: " if name in index else f"{name} " if name else ""
                problems.append(Problem(str(where), f"{label}{_lower_first(e['msg'])}{got}"))
            return None, problems
        return (None if problems else settings), problems

    @classmethod
    def from_entries(cls: type[S], entries: Sequence[NamedValue] | None) -> S:
        """Settings from a name/value list; raises :class:`InvalidSettingsError`."""
        settings, problems = cls.parse(entries, FieldPath("algorithmSettings"))
        if settings is None:
            raise InvalidSettingsError(problems)
        return settings

    def spec_problems(self, spec: ExperimentSpec, space: SearchSpace | None) -> list[Problem]:
        """Rules that tie the settings to the rest of the experiment (none by default)."""
        return []


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
