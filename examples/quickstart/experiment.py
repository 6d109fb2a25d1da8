"""The quickstart experiment built in Python; prints the same YAML as experiment.yaml.

python examples/quickstart/experiment.py > /tmp/quickstart.yaml
"""

from __future__ import annotations

from katib_flow import Experiment, algorithm, minimize, search

experiment = Experiment(
    "quickstart",
    objective=minimize("loss", goal=0.001, additional_metrics=["accuracy"]),
    algorithm=algorithm("random", random_state=42),
    parameters={
        "lr": search.double(0.001, 0.1, distribution="logUniform"),
        "momentum": search.double(0.5, 0.95),
        "optimizer": search.categorical(["sgd", "adam"]),
    },
    image="python:3.11-slim",
    command=[
        "python3",
        "train.py",
        "--lr=${trialParameters.lr}",
        "--momentum=${trialParameters.momentum}",
        "--optimizer=${trialParameters.optimizer}",
    ],
    max_trial_count=12,
    parallel_trial_count=2,
    max_failed_trial_count=3,
)

if __name__ == "__main__":
    print(experiment.to_yaml(), end="")
