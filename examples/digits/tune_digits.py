"""The digits search through tune(): the training function runs once per trial, in its own process.

python examples/digits/tune_digits.py
"""

from __future__ import annotations

from katib_flow import search, tune


def train(params: dict[str, object]) -> dict[str, float]:
    # Self-contained: tune() ships this function's source to each trial process.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    model = MLPClassifier(
        hidden_layer_sizes=(int(params["units"]),) * int(params["num_layers"]),
        learning_rate_init=float(params["lr"]),
        solver=str(params["optimizer"]),
        max_iter=60,
        random_state=0,
    )
    return {"accuracy": float(cross_val_score(model, X / 16.0, y, cv=3).mean())}


if __name__ == "__main__":
    best = tune(
        train,
        {
            "lr": search.double(0.0005, 0.2, distribution="logUniform"),
            "num_layers": search.int(1, 3),
            "units": search.discrete([16, 32, 64]),
            "optimizer": search.categorical(["sgd", "adam"]),
        },
        objective_metric_name="accuracy",
        algorithm_name="tpe",
        algorithm_settings={"random_state": 7, "n_startup_trials": 5},
        max_trial_count=12,
        parallel_trial_count=2,
        progress="lines",
    )
    print(f"best accuracy {best.objective:.4f} with {best.parameters} ({best.trial})")
