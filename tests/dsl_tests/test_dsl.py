"""The Python DSL produces the same experiments as Katib YAML."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from katib_flow import (
    Experiment,
    SearchParameter,
    SearchSpace,
    algorithm,
    collector,
    early_stopping,
    maximize,
    minimize,
    search,
)
from katib_flow.exceptions import SpecError
from katib_flow.spec import apply_defaults, dump_experiment, parse_experiment, validate
from katib_flow.spec import constants as c

CMD = ["python3", "train.py", "--x=${trialParameters.x}"]


def _experiment(param: SearchParameter, **kwargs: Any) -> Experiment:
    return Experiment(
        "dsl", objective=minimize("loss"), parameters={"x": param}, image="python:3.11", command=CMD, **kwargs
    )


PARAMS = (
    [
        ("double", search.double(0.1, 2.5), c.PARAM_DOUBLE, {"min": "0.1", "max": "2.5"}),
        (
            "double-step",
            search.double(0.0, 1.0, step=0.25),
            c.PARAM_DOUBLE,
            {"min": "0.0", "max": "1.0", "step": "0.25"},
        ),
        ("int", search.int(1, 10), c.PARAM_INT, {"min": "1", "max": "10"}),
        ("int-step", search.int(0, 100, step=10), c.PARAM_INT, {"min": "0", "max": "100", "step": "10"}),
        (
            "categorical",
            search.categorical(["sgd", "adam", True]),
            c.PARAM_CATEGORICAL,
            {"list": ["sgd", "adam", "true"]},
        ),
        ("discrete", search.discrete([16, 32, 0.5]), c.PARAM_DISCRETE, {"list": ["16", "32", "0.5"]}),
    ]
    + [
        (
            f"double-{d}",
            search.double(0.01, 1.0, distribution=d),
            c.PARAM_DOUBLE,
            {"min": "0.01", "max": "1.0", "distribution": d},
        )
        for d in c.DISTRIBUTIONS
    ]
    + [
        (f"int-{d}", search.int(1, 64, distribution=d), c.PARAM_INT, {"min": "1", "max": "64", "distribution": d})
        for d in c.DISTRIBUTIONS
    ]
)


@pytest.mark.parametrize(("param", "ptype", "feasible"), [p[1:] for p in PARAMS], ids=[p[0] for p in PARAMS])
def test_dsl_yaml_model_round_trip(param: SearchParameter, ptype: str, feasible: dict[str, Any]) -> None:
    exp = _experiment(param)
    model = exp.to_model()
    text = exp.to_yaml()
    doc = yaml.safe_load(text)
    assert doc["spec"]["parameters"] == [{"name": "x", "parameterType": ptype, "feasibleSpace": feasible}]
    reloaded = parse_experiment(text)
    assert reloaded == model
    assert dump_experiment(reloaded) == text
    assert validate(reloaded) == []
    # The parsed space is the one the DSL described.
    assert SearchSpace.from_spec(apply_defaults(reloaded).spec).names == ["x"]


def test_trial_parameters_are_derived_from_placeholders() -> None:
    exp = Experiment(
        "derived",
        objective=maximize("accuracy", goal=0.9),
        parameters={"lr": search.double(0.01, 0.1), "units": search.int(8, 64)},
        image="img",
        command=["train", "--lr=${trialParameters.learningRate}"],
        args=["--units=${trialParameters.units}", "--name=${trialParameters.trialName}"],
        trial_parameters={"learningRate": "lr", "trialName": "${trialSpec.Name}"},
    )
    template = exp.to_model().spec.trial_template
    assert template is not None and template.trial_parameters is not None
    assert [(tp.name, tp.reference) for tp in template.trial_parameters] == [
        ("learningRate", "lr"),
        ("units", "units"),
        ("trialName", "${trialSpec.Name}"),
    ]


def test_every_builder_field_reaches_the_yaml() -> None:
    exp = Experiment(
        "full",
        namespace="team-a",
        objective=maximize("accuracy", goal=0.95, additional_metrics=["loss"], strategies={"loss": "latest"}),
        algorithm=algorithm("tpe", n_startup_trials=5, constant_liar=True, random_state=3),
        early_stopping=early_stopping("medianstop", min_trials_required=2, start_step=3),
        parameters={"lr": search.double(1e-4, 1e-1, distribution="logUniform")},
        image="img:1",
        command=["python3", "-m", "train"],
        args=["--lr", "${trialParameters.lr}"],
        env={"PYTHONUNBUFFERED": "1"},
        working_dir="/work",
        resources={"limits": {"cpu": "1", "memory": "1Gi"}},
        primary_container_name="main",
        metrics_collector=collector.file("/out/metrics.json", format="JSON"),
        max_trial_count=20,
        parallel_trial_count=4,
        max_failed_trial_count=2,
        resume_policy="LongRunning",
        retain=True,
    )
    doc = yaml.safe_load(exp.to_yaml())
    spec = doc["spec"]
    assert doc["metadata"] == {"name": "full", "namespace": "team-a"}
    assert spec["objective"]["metricStrategies"] == [{"name": "loss", "value": "latest"}]
    assert spec["algorithm"]["algorithmSettings"] == [
        {"name": "n_startup_trials", "value": "5"},
        {"name": "constant_liar", "value": "true"},
        {"name": "random_state", "value": "3"},
    ]
    assert spec["earlyStopping"] == {
        "algorithmName": "medianstop",
        "algorithmSettings": [{"name": "min_trials_required", "value": "2"}, {"name": "start_step", "value": "3"}],
    }
    assert spec["metricsCollectorSpec"] == {
        "source": {"fileSystemPath": {"path": "/out/metrics.json", "kind": "File", "format": "JSON"}},
        "collector": {"kind": "File"},
    }
    assert (spec["maxTrialCount"], spec["parallelTrialCount"], spec["maxFailedTrialCount"]) == (20, 4, 2)
    assert spec["resumePolicy"] == "LongRunning"
    assert spec["trialTemplate"]["retain"] is True
    container = spec["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    assert container == {
        "name": "main",
        "image": "img:1",
        "command": ["python3", "-m", "train"],
        "args": ["--lr", "${trialParameters.lr}"],
        "workingDir": "/work",
        "env": [{"name": "PYTHONUNBUFFERED", "value": "1"}],
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
    }


@pytest.mark.parametrize(
    ("built", "kind", "source"),
    [
        (collector.stdout([r"(\w+):\s*(\d+\.\d+)"]), "StdOut", {"filter": {"metricsFormat": [r"(\w+):\s*(\d+\.\d+)"]}}),
        (
            collector.tensorflow_event("/logs/train"),
            "TensorFlowEvent",
            {"fileSystemPath": {"path": "/logs/train", "kind": "Directory"}},
        ),
        (collector.push(), "Push", None),
    ],
)
def test_collectors(built: Any, kind: str, source: dict[str, Any] | None) -> None:
    doc = yaml.safe_load(_experiment(search.double(0, 1), metrics_collector=built).to_yaml())
    mc = doc["spec"]["metricsCollectorSpec"]
    assert mc["collector"] == {"kind": kind}
    assert mc.get("source") == source


def test_ready_trial_spec_is_used_as_is() -> None:
    trial_spec = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {
                    "replicas": 1,
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "pytorch",
                                    "image": "img",
                                    "command": ["python3", "train.py", "--x=${trialParameters.x}"],
                                }
                            ]
                        }
                    },
                }
            }
        },
    }
    exp = Experiment(
        "ready",
        objective=minimize("loss"),
        parameters={"x": search.int(1, 3)},
        trial_spec=trial_spec,
        primary_container_name="pytorch",
    )
    model = exp.to_model()
    assert model.spec.trial_template is not None
    assert model.spec.trial_template.trial_spec == trial_spec


def test_wrong_search_bounds_fail_at_the_call() -> None:
    with pytest.raises(SpecError, match=r"search.double.feasibleSpace.min: must be less than max \(got 1.0 >= 0.5\)"):
        search.double(1, 0.5)
    with pytest.raises(SpecError, match=r"search\.categorical\.feasibleSpace\.list: must be a non-empty list"):
        search.categorical([])
    with pytest.raises(SpecError, match="greater than 0 for distribution logUniform"):
        search.double(0, 1, distribution="logUniform")


def test_invalid_experiment_reports_every_problem() -> None:
    exp = Experiment(
        "Bad Name",
        objective=minimize("loss"),
        parameters={"x": search.int(1, 2)},
        algorithm=algorithm("grid"),
        image="img",
        command=["run", "${trialParameters.y}"],
        max_trial_count=10,
    )
    problems = [str(p) for p in exp.validate()]
    assert any(p.startswith("metadata.name:") for p in problems)
    assert any("trialParameters[0].reference: 'y' is neither one of spec.parameters" in p for p in problems)
    assert any("must not exceed the 2 points of the grid" in p for p in problems)
    with pytest.raises(SpecError) as info:
        exp.to_yaml()
    assert len(info.value.problems) == len(problems)


def test_trial_source_must_be_exactly_one() -> None:
    with pytest.raises(SpecError, match="image: an image"):
        Experiment("x", objective=minimize("l"), parameters={"x": search.int(1, 2)}).to_model()
    with pytest.raises(SpecError, match="trial_spec: give either"):
        Experiment(
            "x", objective=minimize("l"), parameters={"x": search.int(1, 2)}, image="i", trial_spec={"kind": "Job"}
        ).to_model()
