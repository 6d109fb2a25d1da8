"""``bayesianoptimization``: scikit-optimize's ``Optimizer`` with Katib's settings, made fast.

Katib's skopt service refits a Gaussian process with hyperparameter search for
every point it asks and every lie it tells, so a suggestion takes seconds at
100 trials and minutes at 500. Here the history is told in one fit, kernel
hyperparameters are fitted on at most ``MAX_FIT_POINTS`` trials (the best half
and an even spread of the rest) and then kept fixed for the exact fit on every
trial, and past ``LBFGS_MAX_TRIALS`` the acquisition is optimised by sampling. The effect on
optimisation quality is measured by ``bench/quality.py``; the speed by
``bench/suggest_latency.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import solve_triangular
from sklearn.base import clone
from skopt import Optimizer
from skopt.learning import GaussianProcessRegressor
from skopt.learning.gaussian_process.gpr import _param_for_white_kernel_in_Sum
from skopt.learning.gaussian_process.kernels import WhiteKernel
from skopt.space import Categorical, Dimension, Integer, Real
from skopt.utils import cook_estimator

from ..history import Proposal, TrialRecord, finite_objective
from ..space import (
    CategoricalParameter,
    DiscreteParameter,
    DoubleParameter,
    IntParameter,
    Parameter,
    step_count,
    step_value,
)
from ..spec import constants as c
from ._values import draw_free, finite_size, point_key, snap, taken_keys
from .base import Suggester
from .settings import BayesianOptimizationSettings

__all__ = ["MAX_FIT_POINTS", "SkoptBayesianSuggester", "SubsampledGaussianProcess", "fitted_kernel"]

MAX_FIT_POINTS = 120
# scikit-optimize's (and so Katib's) acquisition search: 10,000 candidates, L-BFGS from the best 5.
# A 2,000/2 search was twice as fast and found Hartmann6's global basin less often (bench/quality.py).
ACQ_POINTS = 10000
ACQ_RESTARTS = 5
LBFGS_MAX_TRIALS = 150
SAMPLING_POINTS = 1000
# A GP's exact fit and posterior are cubic and quadratic in the trials it holds; past this many
# finished trials it holds the best half and the most recent half (a documented history bound).
MAX_HISTORY = 500
_THETA = "gp_theta"
_HEDGED = ("EI", "PI", "LCB")


class SubsampledGaussianProcess(GaussianProcessRegressor):  # type: ignore[misc]
    """skopt's GP, with kernel hyperparameters fitted on at most ``max_fit_points`` points.

    Hyperparameter search costs a Cholesky factorisation per likelihood
    evaluation, cubic in the number of points; the final fit with the found
    hyperparameters costs one. Fitting them on a bounded subset keeps each
    suggestion under a second at 500 trials.
    """

    def __init__(
        self,
        kernel: Any = None,
        alpha: float = 1e-10,
        optimizer: Any = "fmin_l_bfgs_b",
        n_restarts_optimizer: int = 0,
        normalize_y: bool = False,
        copy_X_train: bool = True,
        random_state: Any = None,
        noise: Any = None,
        max_fit_points: int | None = None,
        warm_theta: Any = None,
    ) -> None:
        super().__init__(
            kernel=kernel,
            alpha=alpha,
            optimizer=optimizer,
            n_restarts_optimizer=n_restarts_optimizer,
            normalize_y=normalize_y,
            copy_X_train=copy_X_train,
            random_state=random_state,
            noise=noise,
        )
        self.max_fit_points = max_fit_points
        self.warm_theta = warm_theta

    def fit(self, X: ArrayLike, y: ArrayLike) -> SubsampledGaussianProcess:
        if self.warm_theta is None or self.optimizer is None:
            return self._fit(X, y)
        # A search started only from the previous call's optimum can stay in a degenerate one for the
        # whole experiment (every length scale at its bound, all variation called noise), so the
        # default start is searched too and the better likelihood wins.
        kernel = self.kernel.clone_with_theta(
            np.clip(self.warm_theta, self.kernel.bounds[:, 0], self.kernel.bounds[:, 1])
        )
        cold = clone(self).set_params(warm_theta=None)._fit(X, y)
        warm = clone(self).set_params(warm_theta=None, kernel=kernel)._fit(X, y)
        best = max((cold, warm), key=lambda gp: gp.log_marginal_likelihood_value_)
        init_params = self.get_params(deep=False)
        self.__dict__.update(best.__dict__)
        self.set_params(**init_params)
        return self

    def _fit(self, X: ArrayLike, y: ArrayLike) -> SubsampledGaussianProcess:
        X_arr, y_arr = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        if self.max_fit_points is None or len(X_arr) <= self.max_fit_points or self.optimizer is None:
            super().fit(X_arr, y_arr)
            return self
        probe = clone(self).set_params(max_fit_points=None, warm_theta=None)
        subset = _subset(y_arr, self.max_fit_points)
        probe.fit(X_arr[subset], y_arr[subset])
        final = clone(self).set_params(
            kernel=fitted_kernel(probe), optimizer=None, max_fit_points=None, warm_theta=None
        )
        final.fit(X_arr, y_arr)
        init_params = self.get_params(deep=False)
        self.__dict__.update(final.__dict__)
        self.set_params(**init_params)
        return self

    def predict(
        self,
        X: ArrayLike,
        return_std: bool = False,
        return_cov: bool = False,
        return_mean_grad: bool = False,
        return_std_grad: bool = False,
    ) -> Any:
        """skopt's posterior, with the variance computed through BLAS.

        skopt evaluates ``einsum("ki,kj,ij->k", K, K, K_inv)`` without
        contraction planning, which dominates the acquisition optimiser's time
        from a few hundred trials on; a triangular solve with the Cholesky
        factor gives the same variance faster and without cancellation.
        """
        if return_cov or not return_std or not hasattr(self, "X_train_"):
            return super().predict(X, return_std, return_cov, return_mean_grad, return_std_grad)
        X_arr = np.atleast_2d(np.asarray(X, dtype=float))
        if X_arr.shape[0] != 1 and (return_mean_grad or return_std_grad):
            raise ValueError("Not implemented for n_samples > 1")
        k_trans = self.kernel_(X_arr, self.X_train_)
        y_mean = self.y_train_std_ * (k_trans @ self.alpha_) + self.y_train_mean_
        # Through the Cholesky factor: as fast, and stable where K_inv loses the small variances.
        w = solve_triangular(self.L_, k_trans.T, lower=True, check_finite=False)
        y_var = self.kernel_.diag(X_arr) - np.einsum("ij,ij->j", w, w)
        y_std = np.sqrt(np.maximum(y_var, 0.0) * self.y_train_std_**2)
        if not return_mean_grad:
            return y_mean, y_std
        grad = self.kernel_.gradient_x(X_arr[0], self.X_train_)
        grad_mean = (grad.T @ self.alpha_) * self.y_train_std_
        if not return_std_grad:
            return y_mean, y_std, grad_mean
        grad_std = np.zeros(X_arr.shape[1])
        if not np.allclose(y_std, grad_std):
            grad_std = -(k_trans @ (self.K_inv_ @ grad))[0] / y_std * self.y_train_std_**2
        return y_mean, y_std, grad_mean, grad_std


def fitted_kernel(gp: GaussianProcessRegressor) -> Any:
    """The fitted kernel of ``gp`` with its learned noise level put back (skopt zeroes it for prediction)."""
    kernel = clone(gp.kernel_)
    present, white = _param_for_white_kernel_in_Sum(kernel)
    if present and gp.noise_ is not None:
        kernel.set_params(**{white: WhiteKernel(noise_level=gp.noise_)})
    return kernel


def _subset_best_recent(y: np.ndarray, size: int) -> list[int]:
    """Indices of the best ``size // 2`` observations and the most recent others, in history order."""
    best = set(np.argsort(y, kind="stable")[: size // 2].tolist())
    recent = [i for i in range(len(y) - 1, -1, -1) if i not in best][: size - len(best)]
    return sorted(best | set(recent))


def _subset(y: np.ndarray, size: int) -> np.ndarray:
    """Indices of the best ``size // 2`` points and an even spread of the others (deterministic)."""
    order = np.argsort(y, kind="stable")
    best = order[: size // 2]
    rest = np.sort(order[size // 2 :])
    spread = rest[np.linspace(0, len(rest) - 1, size - len(best)).round().astype(int)]
    return np.sort(np.concatenate([best, spread]))


@dataclass(frozen=True)
class _Axis:
    """One optimiser dimension and how Katib strings map onto it."""

    dimension: Dimension
    encode: Callable[[str], Any]
    decode: Callable[[Any], str]


def _axis(p: Parameter) -> _Axis | None:
    """The skopt dimension of a parameter, honouring its distribution; None for a single-valued one."""
    if isinstance(p, (CategoricalParameter, DiscreteParameter)):
        if len(p.values) < 2:
            return None
        if isinstance(p, DiscreteParameter):
            # Discrete values are numbers: optimised over their rank, so the model sees that 64 lies
            # between 32 and 128. One-hot, as Katib's skopt service has them, 12 of 20 sequential
            # runs on the quality benchmark's mixed space ended one power of two off the best batch.
            ordered = sorted(p.values, key=lambda v: p.numbers[p.values.index(v)])
            return _Axis(Integer(0, len(ordered) - 1), ordered.index, partial(_nth, ordered))
        return _Axis(Categorical(list(p.values), transform="onehot"), str, str)
    count = step_count(p)
    if count is not None and count < 2:
        return None
    log = p.distribution in (c.DIST_LOG_UNIFORM, c.DIST_LOG_NORMAL)
    prior = "log-uniform" if log else "uniform"
    if isinstance(p, IntParameter) and (p.step or 1) == 1:
        return _Axis(Integer(p.min, p.max, prior=prior), int, _int_text)
    if count is not None and not log:
        # A stepped range is optimised over its step index, so every proposal lies on the grid.
        return _Axis(Integer(0, count - 1), partial(_step_index, p), partial(_step_text, p))
    return _Axis(Real(float(p.min), float(p.max), prior=prior), float, partial(_snap_text, p))


def _nth(values: list[str], k: Any) -> str:
    return values[int(k)]


def _int_text(x: Any) -> str:
    return str(int(x))


def _step_index(p: DoubleParameter | IntParameter, text: str) -> int:
    return round((float(text) - p.min) / float(p.step or 1))


def _step_text(p: DoubleParameter | IntParameter, k: Any) -> str:
    return step_value(p, int(k))


def _snap_text(p: DoubleParameter | IntParameter, x: Any) -> str:
    return snap(p, float(x))


class SkoptBayesianSuggester(Suggester[BayesianOptimizationSettings]):
    """Bayesian optimisation with scikit-optimize (GP, RF, ET or GBRT surrogates).

    Each parameter keeps its distribution (Katib forces log-uniform on every
    double). Running trials, and each point already chosen for a batch, are
    told with the model's prediction there (the kriging believer), so a batch
    spreads out instead of repeating one point; Katib's skopt service tells
    the best value seen so far (``cl_min``), which pulled the points of a batch
    towards each other and left 4-point batches a decade behind sequential
    ones on Hartmann6 (bench/quality.py).
    ``gp_hedge`` picks EI, PI or LCB uniformly for each proposal, which is what
    skopt's hedge does while its gains are equal; the gains themselves are not
    carried between calls.
    """

    settings_class = BayesianOptimizationSettings

    def suggest(self, history: Sequence[TrialRecord], n: int) -> list[Proposal]:
        params = list(self.space.parameters)
        axes = [_axis(p) for p in params]
        active = [(p, a) for p, a in zip(params, axes, strict=True) if a is not None]
        constants = {p.name: _only_value(p) for p, a in zip(params, axes, strict=True) if a is None}
        if not active:
            return [] if history else [Proposal(dict(constants))]
        seed = self.call_seed(history)
        dimensions = [a.dimension for _, a in active]
        X, y, pending = self._observations(history, active)
        if self.settings.base_estimator == "GP" and len(X) > MAX_HISTORY:
            keep = _subset_best_recent(np.asarray(y), MAX_HISTORY)
            X, y = [X[i] for i in keep], [y[i] for i in keep]
        optimizer = self._optimizer(dimensions, seed, _last_theta(history), len(X) + len(pending))
        data: dict[str, Any] = {}
        hedge = self.settings.acq_func == "gp_hedge"
        rng = self.call_rng(history, "acquisition")
        raw: list[list[Any]] = []
        with warnings.catch_warnings():
            # skopt warns when a proposal repeats an evaluated point; duplicates are handled below.
            warnings.simplefilter("ignore")
            if hedge:
                _hedge(optimizer, rng)
            if not y:
                # Nothing finished yet, nothing to model: random points, as skopt's first ones are.
                raw = optimizer.space.rvs(n_samples=n, random_state=optimizer.rng)
            else:
                self._tell_history(optimizer, X, y, pending, data)
                # Kriging believer, one acquisition per point: each chosen point is told with the
                # model's own prediction there. For a GP that leaves the posterior mean as it was
                # and only removes the uncertainty around the point, so the next one goes where
                # the model still expects improvement elsewhere (skopt's ask(n) would refit a copy
                # of the optimiser and optimise every hedged acquisition function for each point).
                for i in range(n):
                    raw.append(optimizer.ask())
                    if i < n - 1:
                        if hedge:
                            _hedge(optimizer, rng)
                        optimizer.tell(raw[-1], _believed(optimizer, optimizer.models, raw[-1], y))
        proposals = []
        finite = finite_size(self.space) is not None
        taken = taken_keys(self.space, history)
        for x in raw:
            values = {**constants, **{p.name: a.decode(v) for (p, a), v in zip(active, x, strict=True)}}
            point = {p.name: values[p.name] for p in params}
            key = point_key(self.space, point)
            if finite and key in taken:
                continue
            taken.add(key)
            proposals.append(Proposal(point, dict(data)))
        if finite and len(proposals) < n:
            rng = self.call_rng(history, "duplicates")
            proposals += [Proposal(p) for p in draw_free(self.space, rng, taken, n - len(proposals))]
        return proposals

    def _tell_history(
        self,
        optimizer: Optimizer,
        X: list[list[Any]],
        y: list[float],
        pending: list[list[Any]],
        data: dict[str, Any],
    ) -> None:
        """Tell the finished trials, then the running ones with the model's prediction as their value.

        Kernel hyperparameters are searched once, on the finished trials only
        (believed values must not shape them); every later fit of this call
        keeps them, and the next call starts its search from them.
        """
        if not pending:
            optimizer.tell(X, y)
            _keep_hyperparameters(optimizer, optimizer.models[-1] if optimizer.models else None, data)
            return
        optimizer.tell(X, y, fit=False)
        model = None
        if optimizer._n_initial_points <= len(pending) and optimizer.base_estimator_ is not None:
            # A model is due once the running trials are told: fit it on the finished ones first.
            model = clone(optimizer.base_estimator_).fit(optimizer.space.transform(X), y)
            _keep_hyperparameters(optimizer, model, data)
        optimizer.tell(pending, [_believed(optimizer, [] if model is None else [model], x, y) for x in pending])

    def _optimizer(self, dimensions: list[Dimension], seed: int, theta: list[float] | None, size: int) -> Optimizer:
        s = self.settings
        acq_optimizer = s.acq_optimizer
        if acq_optimizer == "auto" and s.base_estimator == "GP":
            # L-BFGS polishing of the acquisition costs a posterior evaluation per step, each
            # quadratic in the history; past LBFGS_MAX_TRIALS dense sampling finds as good points.
            acq_optimizer = "lbfgs" if size <= LBFGS_MAX_TRIALS else "sampling"
        estimator: Any = s.base_estimator
        if s.base_estimator == "GP":
            gp = cook_estimator("GP", space=dimensions, random_state=seed)
            kernel = gp.kernel + WhiteKernel()
            warm = theta is not None and len(theta) == len(kernel.theta)
            params = {**gp.get_params(deep=False), "kernel": kernel}
            if warm:
                # Two local searches, from the previous call's optimum and from the default start,
                # replace skopt's random restarts.
                params["n_restarts_optimizer"] = 0
            estimator = SubsampledGaussianProcess(
                **params, max_fit_points=MAX_FIT_POINTS, warm_theta=theta if warm else None
            )
        return Optimizer(
            dimensions,
            base_estimator=estimator,
            n_initial_points=s.n_initial_points,
            initial_point_generator="random",
            acq_func=s.acq_func,
            acq_optimizer=acq_optimizer,
            random_state=seed,
            acq_optimizer_kwargs={
                "n_points": ACQ_POINTS if acq_optimizer == "lbfgs" else SAMPLING_POINTS,
                "n_restarts_optimizer": ACQ_RESTARTS,
                "n_jobs": 1,
            },
        )

    def _observations(
        self, history: Sequence[TrialRecord], active: list[tuple[Parameter, _Axis]]
    ) -> tuple[list[list[Any]], list[float], list[list[Any]]]:
        X: list[list[Any]] = []
        y: list[float] = []
        pending: list[list[Any]] = []
        for t in history:
            try:
                x = [a.encode(t.assignments[p.name]) for p, a in active]
            except (KeyError, ValueError):
                continue
            if not all(a.dimension.__contains__(v) for (_, a), v in zip(active, x, strict=True)):
                continue  # outside the current space (it was narrowed on resume)
            objective = finite_objective(t.state, t.objective)
            if objective is not None:
                X.append(x)
                y.append(objective if self.minimize else -objective)
            elif t.state.is_active:
                pending.append(x)
        return X, y, pending


def _believed(optimizer: Optimizer, models: Sequence[Any], x: list[Any], y: list[float]) -> float:
    """The latest model's prediction at ``x``; before there is a model, the best value (a constant liar)."""
    if not models:
        return min(y)
    return float(models[-1].predict(optimizer.space.transform([x]))[0])


def _keep_hyperparameters(optimizer: Optimizer, model: Any, data: dict[str, Any]) -> None:
    """Fix a fitted GP's kernel for the rest of the call and store its hyperparameters with the proposals."""
    if not isinstance(model, GaussianProcessRegressor):
        return
    kernel = fitted_kernel(model)
    optimizer.base_estimator_ = clone(optimizer.base_estimator_).set_params(kernel=kernel, optimizer=None)
    data[_THETA] = [float(v) for v in kernel.theta]


def _hedge(optimizer: Optimizer, rng: np.random.Generator) -> None:
    """Let the next acquisition use one of EI, PI, LCB, chosen uniformly (skopt optimises all three)."""
    choice = _HEDGED[int(rng.integers(len(_HEDGED)))]
    optimizer.acq_func = choice
    optimizer.cand_acq_funcs_ = [choice]


def _last_theta(history: Sequence[TrialRecord]) -> list[float] | None:
    """Kernel hyperparameters (log scale) found by the most recent call that fitted a GP."""
    for t in reversed(history):
        theta = t.data.get(_THETA)
        if isinstance(theta, list):
            return [float(v) for v in theta]
    return None


def _only_value(p: Parameter) -> str:
    if isinstance(p, (CategoricalParameter, DiscreteParameter)):
        return p.values[0]
    return step_value(p, 0)
