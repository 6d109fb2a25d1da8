"""The compiler: Workflows that Argo's schema and rules accept, deterministic, and clear refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hera.workflows import Workflow

from katib_flow.argo.compiler import ITERATIONS_PER_LANE, CompileOptions, compile_template, compile_workflow
from katib_flow.exceptions import CompileError
from katib_flow.spec import dump_experiment, load_experiment
from katib_flow.spec import parse_experiment as load_experiment_text
from katib_flow.spec.models import EarlyStoppingSpec

from ..conftest import katib_example_files
from .workflow_checks import schema_errors, semantic_errors

COMPILABLE = ["random", "grid", "sobol", "tpe", "multivariate-tpe", "cma-es", "bayesian-optimization", "hyperband"]


def _example(name: str) -> Path:
    path = next((p for p in katib_example_files() if p.stem == name), None)
    if path is None:
        pytest.skip(f"Katib example {name}.yaml is absent (../shared/katib-examples)")
    return path


def _compiled(name: str, **options: Any) -> dict[str, Any]:
    workflow = compile_workflow(load_experiment(_example(name)), CompileOptions(**options))
    document: dict[str, Any] = yaml.safe_load(workflow.to_yaml())
    return document


@pytest.mark.parametrize("name", COMPILABLE)
def test_katib_examples_compile_to_workflows_argo_accepts(name: str) -> None:
    document = _compiled(name)
    assert schema_errors(document) == []
    assert semantic_errors(document) == []
    templates = {t["name"]: t for t in document["spec"]["templates"]}
    lanes = [s for group in templates["generation"]["steps"] for s in group if s["template"] == "lane"]
    experiment = load_experiment(_example(name))
    assert len(lanes) == experiment.spec.parallel_trial_count
    run = templates["run-trial"]["resource"]
    assert (run["action"], run["setOwnerReference"]) == ("create", True)
    assert run["successCondition"] == "status.succeeded > 0"
    finish = {p["name"]: p for p in templates["finish"]["outputs"]["parameters"]}
    assert finish["best-parameters"]["globalName"] == "best-parameters"
    assert document["metadata"]["labels"] == {"katib-flow/experiment": experiment.name}
    assert templates["generation"]["synchronization"] == {"mutexes": [{"name": f"katib-flow-{experiment.name}"}]}
    assert "continue" not in templates  # a self-contained Workflow is one generation


def test_compiling_is_deterministic_and_round_trips_through_hera() -> None:
    experiment = load_experiment(_example("random"))
    first = compile_workflow(experiment).to_yaml()
    assert compile_workflow(experiment).to_yaml() == first
    again = Workflow.from_yaml(first)
    assert isinstance(again, Workflow) and again.to_yaml() == first


def test_options_reach_the_workflow() -> None:
    document = _compiled("random", image="registry.local/kf:1", namespace="hpo", db_secret="mysql-url")
    assert document["metadata"]["namespace"] == "hpo"
    suggest = next(t for t in document["spec"]["templates"] if t["name"] == "suggest")
    assert suggest["container"]["image"] == "registry.local/kf:1"
    secret = suggest["container"]["env"][0]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": "mysql-url", "key": "url"}


def test_the_lane_recursion_is_bounded_and_the_checks_would_catch_an_unbounded_one() -> None:
    document = _compiled("random")
    lane = next(t for t in document["spec"]["templates"] if t["name"] == "lane")
    (recurse,) = [s for group in lane["steps"] for s in group if s["template"] == "lane"]
    assert f"< {ITERATIONS_PER_LANE - 1}" in recurse["when"]
    recurse["when"] = "{{steps.decide.outputs.parameters.proceed}} == true"
    assert any("recursion not bounded" in e for e in semantic_errors(document))


def test_the_checks_catch_a_misspelt_key_and_a_dangling_reference() -> None:
    document = _compiled("random")
    run = next(t for t in document["spec"]["templates"] if t["name"] == "run-trial")
    run["resource"]["sucessCondition"] = run["resource"].pop("successCondition")
    assert any("sucessCondition" in e for e in schema_errors(document))
    lane = next(t for t in document["spec"]["templates"] if t["name"] == "lane")
    lane["steps"][1][0]["arguments"]["parameters"][0]["value"] = "{{steps.sugest.outputs.parameters.run-object}}"
    assert any("names no earlier step" in e for e in semantic_errors(document))


def _refusable(tmp_path: Path) -> Path:
    """Katib's File collector example with early stopping and 10,000 trials: more than one Workflow can run."""
    experiment = load_experiment(_example("file-metrics-collector"))
    stopping = EarlyStoppingSpec.model_validate({"algorithmName": "medianstop"})
    spec = experiment.spec.model_copy(update={"early_stopping": stopping, "max_trial_count": 10000})
    path = tmp_path / "refused.yaml"
    path.write_text(dump_experiment(experiment.model_copy(update={"spec": spec})))
    return path


def test_what_cannot_run_is_refused_with_field_paths(tmp_path: Path) -> None:
    with pytest.raises(CompileError) as err:
        compile_workflow(load_experiment(_refusable(tmp_path)))
    # Early stopping with the File collector compiles (the wait step follows the file on the claim).
    assert [str(p).split(":")[0] for p in err.value.problems] == ["spec.maxTrialCount"]
    assert "--template" in str(err.value.problems[0])


def test_file_and_tfevent_collectors_read_the_shared_volume() -> None:
    for name in ("file-metrics-collector", "tfjob-mnist-with-summaries"):
        document = _compiled(name)
        assert schema_errors(document) == [] and semantic_errors(document) == []
        templates = {t["name"]: t for t in document["spec"]["templates"]}
        suggest = templates["suggest"]["container"]["args"]
        assert suggest[suggest.index("--metrics-claim") + 1] == "katib-flow-metrics"
        reader = templates.get("collect") or templates["wait-trial"]
        assert reader["volumes"] == [
            {"name": "katib-flow-metrics", "persistentVolumeClaim": {"claimName": "katib-flow-metrics"}}
        ]
        assert reader["container"]["volumeMounts"] == [
            {"name": "katib-flow-metrics", "mountPath": "/katib-flow/metrics"}
        ]


def test_kinds_argo_cannot_judge_go_through_the_wait_step() -> None:
    document = _compiled("pytorchjob-mnist")  # restartPolicy OnFailure: Argo's counters could hang forever
    assert schema_errors(document) == [] and semantic_errors(document) == []
    templates = {t["name"]: t for t in document["spec"]["templates"]}
    assert "run-trial" not in templates and "collect" not in templates
    args = templates["wait-trial"]["container"]["args"]
    assert args[:3] == ["wait", "--experiment", "pytorchjob-mnist"]
    for flag, value in [
        ("--owner-workflow", "{{workflow.name}}"),
        ("--owner-uid", "{{workflow.uid}}"),
        ("--run-namespace", "{{workflow.namespace}}"),
    ]:
        assert args[args.index(flag) + 1] == value
    assert templates["wait-trial"]["retryStrategy"]["limit"] == 3  # safe: a retry finds the object it created


def test_early_stopping_compiles_to_the_wait_step() -> None:
    experiment = load_experiment(_example("random"))
    stopping = {"algorithmName": "medianstop", "algorithmSettings": [{"name": "min_trials_required", "value": "2"}]}
    spec = experiment.spec.model_copy(update={"early_stopping": EarlyStoppingSpec.model_validate(stopping)})
    with_stopping = experiment.model_copy(update={"spec": spec})
    document = yaml.safe_load(compile_workflow(with_stopping).to_yaml())
    names = {t["name"] for t in document["spec"]["templates"]}
    assert "wait-trial" in names and "run-trial" not in names


def test_more_than_one_generation_needs_the_template_form() -> None:
    experiment = load_experiment(_example("random"))  # 12 trials, 3 lanes
    with pytest.raises(CompileError) as err:
        compile_workflow(experiment, CompileOptions(iterations_per_lane=2))
    (problem,) = err.value.problems
    assert str(problem).startswith("spec.maxTrialCount: a single Workflow runs at most 6 trials (3 lanes x 2")
    assert "--template" in str(problem)
    template, _ = compile_template(experiment, CompileOptions(iterations_per_lane=2))
    document = yaml.safe_load(template.to_yaml())
    assert schema_errors(document) == [] and semantic_errors(document) == []
    templates = {t["name"]: t for t in document["spec"]["templates"]}
    successor = yaml.safe_load(templates["continue"]["resource"]["manifest"])
    assert successor["spec"]["workflowTemplateRef"] == {"name": "katib-flow-random"}
    assert "setOwnerReference" not in templates["continue"]["resource"]  # generations outlive each other
    finish = templates["finish"]["container"]["args"]
    assert "--wait" in finish  # generation 0 reports the end of the whole experiment


def test_compile_command_writes_yaml_and_refuses_with_one_line_per_problem(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from katib_flow.cli import main

    out = tmp_path / "random.yaml"
    result = CliRunner().invoke(main, ["compile", str(_example("random")), "-o", str(out), "--image", "kf:dev"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())["kind"] == "Workflow" and "kf:dev" in out.read_text()
    refused = CliRunner().invoke(main, ["compile", str(_refusable(tmp_path))])
    assert refused.exit_code == 2
    lines = refused.output.strip().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["spec.maxTrialCount"]


def test_template_form_is_a_workflow_template_and_a_workflow_that_references_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from katib_flow.cli import main

    out = tmp_path / "template.yaml"
    result = CliRunner().invoke(main, ["compile", str(_example("random")), "--template", "-o", str(out)])
    assert result.exit_code == 0, result.output
    template, workflow = yaml.safe_load_all(out.read_text())
    assert (template["kind"], template["metadata"]["name"]) == ("WorkflowTemplate", "katib-flow-random")
    assert workflow["spec"] == {"workflowTemplateRef": {"name": "katib-flow-random"}}
    assert schema_errors(template) == [] and semantic_errors(template) == []
    assert schema_errors(workflow) == []
    plain = {t["name"]: t for t in _compiled("random")["spec"]["templates"]}
    same = {t["name"]: t for t in template["spec"]["templates"] if t["name"] in ("lane", "suggest", "run-trial")}
    assert same == {name: plain[name] for name in same} and len(same) == 3  # a templateRef runs the same lanes


@pytest.mark.parametrize("kind", ["argo", "trainjob", "custom", "configmap"])
def test_other_trial_kinds_compile_through_the_wait_step(kind: str) -> None:
    from ..spec_tests.test_template_source import configmap_experiment
    from ..trial_kinds import ARGO_WORKFLOW, CUSTOM_KIND, TRAIN_JOB, experiment_with

    if kind == "configmap":  # its kind is known only when the init step has read the ConfigMap
        source = configmap_experiment()[0]
    else:
        source = experiment_with({"argo": ARGO_WORKFLOW, "trainjob": TRAIN_JOB, "custom": CUSTOM_KIND}[kind])
    experiment = load_experiment_text(yaml.safe_dump(source))
    document: dict[str, Any] = yaml.safe_load(compile_workflow(experiment, CompileOptions()).to_yaml())
    assert schema_errors(document) == []
    assert semantic_errors(document) == []
    names = {t["name"] for t in document["spec"]["templates"]}
    assert "wait-trial" in names and "run-trial" not in names  # Katib's GJSON conditions, judged by the wait step


def test_every_step_pod_has_resources_a_restricted_security_context_and_a_retry_that_skips_bad_input() -> None:
    document = _compiled("random")
    containers = [t for t in document["spec"]["templates"] if "container" in t]
    pods = containers + [t for t in document["spec"]["templates"] if "resource" in t]
    assert {t["name"] for t in containers} >= {"init", "suggest", "collect", "decide", "finish", "fail"}
    for template in containers:
        container = template["container"]
        assert set(container["resources"]["requests"]) == set(container["resources"]["limits"]) == {"cpu", "memory"}
        security = container["securityContext"]
        assert security["runAsNonRoot"] and security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        if template["name"] != "fail":  # failing on purpose: a retry would only fail again
            expression = template["retryStrategy"]["expression"]
            assert "!= 2" in expression and "!= 3" in expression
    for template in pods:  # the pod-level context Pod Security "restricted" checks, resource steps' pods too
        assert template["securityContext"]["runAsNonRoot"] is True
        assert template["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert document["spec"]["podGC"] == {"strategy": "OnPodSuccess", "deleteDelayDuration": "30m"}


def test_step_resources_come_from_the_options_and_a_bad_quantity_is_refused() -> None:
    from click.testing import CliRunner

    from katib_flow.argo.step_pods import StepResources
    from katib_flow.cli import main

    document = _compiled("random", resources=StepResources("250m", "2", "512Mi", "2Gi"))
    init = next(t for t in document["spec"]["templates"] if t["name"] == "init")
    assert init["container"]["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    result = CliRunner().invoke(main, ["compile", "examples/quickstart/experiment.yaml", "--step-memory", "lots"])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "katib-flow: --step-memory: memory 'lots' is not a Kubernetes quantity (e.g. 500m, 1Gi)"
    )


def test_a_resumed_trial_goes_to_the_wait_step_and_run_trial_continues_on_error() -> None:
    document = _compiled("random")
    lane = next(t for t in document["spec"]["templates"] if t["name"] == "lane")
    steps = {s["name"]: s for group in lane["steps"] for s in group}
    assert steps["run-trial"]["continueOn"] == {"failed": True, "error": True}
    assert "resumed}} == false" in steps["run-trial"]["when"] and "resumed}} == false" in steps["collect"]["when"]
    assert "resumed}} == true" in steps["wait-trial"]["when"]


def test_the_templates_leave_callers_enough_stack_depth() -> None:
    from katib_flow.argo.compiler import CALLER_DEPTH, stack_depth

    assert stack_depth(ITERATIONS_PER_LANE) + CALLER_DEPTH < 100  # Argo's maxAllowedStackDepth


def test_more_lanes_than_a_workflow_holds_are_refused_with_the_field() -> None:
    from katib_flow.argo.compiler import MAX_LANES
    from katib_flow.exceptions import CompileError

    wire = load_experiment(_example("random")).model_copy(deep=True)
    wire.spec.parallel_trial_count = MAX_LANES + 1
    wire.spec.max_trial_count = 10 * MAX_LANES
    with pytest.raises(CompileError) as raised:
        compile_template(wire)
    (problem,) = raised.value.problems
    assert problem.path == "spec.parallelTrialCount" and f"at most {MAX_LANES} trials at once" in problem.message
