"""The digits experiment in Python (TPE); prints the same YAML as experiment.yaml.

katib-flow run examples/digits/experiment.yaml
"""

from __future__ import annotations

from katib_flow import Experiment, algorithm, early_stopping, maximize, search

experiment = Experiment(
    "digits-tpe",
    objective=maximize("Validation-accuracy", goal=0.99, additional_metrics=["Train-accuracy"]),
    algorithm=algorithm("tpe", random_state=7, n_startup_trials=6),
    early_stopping=early_stopping("medianstop", min_trials_required=4, start_step=3),
    parameters={
        "lr": search.double(0.0005, 0.2, distribution="logUniform"),
        "num-layers": search.int(1, 3),
        "units": search.discrete([16, 32, 64]),
        "optimizer": search.categorical(["sgd", "adam"]),
    },
    image="python:3.11-slim",
    command=[
        "python3",
        "train.py",
        "--lr=${trialParameters.lr}",
        "--num-layers=${trialParameters.numLayers}",
        "--units=${trialParameters.units}",
        "--optimizer=${trialParameters.optimizer}",
        "--epochs=8",
    ],
    trial_parameters={"numLayers": "num-layers"},
    max_trial_count=16,
    parallel_trial_count=2,
    max_failed_trial_count=3,
)

if __name__ == "__main__":
    print(experiment.to_yaml(), end="")
