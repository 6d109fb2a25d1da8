"""The problems of ``bench/quality.py``: synthetic functions, BBOB through ``ioh``, scikit-learn tasks, a mixed space.

Each problem is a search space written with katib-flow's DSL (so every
contender reads the same bounds, log scales, steps and choices) and a function
of the decoded values ({name: float | int | str}) to minimise.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

import numpy as np

from katib_flow import search
from katib_flow.dsl import SearchParameter
from katib_flow.spec import constants as c

Value = float | int | str
Point = Mapping[str, Value]

SYNTHETIC = "synthetic"
BBOB = "bbob"
SKLEARN = "sklearn"
MIXED = "mixed"


@dataclass(frozen=True)
class Problem:
    name: str
    family: str
    params: dict[str, SearchParameter]
    evaluate: Callable[[Point], float]
    optimum: float | None  # None for the scikit-learn tasks: scored against random and the best ever seen
    budget: int = 100
    notes: str = field(default="", compare=False)


def decode(param: SearchParameter, text: str) -> Value:
    """A Katib assignment string as the value the objective takes."""
    if param.parameter_type == c.PARAM_INT:
        return int(text)
    if param.parameter_type == c.PARAM_CATEGORICAL:
        return text
    return float(text)


# ---- synthetic functions (minimisation, known optima) -------------------------------------------


def _vec(p: Point) -> np.ndarray:
    return np.array([float(p[f"x{i}"]) for i in range(len(p))])


def branin(p: Point) -> float:
    x1, x2 = float(p["x0"]), float(p["x1"])
    b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])
_H6_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann(a: np.ndarray, p: np.ndarray) -> Callable[[Point], float]:
    def f(point: Point) -> float:
        x = _vec(point)
        return float(-np.sum(_H_ALPHA * np.exp(-np.sum(a * (x - p) ** 2, axis=1))))

    return f


def rosenbrock(p: Point) -> float:
    x = _vec(p)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def ackley(p: Point) -> float:
    x = _vec(p)
    d = len(x)
    return float(
        -20 * math.exp(-0.2 * math.sqrt(np.sum(x**2) / d)) - math.exp(np.sum(np.cos(2 * math.pi * x)) / d) + 20 + math.e
    )


def levy(p: Point) -> float:
    w = 1 + (_vec(p) - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    middle = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + middle + tail)


def styblinski_tang(p: Point) -> float:
    x = _vec(p)
    return float(np.sum(x**4 - 16 * x**2 + 5 * x) / 2)


def _box(dims: int, low: float, high: float) -> dict[str, SearchParameter]:
    return {f"x{i}": search.double(low, high) for i in range(dims)}


def synthetic_problems() -> list[Problem]:
    return [
        Problem(
            "branin",
            SYNTHETIC,
            {"x0": search.double(-5, 10), "x1": search.double(0, 15)},
            branin,
            0.397887357729739,
        ),
        Problem("hartmann3", SYNTHETIC, _box(3, 0, 1), _hartmann(_H3_A, _H3_P), -3.86278214782076),
        Problem("hartmann6", SYNTHETIC, _box(6, 0, 1), _hartmann(_H6_A, _H6_P), -3.32236801141551),
        Problem("rosenbrock4", SYNTHETIC, _box(4, -5, 10), rosenbrock, 0.0),
        Problem("ackley5", SYNTHETIC, _box(5, -32.768, 32.768), ackley, 0.0),
        Problem("levy5", SYNTHETIC, _box(5, -10, 10), levy, 0.0),
        Problem("styblinski-tang5", SYNTHETIC, _box(5, -5, 5), styblinski_tang, -39.16616570377142 * 5),
    ]


# ---- BBOB through ioh -------------------------------------------------------------------------

BBOB_FUNCTIONS = {1: "sphere", 8: "rosenbrock", 15: "rastrigin", 21: "gallagher101"}


def _bbob(fid: int, instance: int) -> Callable[[Point], float]:
    @cache
    def problem() -> Any:
        import ioh

        return ioh.get_problem(fid, instance=instance, dimension=5, problem_class=ioh.ProblemClass.BBOB)

    def f(p: Point) -> float:
        return float(problem()(list(_vec(p))))

    return f


def bbob_optimum(fid: int, instance: int) -> float:
    import ioh

    return float(ioh.get_problem(fid, instance=instance, dimension=5, problem_class=ioh.ProblemClass.BBOB).optimum.y)


def bbob_problems(instances: tuple[int, ...] = (1, 2, 3)) -> list[Problem]:
    return [
        Problem(
            f"bbob-f{fid}-{name}-i{instance}", BBOB, _box(5, -5, 5), _bbob(fid, instance), bbob_optimum(fid, instance)
        )
        for fid, name in BBOB_FUNCTIONS.items()
        for instance in instances
    ]


# ---- scikit-learn tasks (3-fold CV error on a fixed split) -----------------------------------------


def _cv_error(estimator: Any, data: tuple[Any, Any]) -> float:
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of badly configured models are part of the task
        scores = cross_val_score(estimator, *data, cv=folds, n_jobs=1, error_score=0.0)
    return float(1 - np.mean(scores))


@cache
def _dataset(name: str) -> tuple[Any, Any]:
    from sklearn import datasets

    loaded = getattr(datasets, f"load_{name}")(return_X_y=True)
    return loaded[0], loaded[1]


def _svc_digits(p: Point) -> float:
    from sklearn.svm import SVC

    model = SVC(C=float(p["C"]), gamma=float(p["gamma"]), kernel=str(p["kernel"]), max_iter=20000)
    return _cv_error(model, _dataset("digits"))


def _hgb_breast_cancer(p: Point) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        learning_rate=float(p["learning_rate"]),
        max_depth=int(p["max_depth"]),
        max_leaf_nodes=int(p["max_leaf_nodes"]),
        l2_regularization=float(p["l2_regularization"]),
        min_samples_leaf=int(p["min_samples_leaf"]),
        max_iter=50,
        early_stopping=False,
        random_state=0,
    )
    return _cv_error(model, _dataset("breast_cancer"))


def _mlp_wine(p: Point) -> float:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(int(p["units"]),),
            alpha=float(p["alpha"]),
            learning_rate_init=float(p["learning_rate_init"]),
            activation=str(p["activation"]),
            max_iter=200,
            random_state=0,
        ),
    )
    return _cv_error(model, _dataset("wine"))


def sklearn_problems() -> list[Problem]:
    log: Final = "logUniform"
    return [
        Problem(
            "svc-digits",
            SKLEARN,
            {
                "C": search.double(1e-3, 1e3, distribution=log),
                "gamma": search.double(1e-5, 1e1, distribution=log),
                "kernel": search.categorical(["rbf", "poly", "sigmoid"]),
            },
            _svc_digits,
            None,
            budget=50,
        ),
        Problem(
            "hgb-breast-cancer",
            SKLEARN,
            {
                "learning_rate": search.double(0.01, 1.0, distribution=log),
                "max_depth": search.int(2, 12),
                "max_leaf_nodes": search.int(4, 64),
                "l2_regularization": search.double(1e-6, 10.0, distribution=log),
                "min_samples_leaf": search.int(2, 50),
            },
            _hgb_breast_cancer,
            None,
            budget=50,
        ),
        Problem(
            "mlp-wine",
            SKLEARN,
            {
                "units": search.int(4, 128),
                "alpha": search.double(1e-6, 1.0, distribution=log),
                "learning_rate_init": search.double(1e-4, 0.1, distribution=log),
                "activation": search.categorical(["relu", "tanh", "logistic"]),
            },
            _mlp_wine,
            None,
            budget=50,
        ),
    ]


# ---- a mixed space ------------------------------------------------------------------------------

_CHOICE_PENALTY = {"adam": 0.0, "rmsprop": 0.4, "sgd": 1.0}


def _mixed(p: Point) -> float:
    """Shifted quadratics over two doubles (one log-scaled), an int, a discrete batch size and a choice."""
    return (
        (math.log10(float(p["lr"])) + 2.5) ** 2
        + 4 * (float(p["dropout"]) - 0.3) ** 2
        + ((int(p["layers"]) - 5) / 3) ** 2
        + (math.log2(float(p["batch"])) - 6) ** 2 / 4
        + _CHOICE_PENALTY[str(p["optimizer"])]
    )


def mixed_problem() -> Problem:
    return Problem(
        "mixed",
        MIXED,
        {
            "lr": search.double(1e-5, 1.0, distribution="logUniform"),
            "dropout": search.double(0.0, 0.8),
            "layers": search.int(1, 12),
            "batch": search.discrete([8, 16, 32, 64, 128, 256, 512]),
            "optimizer": search.categorical(["sgd", "rmsprop", "adam"]),
        },
        _mixed,
        0.0,
    )


def all_problems() -> list[Problem]:
    return [*synthetic_problems(), *bbob_problems(), *sklearn_problems(), mixed_problem()]
