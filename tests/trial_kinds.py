"""Trial specs of the kinds Katib runs besides Job and the Kubeflow jobs, shaped as Katib's own examples.

Katib's examples (``examples/v1beta1/argo/argo-workflow.yaml``,
``kubeflow-trainer/trainjob-pytorch.yaml``, ``tekton/pipeline-run.yaml``) are not
in ../shared; these are their trial templates, cut to what the tests need.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

ARGO_WORKFLOW: dict[str, Any] = {
    "primaryPodLabels": {"katib.kubeflow.org/model-training": "true"},
    "primaryContainerName": "main",
    "successCondition": 'status.[@this].#(phase=="Succeeded")#',
    "failureCondition": 'status.[@this].#(phase=="Failed")#',
    "trialParameters": [
        {"name": "learningRate", "reference": "lr"},
        {"name": "trialName", "reference": "${trialSpec.Name}"},
    ],
    "trialSpec": {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"labels": {"run": "${trialParameters.trialName}"}},
        "spec": {
            "entrypoint": "hp-workflow",
            "templates": [
                {
                    "name": "hp-workflow",
                    "steps": [[{"name": "data-preprocessing", "template": "gen-epochs"}]],
                },
                {
                    "name": "gen-epochs",
                    "script": {"image": "python:alpine3.6", "command": ["python"], "source": "print(3)"},
                },
                {
                    "name": "model-training",
                    "metadata": {"labels": {"katib.kubeflow.org/model-training": "true"}},
                    "container": {
                        "name": "model-training",
                        "image": "ghcr.io/kubeflow/katib/pytorch-mnist-cpu:latest",
                        "command": ["python3", "/opt/pytorch-mnist/mnist.py", "--lr=${trialParameters.learningRate}"],
                    },
                },
            ],
        },
    },
}

TRAIN_JOB: dict[str, Any] = {
    "primaryContainerName": "node",
    "trialParameters": [
        {"name": "learningRate", "reference": "lr"},
        {"name": "trialKind", "reference": "${trialSpec.Kind}"},
        {"name": "trialName", "reference": "${trialSpec.Name}"},
    ],
    "trialSpec": {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "metadata": {"annotations": {"trial": "${trialParameters.trialName}", "kind": "${trialParameters.trialKind}"}},
        "spec": {
            "runtimeRef": {"name": "torch-distributed"},
            "trainer": {
                "numNodes": 2,
                "image": "docker.io/kubeflowkatib/pytorch-mnist:v1beta1-45c5727",
                "command": ["python3", "/opt/pytorch-mnist/mnist.py", "--lr=${trialParameters.learningRate}"],
            },
        },
    },
}

# Katib's Tekton example is invalid under Katib's own webhook: the trialSpec says $(params.lr), never
# ${trialParameters.learningRate}.
TEKTON: dict[str, Any] = {
    "primaryPodLabels": {"tekton.dev/pipelineTask": "model-training"},
    "primaryContainerName": "step-model-training",
    "successCondition": 'status.conditions.#(type=="Succeeded")#|#(status=="True")#',
    "failureCondition": 'status.conditions.#(type=="Succeeded")#|#(status=="False")#',
    "trialParameters": [{"name": "learningRate", "reference": "lr"}],
    "trialSpec": {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "PipelineRun",
        "spec": {
            "params": [{"name": "learningRate", "reference": "lr"}],
            "pipelineSpec": {
                "tasks": [
                    {
                        "name": "model-training",
                        "taskSpec": {
                            "steps": [
                                {
                                    "name": "model-training",
                                    "image": "docker.io/kubeflowkatib/mxnet-mnist:latest",
                                    "command": ["python3", "/opt/mxnet-mnist/mnist.py", "--lr=$(params.lr)"],
                                }
                            ]
                        },
                    }
                ]
            },
        },
    },
}

CUSTOM_KIND: dict[str, Any] = {
    "primaryContainerName": "learner",
    "successCondition": 'status.conditions.#(type=="Done")#|#(status=="True")#',
    "failureCondition": 'status.conditions.#(type=="Failed")#|#(status=="True")#',
    "trialParameters": [{"name": "learningRate", "reference": "lr"}],
    "trialSpec": {
        "apiVersion": "example.com/v1",
        "kind": "Training",
        "spec": {"learner": {"image": "trainer:1", "lr": "${trialParameters.learningRate}"}},
    },
}


def experiment_with(template: dict[str, Any], name: str = "kinds") -> dict[str, Any]:
    """A valid experiment document whose trialTemplate is ``template``."""
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name},
        "spec": {
            "objective": {"type": "minimize", "objectiveMetricName": "loss"},
            "algorithm": {"algorithmName": "random", "algorithmSettings": [{"name": "random_state", "value": "5"}]},
            "parallelTrialCount": 1,
            "maxTrialCount": 2,
            "maxFailedTrialCount": 2,
            "parameters": [{"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.03"}}],
            "trialTemplate": copy.deepcopy(template),
        },
    }


def local_train_job(script: str) -> dict[str, Any]:
    """The TrainJob template with its trainer running ``script`` (a stand-in for the MNIST image) locally."""
    template = copy.deepcopy(TRAIN_JOB)
    template["trialSpec"]["spec"]["trainer"]["command"] = [
        sys.executable,
        script,
        "--x=${trialParameters.learningRate}",
    ]
    return template


def move_to_config_map(doc: dict[str, Any]) -> dict[str, Any]:
    """Move ``doc``'s trialSpec into ConfigMap kubeflow/trial-templates (key defaultTrialTemplate.yaml); the spec.

    A ConfigMap template's kind is unknown when Katib applies its defaults, so the conditions are written out.
    """
    template = doc["spec"]["trialTemplate"]
    trial_spec: dict[str, Any] = template.pop("trialSpec")
    template["configMap"] = {
        "configMapName": "trial-templates",
        "configMapNamespace": "kubeflow",
        "templatePath": "defaultTrialTemplate.yaml",
    }
    template.setdefault("successCondition", 'status.conditions.#(type=="Complete")#|#(status=="True")#')
    template.setdefault("failureCondition", 'status.conditions.#(type=="Failed")#|#(status=="True")#')
    return trial_spec


def config_map(trial_spec: dict[str, Any]) -> dict[str, Any]:
    """The ConfigMap manifest holding ``trial_spec`` where :func:`move_to_config_map` points."""
    import yaml

    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "trial-templates", "namespace": "kubeflow"},
        "data": {"defaultTrialTemplate.yaml": yaml.safe_dump(trial_spec)},
    }
