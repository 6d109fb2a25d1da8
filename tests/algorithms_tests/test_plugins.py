"""Third-party suggesters register through the katib_flow.suggesters entry-point group."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest
import yaml

from katib_flow import algorithms
from katib_flow.algorithms import ENTRY_POINT_GROUP, algorithm_names, create_suggester
from katib_flow.spec import AlgorithmSetting, parse_experiment, validate

from ..spec_tests.base import base, set_
from .conformance import param, space_of
from .plugin_example import MidpointSuggester


@pytest.fixture
def midpoint_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    entry = EntryPoint(
        name="midpoint", value="tests.algorithms_tests.plugin_example:MidpointSuggester", group=ENTRY_POINT_GROUP
    )

    def fake_entry_points(group: str) -> list[EntryPoint]:
        return [entry] if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(algorithms, "entry_points", fake_entry_points)
    algorithms._plugins.cache_clear()
    yield
    algorithms._plugins.cache_clear()


@pytest.mark.usefixtures("midpoint_plugin")
def test_plugin_is_listed_created_and_validated() -> None:
    assert algorithm_names()[-1] == "midpoint"
    space = space_of(param("x", "double", min="0", max="10"))
    suggester = create_suggester("midpoint", space, "minimize", [AlgorithmSetting(name="fraction", value="0.2")])
    assert isinstance(suggester, MidpointSuggester)
    assert [p.assignments for p in suggester.suggest([], 1)] == [{"x": "2.0"}]
    doc = set_(
        base(),
        "spec.algorithm",
        {"algorithmName": "midpoint", "algorithmSettings": [{"name": "fraction", "value": "2"}]},
    )
    problems = validate(parse_experiment(yaml.safe_dump(doc)))
    assert [p.path for p in problems] == ["spec.algorithm.algorithmSettings[0].value"]
    assert "fraction: input should be less than or equal to 1" in problems[0].message


def test_without_the_plugin_the_name_is_unknown() -> None:
    doc = set_(base(), "spec.algorithm", {"algorithmName": "midpoint"})
    problems = validate(parse_experiment(yaml.safe_dump(doc)))
    assert "unknown algorithm 'midpoint'" in problems[0].message
