"""What the Argo UI shows: trial node names, readable outputs, a live leaderboard, titles, Prometheus metrics."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_flow import Experiment, algorithm, minimize, search
from katib_flow.argo.compiler import CompileOptions, compile_template, compile_workflow
from katib_flow.argo.ui import DISPLAY_NAME
from katib_flow.engine import evaluate, find_experiment
from katib_flow.spec import Experiment as Wire
from katib_flow.store import Store

from ..cluster_tests.fake_kubernetes import FakeKubernetes, fake_kubernetes
from .test_workflow_runs import PROGRAM, _trials, experiment, run_on_argo, sqlite_url

TITLE, DESCRIPTION = "workflows.argoproj.io/title", "workflows.argoproj.io/description"


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with fake_kubernetes() as (state, _):
        yield state


def _templates(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in document["spec"]["templates"]}


def _grid(name: str, trials: int) -> Wire:
    """x = 0.1, 0.3, ..., 0.9 in order: the program fails for x > 0.85, so the last of five trials fails."""
    return Experiment(
        name,
        objective=minimize("loss"),
        algorithm=algorithm("grid"),
        parameters={"x": search.double(0.1, 0.9, step=0.2)},
        image="python:3.11",
        command=[sys.executable, "-c", PROGRAM, "${trialParameters.x}"],
        max_trial_count=trials,
        parallel_trial_count=min(trials, 2),
        max_failed_trial_count=trials,
    ).to_model()


def test_a_run_names_trial_nodes_shows_parameters_and_metrics_keeps_a_leaderboard_and_emits_gauges(
    kube: FakeKubernetes, tmp_path: Path
) -> None:
    db_url = sqlite_url(tmp_path)
    argo = run_on_argo(_grid("board", 5), db_url, kube, tmp_path / "argo")
    with Store(db_url) as store:
        trials = _trials(store, "board")
        status = evaluate(store, find_experiment(store, "board").id).status
    names = [name for name, _, _ in trials]
    failed = {name for name, state, _ in trials if state == "Failed"}
    assert len(failed) == 1
    # every trial's node carries the trial's name (run-trial's display name)
    assert sorted(argo.display_names) == sorted(names)
    # suggest shows each trial's parameters as JSON; collect its metrics
    suggested = [json.loads(p.read_text()) for p in (tmp_path / "argo").glob("*-suggest/outputs/parameters")]
    assert sorted(p["x"] for p in suggested if p) == ["0.1", "0.3", "0.5", "0.7", "0.9"]  # {}: no trial left
    collected = [json.loads(p.read_text()) for p in (tmp_path / "argo").glob("*-collect/outputs/metrics")]
    objectives = sorted(o for _, _, o in trials if o is not None)
    assert sorted(float(m["loss"]) for m in collected if m) == pytest.approx(objectives, rel=1e-5)
    # the leaderboard: the last collect's word equals finish's; trials counted as Katib counts them
    assert argo.global_outputs["trials"] == "5/5"
    assert argo.global_outputs["best-trial"] == status["currentOptimalTrial"]["bestTrialName"]
    # one gauge per trial with an objective, labelled with the trial; none for the failed trial
    samples = {s.labels["trial"]: s.value for s in argo.metrics if s.name == "katib_flow_trial_objective"}
    assert samples == {name: pytest.approx(objective) for name, _, objective in trials if objective is not None}
    assert not set(samples) & failed
    assert all(s.labels["experiment"] == "board" and s.labels["metric"] == "loss" for s in argo.metrics)
    best = [s.value for s in argo.metrics if s.name == "katib_flow_best_objective"]
    assert best and min(best) == pytest.approx(float(argo.global_outputs["best-objective"]))
    assert argo.metric_errors == []


def test_titles_and_descriptions_on_every_workflow_and_generation() -> None:
    wire = experiment("titled", parallel=3, max_trials=12, goal=0.001)
    document = yaml.safe_load(compile_workflow(wire).to_yaml())
    annotations = document["metadata"]["annotations"]
    assert annotations[TITLE] == "titled (random)"
    assert annotations[DESCRIPTION] == "minimize loss to 0.001; 12 trials, 3 at a time"
    template, runner = compile_template(wire, CompileOptions(iterations_per_lane=2))
    assert runner.to_dict()["metadata"]["annotations"][TITLE] == "titled (random)"
    (resource,) = [t for t in template.to_dict()["spec"]["templates"] if t["name"] == "continue"]
    successor = json.loads(resource["resource"]["manifest"])
    assert successor["metadata"]["annotations"][TITLE] == "titled (random), generation {{inputs.parameters.generation}}"


def test_argo_3_6_gets_no_template_annotations() -> None:
    wire = experiment("old", parallel=1, max_trials=2, max_failed=2)
    newer = _templates(yaml.safe_load(compile_workflow(wire).to_yaml()))
    assert newer["run-trial"]["annotations"] == {DISPLAY_NAME: "{{inputs.parameters.display-name}}"}
    older = yaml.safe_load(compile_workflow(wire, CompileOptions(argo_version=(3, 6))).to_yaml())
    assert all("annotations" not in t for t in older["spec"]["templates"])
    with pytest.raises(ValueError, match=r"3\.6 or later"):
        CompileOptions(argo_version=(3, 5))


def test_metrics_need_an_objective_and_carry_help() -> None:
    document = yaml.safe_load(compile_workflow(experiment("gauged", parallel=1, max_trials=2, max_failed=2)).to_yaml())
    collect = _templates(document)["collect"]
    for metric in collect["metrics"]["prometheus"]:
        assert metric["help"] and metric["gauge"]["realtime"] is False
        assert metric["when"].startswith("{{status}} == Succeeded && '")
    # the values the when clauses compare exist even when the step wrote nothing
    defaults = {p["name"]: p["valueFrom"].get("default") for p in collect["outputs"]["parameters"]}
    assert defaults["objective"] == "" and defaults["best-objective"] == ""


def test_with_an_artifact_repository_finish_keeps_the_report_and_logs_are_archived(
    kube: FakeKubernetes, tmp_path: Path
) -> None:
    wire = _grid("archived", 1)
    document = yaml.safe_load(compile_workflow(wire, CompileOptions(artifacts=True)).to_yaml())
    assert document["spec"]["archiveLogs"] is True
    finish = _templates(document)["finish"]
    (artifact,) = finish["outputs"]["artifacts"]
    assert artifact == {"name": "report", "path": "/tmp/katib-flow/report.html", "archive": {"none": {}}}
    assert "--report" in finish["container"]["args"]
    plain = yaml.safe_load(compile_workflow(wire).to_yaml())
    assert "artifacts" not in _templates(plain)["finish"]["outputs"] and "archiveLogs" not in plain["spec"]
    run_on_argo(wire, sqlite_url(tmp_path), kube, tmp_path / "argo", artifacts=True)
    (report,) = (tmp_path / "argo").glob("*-finish/outputs/report.html")
    html = report.read_text()
    assert 'data-standing="Succeeded"' in html and '"history"' in html


def test_display_names_fit_argos_rule_or_are_clipped_to_it() -> None:
    from katib_flow.cluster.cli import display_name

    assert display_name("random-e771b091") == "random-e771b091"
    long = "a" * 40 + "-" + "0123456789abcdef" * 4  # a trial name after three sha256 collisions
    assert display_name(long) == long[:63]
    assert display_name("x_y-") == "x-y"
    assert display_name("") == "trial"


def test_trials_progress_counts_what_katib_counts_against_max_trial_count() -> None:
    from katib_flow.cluster.cli_trials import trials_progress
    from katib_flow.history import TrialState

    states = [TrialState.RUNNING] * 2 + [TrialState.CREATED, TrialState.KILLED] + [TrialState.FAILED] * 2
    states += [TrialState.SUCCEEDED, TrialState.EARLY_STOPPED, TrialState.METRICS_UNAVAILABLE]
    completed = sum(1 for s in states if s.is_completed)
    assert trials_progress(completed, 12) == "5/12"
    assert trials_progress(completed, None) == "5"


def test_the_ui_options_reach_the_workflow_and_bad_values_are_one_line() -> None:
    from click.testing import CliRunner

    from katib_flow.cli import main

    example = "examples/quickstart/experiment.yaml"
    result = CliRunner().invoke(
        main, ["compile", example, "--argo-version", "3.6", "--artifact-repository", "--keep-step-pods", "2h"]
    )
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.output)
    assert document["spec"]["archiveLogs"] is True
    assert document["spec"]["podGC"]["deleteDelayDuration"] == "2h"
    assert all("annotations" not in t for t in document["spec"]["templates"])
    for args, message in (
        (["--argo-version", "3.5"], "katib-flow: --argo-version: 3.5: katib-flow needs Argo Workflows 3.6 or later"),
        (["--argo-version", "latest"], "katib-flow: --argo-version: 'latest': expected MAJOR.MINOR, such as 3.7"),
        (
            ["--keep-step-pods", "soon"],
            "katib-flow: --keep-step-pods: 'soon': expected a duration such as 30m, 2h or 90s",
        ),
    ):
        refused = CliRunner().invoke(main, ["compile", example, *args])
        assert refused.exit_code == 2 and refused.output.strip() == message
