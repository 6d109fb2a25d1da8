"""Train a small MLP on scikit-learn's bundled digits and print Katib-style metrics per epoch.

    python train.py --lr=0.01 --num-layers=2 --optimizer=adam --epochs=10

Prints ``Validation-accuracy=...`` and ``Train-accuracy=...`` lines, which
Katib's default StdOut filter (and katib-flow's) picks up.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--num-layers", type=int, default=1)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    model = MLPClassifier(
        hidden_layer_sizes=(args.units,) * args.num_layers,
        solver=args.optimizer,
        learning_rate_init=args.lr,
        random_state=0,
    )
    classes = np.unique(y)
    for epoch in range(1, args.epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X_train, y_train, classes=classes)
        train_accuracy = model.score(X_train, y_train)
        val_accuracy = model.score(X_val, y_val)
        print(f"epoch {epoch}: Train-accuracy={train_accuracy:.4f} Validation-accuracy={val_accuracy:.4f}", flush=True)


if __name__ == "__main__":
    main()
