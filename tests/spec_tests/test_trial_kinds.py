"""Trial kinds beyond Job and the Kubeflow jobs: where their primary container is, validation and rendering."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from katib_flow.engine.render import local_command, render_run_object
from katib_flow.spec import Experiment, check, parse_experiment, validate

from ..trial_kinds import ARGO_WORKFLOW, CUSTOM_KIND, TEKTON, TRAIN_JOB, experiment_with


def _parsed(template: dict[str, Any]) -> Experiment:
    return parse_experiment(yaml.safe_dump(experiment_with(template)))


def _problems(template: dict[str, Any]) -> list[str]:
    return [str(p) for p in validate(_parsed(template))]


@pytest.mark.parametrize("template", [ARGO_WORKFLOW, TRAIN_JOB, CUSTOM_KIND], ids=["argo", "trainjob", "custom"])
def test_katib_trial_kinds_validate(template: dict[str, Any]) -> None:
    assert _problems(template) == []


@pytest.mark.parametrize(
    ("template", "wrong", "found"),
    [(ARGO_WORKFLOW, "model-training", "main, main"), (TRAIN_JOB, "trainer", "node")],
    ids=["argo", "trainjob"],
)
def test_the_primary_container_is_named_as_its_pod_names_it(template: dict[str, Any], wrong: str, found: str) -> None:
    # Argo runs a template's container as "main" whatever its name field says; a TrainJob's trainer is "node".
    broken = copy.deepcopy(template)
    broken["primaryContainerName"] = wrong
    assert _problems(broken) == [
        f"spec.trialTemplate.primaryContainerName: no container named {wrong!r} in the trial spec (containers: {found})"
    ]


def test_katibs_tekton_example_gets_its_one_real_problem() -> None:
    assert _problems(TEKTON) == [
        "spec.trialTemplate.trialParameters[0].name: ${trialParameters.learningRate} does not appear in "
        "spec.trialTemplate.trialSpec"
    ]


def test_container_rules_apply_to_every_kind() -> None:
    broken = copy.deepcopy(TRAIN_JOB)
    broken["trialSpec"]["spec"]["trainer"]["command"] = ["python3", 3, "--lr=${trialParameters.learningRate}"]
    assert _problems(broken) == [
        "spec.trialTemplate.trialSpec.spec.trainer.command: must be a list of strings (quote numbers and booleans)"
    ]


@pytest.mark.parametrize("template", [ARGO_WORKFLOW, TRAIN_JOB], ids=["argo", "trainjob"])
def test_trial_metadata_is_substituted_in_every_kind(template: dict[str, Any]) -> None:
    experiment = check(_parsed(template))
    rendered = render_run_object(experiment, "kinds-0123abcd", {"lr": "0.02"})
    text = str(rendered)
    assert "${" not in text and "--lr=0.02" in text
    metadata = rendered["metadata"]
    assert "kinds-0123abcd" in {*metadata.get("labels", {}).values(), *metadata.get("annotations", {}).values()}
    if rendered["kind"] == "TrainJob":
        assert metadata["annotations"]["kind"] == "TrainJob"


def test_the_local_command_of_a_train_job_is_its_trainer() -> None:
    experiment = check(_parsed(TRAIN_JOB))
    command = local_command(experiment, render_run_object(experiment, "kinds-1", {"lr": "0.02"}))
    assert command.argv == ["python3", "/opt/pytorch-mnist/mnist.py", "--lr=0.02"]
    assert command.image == "docker.io/kubeflowkatib/pytorch-mnist:v1beta1-45c5727"
