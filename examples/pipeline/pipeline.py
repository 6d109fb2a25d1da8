"""A Hera pipeline with hyperparameter tuning as one of its steps: preprocess -> tune -> train the final model.

The tuning step is katib-flow's experiment, added to this Workflow with
prefixed template names (``hpo-...``); the final training step receives the
best parameter assignments as a JSON object. Print the Workflow with::

    python examples/pipeline/pipeline.py > pipeline.yaml
    argo submit -n katib-flow pipeline.yaml   # the namespace `kubectl apply -k manifests/` installs into

The trials' Jobs are created in the Workflow's namespace. If the experiment
fails, the tuning step fails and so does the pipeline; to go on regardless,
give the step ``continue_on=ContinueOn(failed=True)`` and read the outcome
from the global outputs ``{{workflow.outputs.parameters.hpo-succeeded}}`` and
``hpo-reason`` (a failed step has no outputs of its own).

For an experiment larger than one Workflow generation (parallelTrialCount x 90
trials), apply ``katib-flow compile --template`` and invoke the template with
``template_ref=hpo_template_ref(experiment)`` instead of ``hpo_templates``.
"""

from __future__ import annotations

from hera.workflows import Container, Parameter, Steps, Workflow

from katib_flow import Experiment, algorithm, minimize, search
from katib_flow.argo import CompileOptions, hpo_templates
from katib_flow.spec import Experiment as ExperimentModel

# A stand-in training program: the loss is smallest near lr = 0.01, momentum = 0.9.
TRAIN = (
    "import math, sys\n"
    "lr, momentum = float(sys.argv[1]), float(sys.argv[2])\n"
    "for epoch in range(3):\n"
    "    loss = (math.log10(lr) + 2) ** 2 + (momentum - 0.9) ** 2 + 0.05 / (epoch + 1)\n"
    "    print(f'epoch {epoch}: loss={loss:.5f}')\n"
)
FINAL = (
    "import json, sys\n"
    "best = json.loads(sys.argv[1])\n"
    "print('training the final model with', ', '.join(f'{k}={v}' for k, v in sorted(best.items())))\n"
)


def experiment() -> ExperimentModel:
    return Experiment(
        "pipeline-hpo",
        objective=minimize("loss"),
        algorithm=algorithm("random", random_state=7),
        parameters={"lr": search.double(0.001, 0.1, distribution="logUniform"), "momentum": search.double(0.5, 0.99)},
        image="python:3.11-slim",
        command=["python3", "-c", TRAIN, "${trialParameters.lr}", "${trialParameters.momentum}"],
        max_trial_count=6,
        parallel_trial_count=2,
        max_failed_trial_count=2,
    ).to_model()


def build_pipeline(options: CompileOptions | None = None) -> Workflow:
    with Workflow(generate_name="train-with-hpo-", entrypoint="pipeline", service_account_name="katib-flow") as w:
        preprocess = Container(
            name="preprocess",
            image="python:3.11-slim",
            command=["python3", "-c", "print('prepared 1797 samples')"],
        )
        tune = hpo_templates(experiment(), options, prefix="hpo-")
        train = Container(
            name="train-final-model",
            image="python:3.11-slim",
            command=["python3", "-c", FINAL],
            args=["{{inputs.parameters.params}}"],
            inputs=[Parameter(name="params")],
        )
        with Steps(name="pipeline"):
            preprocess(name="preprocess")
            tune(name="tune")
            train(name="train", arguments={"params": "{{steps.tune.outputs.parameters.best-parameters}}"})
    return w


if __name__ == "__main__":
    print(build_pipeline().to_yaml(), end="")
