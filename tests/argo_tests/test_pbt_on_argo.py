"""PBT on Argo: Katib's simple-pbt validates and compiles; a run keeps each trial's checkpoint on the claim."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from katib_flow.argo.compiler import compile_workflow
from katib_flow.exceptions import SpecError
from katib_flow.spec import Experiment, check

from ..cluster_tests.fake_kubernetes import FakeKubernetes, fake_kubernetes
from ..runner_tests.test_pbt_run import PROGRAM, pbt_experiment
from .test_workflow_runs import run_on_argo, sqlite_url

# Katib's examples/v1beta1/hp-tuning/simple-pbt.yaml (github.com/kubeflow/katib), as published.
SIMPLE_PBT = """
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata:
  namespace: kubeflow
  name: simple-pbt
spec:
  maxTrialCount: 2
  parallelTrialCount: 2
  maxFailedTrialCount: 3
  resumePolicy: FromVolume
  objective:
    type: maximize
    goal: 0.99
    objectiveMetricName: Validation-accuracy
  algorithm:
    algorithmName: pbt
    algorithmSettings:
      - name: suggestion_trial_dir
        value: /var/log/katib/checkpoints/
      - name: n_population
        value: '40'
      - name: truncation_threshold
        value: '0.2'
  parameters:
    - name: lr
      parameterType: double
      feasibleSpace:
        min: '0.0001'
        max: '0.02'
        step: '0.0001'
  trialTemplate:
    primaryContainerName: training-container
    trialParameters:
      - name: learningRate
        description: Learning rate for training the model
        reference: lr
    trialSpec:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            containers:
              - name: training-container
                image: ghcr.io/kubeflow/katib/simple-pbt:latest
                command:
                  - "python3"
                  - "/opt/pbt/pbt_test.py"
                  - "--epochs=20"
                  - "--lr=${trialParameters.learningRate}"
                  - "--checkpoint=/var/log/katib/checkpoints/"
            restartPolicy: Never
"""


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with fake_kubernetes() as (state, _):
        yield state


def test_katibs_simple_pbt_validates_once_its_budgets_agree_and_compiles() -> None:
    document = yaml.safe_load(SIMPLE_PBT)
    with pytest.raises(SpecError) as refused:  # Katib refuses it too: more failures allowed than trials
        check(Experiment.model_validate(document))
    assert [p.path for p in refused.value.problems] == ["spec.maxFailedTrialCount"]
    document["spec"]["maxFailedTrialCount"] = 2
    workflow = yaml.safe_load(compile_workflow(Experiment.model_validate(document)).to_yaml())
    suggest = next(t for t in workflow["spec"]["templates"] if t["name"] == "suggest")
    assert "--metrics-root" in suggest["container"]["args"]  # it makes the checkpoint folders on the claim
    assert suggest["volumes"][0]["persistentVolumeClaim"]["claimName"] == "katib-flow-metrics"


def test_a_population_runs_on_argo_each_trial_from_its_parents_checkpoint_on_the_claim(
    kube: FakeKubernetes, tmp_path: Path
) -> None:
    (tmp_path / "program.py").write_text(PROGRAM)
    document = pbt_experiment("pbt-argo", trials=7)
    container = document["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    container["command"][1] = str(tmp_path / "program.py")
    argo = run_on_argo(Experiment.model_validate(document), sqlite_url(tmp_path), kube, tmp_path / "argo")
    assert argo.global_outputs["trials"] == "7/7"
    folders = tmp_path / "argo" / "metrics-pvc" / "checkpoints" / "pbt-argo"
    jobs = kube.ever_created("Job")
    assert len(jobs) == 7
    for job in jobs:
        name = job["metadata"]["name"]
        (mount,) = [
            m
            for m in job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
            if m["mountPath"] == "/var/log/katib/checkpoints"
        ]
        assert mount["subPath"] == f"checkpoints/pbt-argo/{name}"  # Katib's <experiment>/<trial>
        lineage = json.loads((folders / name / "lineage.json").read_text())
        assert lineage[-1] == name
        if len(lineage) > 1:  # generation 1: the parent's lineage, copied in by suggest before the Job ran
            assert json.loads((folders / lineage[-2] / "lineage.json").read_text()) == lineage[:-1]
    lengths = [len(json.loads((folders / job["metadata"]["name"] / "lineage.json").read_text())) for job in jobs]
    assert sorted(lengths) == [1] * 5 + [2] * 2  # generation 0, then two members of generation 1


# A stand-in for Katib's simple-pbt image (/opt/pbt/pbt_test.py): the same flags, a checkpoint read if present
# and written back, the same output line.
STAND_IN = r"""
import argparse, os, pickle
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
parser.add_argument("--epochs", type=int)
parser.add_argument("--checkpoint")
opt = parser.parse_args()
path = os.path.join(opt.checkpoint, "training.ckpt")
state = pickle.load(open(path, "rb")) if os.path.exists(path) else {"step": 1, "accuracy": 0.0}
state["accuracy"] = min(100.0, state["accuracy"] + 100 * opt.lr * opt.epochs)
state["step"] += opt.epochs
os.makedirs(opt.checkpoint, exist_ok=True)
pickle.dump(state, open(path, "wb"))
print(f"epoch {state['step']}:\nlr={opt.lr:0.4f}\nValidation-accuracy={state['accuracy'] / 100:0.4f}")
"""


def test_katibs_simple_pbt_runs_locally_with_a_stand_in_for_its_image(tmp_path: Path) -> None:
    from katib_flow.runner import run_experiment

    (tmp_path / "pbt_test.py").write_text(STAND_IN)
    document = yaml.safe_load(SIMPLE_PBT)
    document["spec"]["maxFailedTrialCount"] = 2
    container = document["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]
    container["command"][:2] = [sys.executable, str(tmp_path / "pbt_test.py")]
    result = run_experiment(
        Experiment.model_validate(document), db=f"sqlite:///{tmp_path / 'db.sqlite'}", workdir=tmp_path / "work"
    )
    assert result.reason == "ExperimentMaxTrialsReached"
    assert result.status["trialsSucceeded"] == 2
    folders = tmp_path / "work" / "runs" / "kubeflow.simple-pbt" / "checkpoints"
    assert sorted(p.name for p in folders.iterdir()) == sorted(result.status["succeededTrialList"])
    assert all((folder / "training.ckpt").is_file() for folder in folders.iterdir())
    assert not (Path("/var/log/katib/checkpoints") / "training.ckpt").exists()  # nothing written outside the workdir
