"""examples/pipeline: hyperparameter tuning embedded in a caller's Hera pipeline, checked and executed."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from hera.workflows import Container, Parameter, Step, Steps, Workflow

from katib_flow.argo import CompileOptions, hpo_template_ref, hpo_templates
from katib_flow.engine import evaluate, find_experiment
from katib_flow.exceptions import CompileError
from katib_flow.store import Store

from ..cluster_tests.fake_jobs import JobController
from ..cluster_tests.fake_kubernetes import FakeKubernetes, fake_kubernetes
from ..conftest import PROJECT_ROOT
from .interpreter import Interpreter
from .test_workflow_runs import sqlite_url
from .workflow_checks import schema_errors, semantic_errors

GOLDEN = Path(__file__).parent / "golden" / "pipeline.yaml"


def _example() -> ModuleType:
    path = PROJECT_ROOT / "examples" / "pipeline" / "pipeline.py"
    spec = importlib.util.spec_from_file_location("pipeline_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with fake_kubernetes() as (state, _):
        JobController(state).attach()
        yield state


def test_the_pipeline_is_valid_golden_and_its_names_do_not_collide() -> None:
    text = _example().build_pipeline().to_yaml()
    if os.environ.get("KATIB_FLOW_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "pipeline.yaml differs: regenerate with KATIB_FLOW_UPDATE_GOLDEN=1"
    document: dict[str, Any] = yaml.safe_load(text)
    assert schema_errors(document) == [] and semantic_errors(document) == []
    names = [t["name"] for t in document["spec"]["templates"]]
    assert len(names) == len(set(names))
    assert {n for n in names if not n.startswith("hpo-")} == {"preprocess", "train-final-model", "pipeline"}
    assert "onExit" not in document["spec"]  # the caller's Workflow stays the caller's
    finish = next(t for t in document["spec"]["templates"] if t["name"] == "hpo-finish")
    # global outputs carry the prefix: the caller's own (reason, succeeded, ...) are never overwritten
    assert {p["globalName"] for p in finish["outputs"]["parameters"]} == {
        "hpo-best-trial", "hpo-best-parameters", "hpo-best-objective", "hpo-succeeded", "hpo-reason"
    }  # fmt: skip


def test_the_pipeline_runs_and_trains_the_final_model_with_the_best_parameters(
    kube: FakeKubernetes, tmp_path: Path
) -> None:
    db_url = sqlite_url(tmp_path)  # the steps on MariaDB: test_workflow_runs.py
    document = yaml.safe_load(_example().build_pipeline(CompileOptions(poll_seconds=0.2)).to_yaml())
    interpreter = Interpreter(
        document, tmp_path, {"katib-flow-db": {"url": db_url}}, kube, kube.kubeconfig(tmp_path / "kubeconfig")
    )
    assert interpreter.run() == "Succeeded"
    with Store(db_url) as store:
        status = evaluate(store, find_experiment(store, "pipeline-hpo").id).status
    best = {a["name"]: a["value"] for a in status["currentOptimalTrial"]["parameterAssignments"]}
    (line,) = interpreter.logs["train-final-model"]
    assert line.strip() == "training the final model with " + ", ".join(f"{k}={v}" for k, v in sorted(best.items()))
    assert status["trialsSucceeded"] == 6


def test_embedding_refuses_a_bad_prefix_and_an_experiment_larger_than_one_generation() -> None:
    experiment = _example().experiment()
    with Workflow(name="w"):
        with pytest.raises(ValueError, match="prefix"):
            hpo_templates(experiment, prefix="-hpo")
        with pytest.raises(CompileError, match="hpo_template_ref"):
            hpo_templates(experiment, CompileOptions(iterations_per_lane=2))


def test_a_template_ref_step_reads_the_same_outputs() -> None:
    experiment = _example().experiment()
    with Workflow(generate_name="ref-", entrypoint="pipeline") as w:
        train = Container(
            name="train", image="python:3.11", args=["{{inputs.parameters.params}}"], inputs=[Parameter(name="params")]
        )
        with Steps(name="pipeline"):
            Step(name="tune", template_ref=hpo_template_ref(experiment))
            train(name="train", arguments={"params": "{{steps.tune.outputs.parameters.best-parameters}}"})
    document = yaml.safe_load(w.to_yaml())
    assert schema_errors(document) == []
    (tune,) = document["spec"]["templates"][1]["steps"][0]
    assert tune["templateRef"] == {"name": "katib-flow-pipeline-hpo", "template": "main"}
    assert json.dumps(document).count("katib-flow-pipeline-hpo") == 1
