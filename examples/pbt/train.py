"""A PBT trial that really resumes: SGD on scikit-learn's bundled digits, warm-started from its checkpoint.

Each trial trains ``--epochs`` more epochs of a linear classifier (SGD, hinge
loss) with its own learning rate and regularisation, starting from the model in
``--checkpoint`` if one is there (its parent's, copied in by katib-flow), then
saves the model back. So a trial of generation 3 continues a model trained by
its ancestors, with the hyperparameters PBT chose for this stretch: the
learning rate schedule is found by the population, not fixed in advance.

Prints ``epoch N: Validation-accuracy=...`` for Katib's StdOut collector.
"""

from __future__ import annotations

import argparse
import pickle
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--checkpoint", type=Path, required=True)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x_train, x_valid, y_train, y_valid = train_test_split(x, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_valid = scaler.transform(x_train), scaler.transform(x_valid)

    state = args.checkpoint / "model.pkl"
    if state.exists():  # the parent's model: continue training it with this trial's hyperparameters
        with state.open("rb") as f:
            model, epoch = pickle.load(f)
        model.set_params(eta0=args.lr, alpha=args.alpha)
    else:
        model = SGDClassifier(learning_rate="constant", eta0=args.lr, alpha=args.alpha, random_state=0)
        epoch = 0
    classes = np.unique(y)
    rng = np.random.default_rng(epoch)
    for _ in range(args.epochs):
        order = rng.permutation(len(x_train))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(x_train[order], y_train[order], classes=classes)
        epoch += 1
        print(f"epoch {epoch}: Validation-accuracy={model.score(x_valid, y_valid):.4f}", flush=True)
    args.checkpoint.mkdir(parents=True, exist_ok=True)
    with state.open("wb") as f:
        pickle.dump((model, epoch), f)


if __name__ == "__main__":
    main()
