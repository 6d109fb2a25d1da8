"""Per-algorithm behaviour beyond the shared contract."""

from __future__ import annotations

import math
import pickle
import statistics
from collections import Counter

import numpy as np
import pytest
from scipy.stats import qmc

from katib_flow.algorithms import create_suggester
from katib_flow.algorithms.grid import GridSuggester
from katib_flow.algorithms.optuna_cmaes import population_size
from katib_flow.algorithms.optuna_tpe import TpeSuggester
from katib_flow.algorithms.skopt_bayesian import SkoptBayesianSuggester, SubsampledGaussianProcess, _axis
from katib_flow.history import Proposal, TrialRecord, TrialState
from katib_flow.spec import AlgorithmSetting

from .conformance import COUNTABLE, MIXED, TINY, param, record, space_of


def _settings(**values: str) -> list[AlgorithmSetting]:
    return [AlgorithmSetting(name=k, value=v) for k, v in values.items()]


def _run(name: str, calls: int, batch: int, **settings: str) -> list[TrialRecord]:
    history: list[TrialRecord] = []
    for _ in range(calls):
        proposals = create_suggester(name, MIXED, "minimize", _settings(**settings), seed=4).suggest(history, batch)
        history += [record(len(history), p) for p in proposals]
    return history


# random ---------------------------------------------------------------------------------------


def test_random_distributions_shape_the_samples() -> None:
    space = space_of(
        param("u", "double", min="1", max="1000"),
        param("lu", "double", min="1", max="1000", distribution="logUniform"),
        param("n", "double", min="0", max="6", distribution="normal"),
        param("ln", "double", min="1", max="1000", distribution="logNormal"),
    )
    points = [p.assignments for p in create_suggester("random", space, "minimize", seed=1).suggest([], 2000)]
    u = [float(p["u"]) for p in points]
    lu = [float(p["lu"]) for p in points]
    n = [float(p["n"]) for p in points]
    ln = [float(p["ln"]) for p in points]
    assert statistics.median(u) == pytest.approx(500, rel=0.1)
    assert statistics.median(lu) == pytest.approx(math.sqrt(1000), rel=0.2)  # geometric middle
    assert statistics.mean(n) == pytest.approx(3, abs=0.1)
    assert statistics.stdev(n) == pytest.approx(1, rel=0.15)  # sigma = (max - min) / 6, truncated at 3 sigma
    assert min(n) >= 0 and max(n) <= 6  # never outside the feasible space (hyperopt's normal is not truncated)
    assert statistics.median(ln) == pytest.approx(math.sqrt(1000), rel=0.2)
    assert min(ln) >= 1 and max(ln) <= 1000


def test_random_int_and_step_cover_their_end_points() -> None:
    space = space_of(param("i", "int", min="1", max="3"), param("d", "double", min="0", max="1", step="0.5"))
    points = [p.assignments for p in create_suggester("random", space, "minimize", seed=2).suggest([], 1)]
    history = [record(0, Proposal(points[0]))]
    seen = set()
    for seed in range(40):
        seen |= {
            (p.assignments["i"], p.assignments["d"])
            for p in create_suggester("random", space, "minimize", seed=seed).suggest(history[:0], 3)
        }
    assert {i for i, _ in seen} == {"1", "2", "3"}
    assert {d for _, d in seen} == {"0.0", "0.5", "1.0"}


# grid -----------------------------------------------------------------------------------------


def test_grid_visits_row_major_then_ends() -> None:
    suggester = create_suggester("grid", TINY, "minimize")
    assert isinstance(suggester, GridSuggester)
    points = [p.assignments for p in suggester.suggest([], 10)]
    assert points == [{"units": u, "optimizer": o} for u in ("1", "2", "3") for o in ("sgd", "adam")]


def test_grid_random_state_shuffles_but_covers_everything_once() -> None:
    suggester = create_suggester("grid", COUNTABLE, "minimize", _settings(random_state="3"))
    history: list[TrialRecord] = []
    while batch := suggester.suggest(history, 50):
        history += [record(len(history), p) for p in batch]
    keys = [tuple(sorted(t.assignments.items())) for t in history]
    size = COUNTABLE.grid_size()
    assert len(keys) == len(set(keys)) == size
    plain = [p.assignments for p in create_suggester("grid", COUNTABLE, "minimize").suggest([], 5)]
    assert [t.assignments for t in history[:5]] != plain


# sobol ----------------------------------------------------------------------------------------


def test_sobol_continues_its_sequence_across_calls() -> None:
    one_go = create_suggester("sobol", MIXED, "minimize", seed=9).suggest([], 6)
    first = create_suggester("sobol", MIXED, "minimize", seed=9).suggest([], 2)
    history = [record(i, p) for i, p in enumerate(first)]
    rest = create_suggester("sobol", MIXED, "minimize", seed=9).suggest(history, 4)
    assert [p.assignments for p in one_go] == [p.assignments for p in first + rest]
    assert [p.data["sobol_index"] for p in one_go] == list(range(6))


def test_sobol_points_are_scipys_scrambled_sequence() -> None:
    space = space_of(param("a", "double", min="0", max="1"), param("b", "double", min="0", max="1"))
    points = create_suggester("sobol", space, "minimize", _settings(random_state="5")).suggest([], 4)
    expected = qmc.Sobol(d=2, scramble=True, seed=5).random(4)
    got = np.array([[float(p.assignments["a"]), float(p.assignments["b"])] for p in points])
    np.testing.assert_allclose(got, expected)


# tpe ------------------------------------------------------------------------------------------


def test_tpe_maps_hyperopt_settings_onto_optuna() -> None:
    suggester = create_suggester(
        "tpe",
        MIXED,
        "minimize",
        _settings(gamma="0.25", prior_weight="2.0", n_EI_candidates="48", n_startup_trials="5"),
    )
    assert isinstance(suggester, TpeSuggester)
    sampler = suggester.sampler(seed=1)
    params = sampler._parzen_estimator_parameters
    assert params.prior_weight == 2.0
    assert sampler._n_ei_candidates == 48
    assert sampler._n_startup_trials == 5
    assert sampler._gamma is not None
    assert sampler._gamma(100) == 3  # hyperopt: ceil(0.25 * sqrt(100))
    assert sampler._multivariate is False


def test_multivariate_tpe_is_multivariate_and_constant_liar_by_default() -> None:
    suggester = create_suggester("multivariate-tpe", MIXED, "minimize")
    assert isinstance(suggester, TpeSuggester)
    sampler = suggester.sampler(seed=1)
    assert sampler._multivariate is True
    assert sampler._constant_liar is True
    assert sampler._gamma is not None
    assert sampler._gamma(100) == 10  # Optuna's default_gamma, set explicitly


@pytest.mark.parametrize("name", ["tpe", "multivariate-tpe"])
def test_tpe_batch_spreads_out_after_startup(name: str) -> None:
    history = _run(name, calls=4, batch=5, n_startup_trials="5")
    batch = create_suggester(name, MIXED, "minimize", seed=4).suggest(history, 8)
    lrs = [float(p.assignments["lr"]) for p in batch]
    assert len(set(lrs)) == 8


def test_tpe_concentrates_on_the_good_region() -> None:
    history = _run("tpe", calls=10, batch=4, n_startup_trials="8")
    early = statistics.mean(t.objective or 0 for t in history[:8])
    late = statistics.mean(t.objective or 0 for t in history[-12:])
    assert late < early


# cmaes ----------------------------------------------------------------------------------------


def test_cmaes_carries_its_optimizer_state_through_the_trials() -> None:
    space = space_of(param("x", "double", min="-5", max="5"), param("y", "double", min="-5", max="5"))
    history: list[TrialRecord] = []
    generations = []
    for _ in range(12):
        proposals = create_suggester("cmaes", space, "minimize", seed=1).suggest(history, 3)
        for p in proposals:
            x, y = float(p.assignments["x"]), float(p.assignments["y"])
            history.append(
                TrialRecord(
                    f"t{len(history)}", p.assignments, TrialState.SUCCEEDED, (x - 1) ** 2 + (y + 2) ** 2, (), p.data
                )
            )
            generations.append(p.data.get("optuna_system_attrs", {}).get("cma:generation"))
    assert max(g for g in generations if g is not None) >= 4  # the search moved on generation after generation
    assert any(any(k.startswith("cma:optimizer") for k in t.data.get("optuna_system_attrs", {})) for t in history)
    best = min(t.objective or 99 for t in history)
    assert best < 0.5
    # Without the stored state every call would restart CMA-ES at generation 0.
    bare = [TrialRecord(t.name, t.assignments, t.state, t.objective) for t in history]
    restarted = create_suggester("cmaes", space, "minimize", seed=1).suggest(bare, 1)
    assert restarted[0].data["optuna_system_attrs"]["cma:generation"] == 0


def _generations(history: list[TrialRecord]) -> Counter[int | None]:
    return Counter(t.data.get("optuna_system_attrs", {}).get("cma:generation") for t in history)


def test_cmaes_batches_fill_each_generation_exactly() -> None:
    # Optuna asks for a generation until popsize of its trials have finished and tells only the
    # first popsize: batches of 4 with a population of 6 spent 8 trials per generation.
    space = space_of(param("x", "double", min="-5", max="5"), param("y", "double", min="-5", max="5"))
    assert population_size(space) == 6
    history: list[TrialRecord] = []
    while len(history) < 52:
        for p in create_suggester("cmaes", space, "minimize", seed=3).suggest(history, 4):
            x, y = float(p.assignments["x"]), float(p.assignments["y"])
            history.append(
                TrialRecord(f"t{len(history)}", p.assignments, TrialState.SUCCEEDED, (x - 1) ** 2 + y**2, (), p.data)
            )
    counts = _generations(history)
    assert counts.pop(None) == 4  # the startup batch, drawn before CMA-ES has a finished trial
    assert counts == dict.fromkeys(range(8), 6)  # every trial told, none wasted


def test_cmaes_counts_running_trials_in_their_generation() -> None:
    space = space_of(param("x", "double", min="-5", max="5"), param("y", "double", min="-5", max="5"))
    history = [
        TrialRecord(f"t{i}", p.assignments, TrialState.SUCCEEDED, float(i), (), p.data)
        for i, p in enumerate(create_suggester("cmaes", space, "minimize", seed=3).suggest([], 1))
    ]
    running = create_suggester("cmaes", space, "minimize", seed=3).suggest(history, 4)
    history += [
        TrialRecord(f"r{i}", p.assignments, TrialState.RUNNING, None, (), p.data) for i, p in enumerate(running)
    ]
    # Four of generation 0 run; the next slots fill it up to six, then go to generation 1.
    refill = create_suggester("cmaes", space, "minimize", seed=3).suggest(history, 3)
    assert [p.data["optuna_system_attrs"]["cma:generation"] for p in refill] == [0, 0, 1]


def test_cmaes_catches_up_when_the_newest_stored_state_is_generations_behind() -> None:
    # The trial holding a generation's optimizer may still be running when that generation has
    # finished (more slots than the population): then every finished generation since the newest
    # stored state must be told, not only one (Optuna tells one and asks for a finished generation).
    space = space_of(param("x", "double", min="-5", max="5"), param("y", "double", min="-5", max="5"))
    history: list[TrialRecord] = []
    for n in (1, 6, 6, 6):
        for p in create_suggester("cmaes", space, "minimize", seed=2).suggest(history, n):
            x, y = float(p.assignments["x"]), float(p.assignments["y"])
            history.append(
                TrialRecord(f"t{len(history)}", p.assignments, TrialState.SUCCEEDED, x * x + y * y, (), p.data)
            )
    assert _generations(history) == {None: 1, 0: 6, 1: 6, 2: 6}
    stripped = [
        TrialRecord(t.name, t.assignments, t.state, t.objective, (), {"optuna_system_attrs": without})
        for t in history
        for attrs in [t.data.get("optuna_system_attrs", {})]
        for without in [{k: v for k, v in attrs.items() if attrs.get("cma:generation") != 2 or "optimizer" not in k}]
    ]
    attrs = create_suggester("cmaes", space, "minimize", seed=2).suggest(stripped, 1)[0].data["optuna_system_attrs"]
    assert attrs["cma:generation"] == 3
    parts = [attrs[f"cma:optimizer:{i}"] for i in range(sum(k.startswith("cma:optimizer:") for k in attrs))]
    assert pickle.loads(bytes.fromhex("".join(parts))).generation == 3  # the caught-up state is stored


def test_cmaes_draws_past_a_full_generation_from_its_provisional_update() -> None:
    # Generation 0 (population 6) is full: three good finished trials at x = -2, a bad one and two
    # running at x = 2. The next trials belong to generation 1 and must come from where CMA-ES will
    # stand once it is told generation 0 (the mean moves to x = -2 on the finished values alone),
    # not from generation 0's distribution around x = 0, and the running trials must not pull the
    # mean back (with a median lie one of them would rank among the best three).
    space = space_of(param("x", "double", min="-5", max="5"), param("y", "double", min="-5", max="5"))
    assert population_size(space) == 6

    def trial(name: str, x: float, y: float, value: float | None) -> TrialRecord:
        data = {"optuna_system_attrs": {"cma:generation": 0}}
        state = TrialState.RUNNING if value is None else TrialState.SUCCEEDED
        return TrialRecord(name, {"x": str(x), "y": str(y)}, state, value, (), data)

    history = [TrialRecord("start", {"x": "0.0", "y": "0.0"}, TrialState.SUCCEEDED, 5.0)]
    history += [trial("a", -2, 0, 1.0), trial("b", -2, 1, 2.0), trial("c", -2, -1, 3.0), trial("d", 2, 0, 10.0)]
    history += [trial("r1", 2, 1, None), trial("r2", 2, -1, None)]
    overflow = create_suggester("cmaes", space, "minimize", seed=5).suggest(history, 30)
    assert {p.data["optuna_system_attrs"]["cma:generation"] for p in overflow} == {1}
    assert statistics.mean(float(p.assignments["x"]) for p in overflow) < -1.5


# bayesianoptimization ---------------------------------------------------------------------------


def test_bayesian_dimensions_honour_distributions() -> None:
    lr = _axis(MIXED["lr"])
    dropout = _axis(MIXED["dropout"])
    units = _axis(MIXED["units"])
    assert lr is not None and lr.dimension.prior == "log-uniform"  # Katib forces this on every double
    assert dropout is not None and (dropout.dimension.low, dropout.dimension.high) == (0, 10)  # the step index
    assert units is not None and units.dimension.prior == "uniform"
    assert _axis(space_of(param("one", "int", min="3", max="3"))["one"]) is None
    # Discrete numbers are ordered (by value, not by their order in the list), not one-hot.
    batch = _axis(space_of(param("batch", "discrete", list=["64", "8", "512", "16"]))["batch"])
    assert batch is not None and (batch.dimension.low, batch.dimension.high) == (0, 3)
    assert [batch.decode(k) for k in range(4)] == ["8", "16", "64", "512"] and batch.encode("64") == 2


def test_bayesian_gp_hyperparameters_travel_with_the_trials() -> None:
    history = _run("bayesianoptimization", calls=6, batch=3, n_initial_points="5")
    assert "gp_theta" in history[-1].data
    suggester = create_suggester("bayesianoptimization", MIXED, "minimize", seed=4)
    assert isinstance(suggester, SkoptBayesianSuggester)


def test_bayesian_fits_its_kernel_on_finished_trials_only() -> None:
    # Running trials are told with the model's prediction; those believed values must not move
    # the kernel's hyperparameters (the constant liar's best-value lies did).
    settings = {"n_initial_points": "6", "acq_optimizer": "sampling"}
    history = _run("bayesianoptimization", calls=3, batch=3, **settings)
    pending = create_suggester("random", MIXED, "minimize", seed=5).suggest([], 3)
    running = [record(len(history) + i, p, TrialState.RUNNING) for i, p in enumerate(pending)]
    suggester = create_suggester("bayesianoptimization", MIXED, "minimize", _settings(**settings), seed=4)
    alone = suggester.suggest(history, 1)[0]
    with_running = suggester.suggest(history + running, 1)[0]
    np.testing.assert_allclose(with_running.data["gp_theta"], alone.data["gp_theta"], rtol=1e-6)
    assert with_running.assignments not in [t.assignments for t in running]


def test_bayesian_improves_on_its_initial_points() -> None:
    history = _run("bayesianoptimization", calls=10, batch=3, n_initial_points="6")
    initial = min(t.objective or 9 for t in history[:6])
    later = min(t.objective or 9 for t in history[6:])
    assert later < initial


def test_fast_gp_posterior_matches_skopts() -> None:
    from skopt.learning import GaussianProcessRegressor
    from skopt.space import Real
    from skopt.utils import cook_estimator

    rng = np.random.default_rng(1)
    X = rng.random((120, 3))
    y = np.sin(3 * X).sum(1) + rng.normal(0, 0.1, 120)
    params = cook_estimator("GP", space=[Real(0, 1)] * 3, random_state=0).get_params(deep=False)
    reference = GaussianProcessRegressor(**params).fit(X, y)
    fast = SubsampledGaussianProcess(**params).fit(X, y)
    Xt = rng.random((40, 3))
    for got, want in zip(fast.predict(Xt, return_std=True), reference.predict(Xt, return_std=True), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-8)
    one = Xt[:1]
    got_all = fast.predict(one, return_std=True, return_mean_grad=True, return_std_grad=True)
    want_all = reference.predict(one, return_std=True, return_mean_grad=True, return_std_grad=True)
    for got, want in zip(got_all, want_all, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-6)


def test_subsampled_gp_fits_hyperparameters_on_a_bounded_subset() -> None:
    from skopt.space import Real
    from skopt.utils import cook_estimator

    rng = np.random.default_rng(2)
    X = rng.random((400, 2))
    y = np.cos(4 * X).sum(1)
    params = cook_estimator("GP", space=[Real(0, 1)] * 2, random_state=0).get_params(deep=False)
    gp = SubsampledGaussianProcess(**params, max_fit_points=60).fit(X, y)
    assert gp.X_train_.shape == (400, 2)  # the posterior uses every point
    assert gp.max_fit_points == 60  # init parameters survive fitting (sklearn's clone relies on it)
    assert float(np.abs(gp.predict(X[:20]) - y[:20]).max()) < 0.05


def test_a_degenerate_warm_start_does_not_trap_the_gp() -> None:
    """Seen in bench/quality.py at parallelism 4: a warm start from an optimum that calls everything
    noise (length scales at their bounds) kept the GP flat for the rest of the experiment."""
    from skopt.learning.gaussian_process.kernels import WhiteKernel
    from skopt.space import Real
    from skopt.utils import cook_estimator

    rng = np.random.default_rng(3)
    X = rng.random((40, 2))
    y = (X[:, 0] - 0.3) ** 2 * 10 + (X[:, 1] - 0.6) ** 2 * 10
    params = cook_estimator("GP", space=[Real(0, 1)] * 2, random_state=0).get_params(deep=False)
    params["kernel"] = params["kernel"] + WhiteKernel()
    params["n_restarts_optimizer"] = 0
    bounds = params["kernel"].bounds
    degenerate = [bounds[0, 0], bounds[1, 1], bounds[2, 1], bounds[3, 1]]  # tiny signal, flat, all noise
    trapped = SubsampledGaussianProcess(**{**params, "kernel": params["kernel"].clone_with_theta(degenerate)})
    trapped.fit(X, y)
    gp = SubsampledGaussianProcess(**params, warm_theta=degenerate).fit(X, y)
    assert gp.log_marginal_likelihood_value_ > trapped.log_marginal_likelihood_value_ + 10
    assert float(np.abs(gp.predict(X[:10]) - y[:10]).max()) < 0.1  # it models the function
    assert gp.warm_theta == degenerate  # init parameters survive fitting
