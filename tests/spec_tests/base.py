"""A small valid experiment and helpers to break it one field at a time."""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

BASE_YAML = """
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: base
spec:
  objective:
    type: maximize
    goal: 0.99
    objectiveMetricName: accuracy
    additionalMetricNames: [loss]
  algorithm:
    algorithmName: random
  parallelTrialCount: 2
  maxTrialCount: 6
  maxFailedTrialCount: 2
  parameters:
    - name: lr
      parameterType: double
      feasibleSpace: {min: "0.01", max: "0.1"}
    - name: layers
      parameterType: int
      feasibleSpace: {min: "1", max: "4"}
    - name: optimizer
      parameterType: categorical
      feasibleSpace: {list: [sgd, adam]}
    - name: batch
      parameterType: discrete
      feasibleSpace: {list: ["16", "32"]}
  trialTemplate:
    primaryContainerName: training
    trialParameters:
      - {name: lr, reference: lr}
      - {name: layers, reference: layers}
      - {name: optimizer, reference: optimizer}
      - {name: batch, reference: batch}
    trialSpec:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            containers:
              - name: training
                image: python:3.11
                command:
                  - python3
                  - train.py
                  - "--lr=${trialParameters.lr}"
                  - "--layers=${trialParameters.layers}"
                  - "--optimizer=${trialParameters.optimizer}"
                  - "--batch=${trialParameters.batch}"
            restartPolicy: Never
"""

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def base() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(BASE_YAML)
    return copy.deepcopy(loaded)


def _steps(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _STEP.findall(path)]


def _parent(doc: dict[str, Any], path: str) -> tuple[Any, str | int]:
    steps = _steps(path)
    node: Any = doc
    for step in steps[:-1]:
        node = node[step]
    return node, steps[-1]


def set_(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set the value at ``spec.parameters[0].name``-style ``path`` (creating the last key)."""
    node, last = _parent(doc, path)
    node[last] = value
    return doc


def del_(doc: dict[str, Any], path: str) -> dict[str, Any]:
    node, last = _parent(doc, path)
    del node[last]
    return doc


def get(doc: dict[str, Any], path: str) -> Any:
    node, last = _parent(doc, path)
    return node[last]


COMMAND = "spec.trialTemplate.trialSpec.spec.template.spec.containers[0].command"
