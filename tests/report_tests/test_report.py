"""The HTML report: what it shows of experiments of every algorithm family, failures, early stops, none at all."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from katib_flow.engine import Outcome, finish_trial, init_experiment, mark_running, reserve_trials
from katib_flow.history import TrialState
from katib_flow.report import load_report_data, render_report, write_report
from katib_flow.report.data import ReportData
from katib_flow.store import Store
from katib_flow.templating import environment, template_folder

from .populate import FAMILIES, family_experiment, populate, wide_experiment

_FIGURES = re.compile(r'<script id="figures" type="application/json">(.*?)</script>', re.S)
_BUNDLE = re.compile(r'<script id="plotly-bundle" type="application/octet-stream">(.*?)</script>', re.S)


def figures_of(html: str) -> dict[str, Any]:
    found = _FIGURES.search(html)
    assert found is not None
    figures: dict[str, Any] = json.loads(found.group(1))
    return figures


def rows_of(html: str) -> list[str]:
    body = html.split('<table id="trial-table"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr class=\"([a-z ]+)\">", body)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'report.db'}")


def render(store: Store, stored: Any) -> tuple[ReportData, str]:
    data = load_report_data(store, stored)
    return data, render_report(data)


@pytest.mark.parametrize("algo", sorted(FAMILIES))
def test_every_algorithm_family_renders_its_trials(store: Store, algo: str) -> None:
    stored = populate(store, family_experiment(algo, 18), fail_every=7, early_stop_every=4)
    data, html = render(store, stored)
    assert len(data.trials) == 18
    figures = figures_of(html)
    assert set(figures) == {"history", "curves", "parallel", "slice", "importance"}
    names = data.space.names
    scored = data.scored
    # history: one marker per scored trial, and the best-so-far line ends at the best objective
    markers = [t for t in figures["history"]["data"] if t["mode"] == "markers"]
    assert sum(len(t["x"]) for t in markers) == len(scored)
    best_line = figures["history"]["data"][-1]
    assert best_line["name"] == "best so far"
    assert all(a >= b for a, b in itertools.pairwise(best_line["y"]))
    assert best_line["y"][-1] == pytest.approx(min(t.objective or 0 for t in scored), rel=1e-5)
    # parallel coordinates: every parameter, then the objective, one value per scored trial
    dimensions = figures["parallel"]["data"][0]["dimensions"]
    assert [d["label"] for d in dimensions] == [*names, "loss"]
    assert {len(d["values"]) for d in dimensions} == {len(scored)}
    # slice: one panel per parameter
    assert len(figures["slice"]["data"]) == len(names)
    # importance: each parameter once, summing to 1
    bars = figures["importance"]["data"][0]
    assert sorted(bars["y"]) == sorted(names)
    assert sum(bars["x"]) == pytest.approx(1.0, abs=1e-3)
    # the table: every trial, in order, the best one marked
    classes = rows_of(html)
    assert len(classes) == 18
    assert sum("best" in c for c in classes) == 1
    for t in data.trials:
        assert t.name in html


def test_failed_and_early_stopped_trials_are_shown_as_such(store: Store) -> None:
    stored = populate(store, wide_experiment("marks", 12, parallel=3), fail_every=3, early_stop_every=4, steps=6)
    data, html = render(store, stored)
    failed = [t for t in data.trials if t.state is TrialState.FAILED]
    stopped = [t for t in data.trials if t.state is TrialState.EARLY_STOPPED]
    assert len(failed) == 4
    assert len(stopped) == 2  # the 4th and 8th; the 12th failed first
    classes = rows_of(html)
    assert classes.count("failed") == 4
    assert sum(c.startswith("earlystopped") for c in classes) == 2
    assert "RuntimeError: CUDA out of memory" in html
    curves = {t["name"]: t for t in figures_of(html)["curves"]["data"]}
    ends = curves["stopped here"]
    assert sorted(ends["text"]) == sorted(t.name for t in stopped)
    assert ends["x"] == [2.0, 2.0]  # stopped after half of 6 steps: the last step reported is 2
    # failed trials have no objective: no marker in the history, no line in parallel coordinates
    history = figures_of(html)["history"]["data"]
    plotted = {name for trace in history if trace["mode"] == "markers" for name in trace["text"]}
    assert not plotted & {t.name for t in failed}


def test_no_finished_trial_means_no_plots_and_no_plotly(store: Store) -> None:
    stored = populate(store, wide_experiment("waiting", 3, parallel=3), leave_running=3)
    data, html = render(store, stored)
    assert [t.state for t in data.trials] == [TrialState.RUNNING] * 3
    assert figures_of(html) == {}
    assert "No trial has finished with a value of loss yet" in html
    bundle = _BUNDLE.search(html)
    assert bundle is not None and bundle.group(1) == ""
    assert len(html) < 100_000
    assert rows_of(html) == ["running"] * 3


def test_an_experiment_where_every_trial_failed_says_failed(store: Store) -> None:
    experiment = wide_experiment("broken", 4, parallel=2)
    experiment.spec.max_failed_trial_count = 2
    stored = init_experiment(store, experiment)
    for trial in reserve_trials(store, stored.id, [(0, 0), (1, 0)]):
        assert trial is not None
        mark_running(store, stored.id, trial.name)
        finish_trial(store, stored.id, trial.name, Outcome.FAILED, "exit code 1: <no module named 'torch'>")
    data, html = render(store, stored)
    assert data.evaluation.completed and not data.evaluation.succeeded
    assert 'data-standing="Failed"' in html
    assert "Experiment has failed because max failed count has reached" in html  # Katib's words
    assert "no trial has succeeded yet" in html
    # messages are text, never markup
    assert "&lt;no module named &#39;torch&#39;&gt;" in html
    assert "<no module named" not in html


def test_maximize_goal_and_best_so_far_go_up(store: Store) -> None:
    experiment = wide_experiment("upwards", 9, parallel=3)
    assert experiment.spec.objective is not None
    experiment.spec.objective.type = "maximize"
    experiment.spec.objective.goal = 99.0
    stored = populate(store, experiment)
    _, html = render(store, stored)
    history = figures_of(html)["history"]
    best = history["data"][-1]["y"]
    assert all(a <= b for a, b in itertools.pairwise(best))
    assert history["layout"]["shapes"][0]["y0"] == 99.0
    assert figures_of(html)["parallel"]["data"][0]["line"]["reversescale"] is False


def test_log_parameters_sit_on_log_axes(store: Store) -> None:
    stored = populate(store, wide_experiment("logs", 9, parallel=3))
    data, html = render(store, stored)
    figures = figures_of(html)
    lr = next(d for d in figures["parallel"]["data"][0]["dimensions"] if d["label"] == "lr")
    assert all(-4.0 <= v <= -1.0 for v in lr["values"])  # log10 of values in [1e-4, 1e-1]
    assert lr["ticktext"][0] == "1e-4"
    assert figures["slice"]["layout"]["xaxis"]["type"] == "log"  # lr is the first panel
    optimizer = next(d for d in figures["parallel"]["data"][0]["dimensions"] if d["label"] == "optimizer")
    assert optimizer["ticktext"] == ["sgd", "adam", "rmsprop"]
    for value, trial in zip(lr["values"], data.scored, strict=True):
        assert value == pytest.approx(math.log10(float(trial.assignments["lr"])), rel=1e-5)


def test_a_thousand_trials_fit_in_five_megabytes(store: Store) -> None:
    stored = populate(store, wide_experiment("big", 1000), fail_every=17, early_stop_every=5, steps=8)
    data, html = render(store, stored)
    assert len(data.trials) == 1000
    assert len(html.encode()) < 5_000_000
    assert len(rows_of(html)) == 1000
    assert sum(len(t["x"]) for t in figures_of(html)["history"]["data"] if t["mode"] == "markers") == len(data.scored)


def test_two_renders_of_the_same_data_are_identical(store: Store) -> None:
    stored = populate(store, wide_experiment("same", 6, parallel=3))
    data = load_report_data(store, stored)
    assert render_report(data) == render_report(data)


def test_refresh_is_written_only_when_asked(store: Store) -> None:
    stored = populate(store, wide_experiment("fresh", 3, parallel=3))
    data = load_report_data(store, stored)
    assert 'http-equiv="refresh" content="7"' in render_report(data, refresh=7)
    assert "http-equiv" not in render_report(data)


def test_write_report_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.html"
    write_report(target, "<p>one</p>")
    write_report(target, "<p>two</p>")
    assert target.read_text() == "<p>two</p>"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temporary file left


def test_templates_are_strict_about_undefined_names() -> None:
    from jinja2 import UndefinedError

    template = environment().from_string("{{ missing }}")
    with pytest.raises(UndefinedError):
        template.render()
    assert (template_folder() / "report.html.j2").is_file()
