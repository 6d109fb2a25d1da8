"""A stand-in training script: prints per-epoch metrics the way Katib's StdOut collector reads them.

The "model" is a noisy quadratic bowl, so an experiment over it finishes in
seconds and has a known optimum (lr=0.03, momentum=0.7, optimizer=adam).
"""

from __future__ import annotations

import argparse
import math
import random


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--momentum", type=float, required=True)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], required=True)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(f"{args.lr}-{args.momentum}-{args.optimizer}")
    floor = 100 * (args.lr - 0.03) ** 2 + (args.momentum - 0.7) ** 2 + (0.0 if args.optimizer == "adam" else 0.05)
    for epoch in range(1, args.epochs + 1):
        loss = floor + math.exp(-epoch) * 0.5 + rng.uniform(0, 0.01)
        accuracy = 1.0 / (1.0 + loss)
        print(f"epoch {epoch}: loss={loss:.6f} accuracy={accuracy:.6f}", flush=True)


if __name__ == "__main__":
    main()
