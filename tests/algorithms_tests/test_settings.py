"""Algorithm and early-stopping settings: Katib's names, defaults and ranges."""

from __future__ import annotations

import pytest

from katib_flow.algorithms import ALGORITHM_SETTINGS, algorithm_names, settings_model
from katib_flow.algorithms.settings import BayesianOptimizationSettings, HyperbandSettings, TpeSettings
from katib_flow.earlystopping import MedianStopSettings
from katib_flow.exceptions import InvalidSettingsError, SpecError, UnknownAlgorithmError
from katib_flow.spec import AlgorithmSetting
from katib_flow.spec.paths import FieldPath


def _entries(**settings: str) -> list[AlgorithmSetting]:
    return [AlgorithmSetting(name=k, value=v) for k, v in settings.items()]


def test_every_katib_hp_algorithm_is_registered() -> None:
    assert set(algorithm_names()) == {
        "random",
        "grid",
        "sobol",
        "bayesianoptimization",
        "tpe",
        "multivariate-tpe",
        "cmaes",
        "hyperband",
        "pbt",
    }


@pytest.mark.parametrize("name", sorted(set(ALGORITHM_SETTINGS) - {"hyperband", "pbt"}))  # they require settings
def test_algorithms_accept_empty_settings_and_random_state(name: str) -> None:
    model = settings_model(name)
    assert model.from_entries([]) is not None
    assert model.from_entries(_entries(random_state="7")).model_dump()["random_state"] == 7


@pytest.mark.parametrize("name", sorted(ALGORITHM_SETTINGS))
def test_unknown_setting_is_rejected_with_its_name(name: str) -> None:
    with pytest.raises(InvalidSettingsError) as info:
        settings_model(name).from_entries(_entries(not_a_setting="1"))
    assert any("unknown setting 'not_a_setting'" in p.message for p in info.value.problems)


def test_bayesianoptimization_defaults_are_katibs() -> None:
    settings = BayesianOptimizationSettings.from_entries([])
    assert (settings.base_estimator, settings.n_initial_points, settings.acq_func, settings.acq_optimizer) == (
        "GP",
        10,
        "gp_hedge",
        "auto",
    )


def test_tpe_accepts_hyperopt_and_optuna_names() -> None:
    hyperopt = TpeSettings.from_entries(_entries(gamma="0.25", prior_weight="1.0", n_EI_candidates="30"))
    assert (hyperopt.gamma, hyperopt.prior_weight, hyperopt.ei_candidates) == (0.25, 1.0, 30)
    optuna = TpeSettings.from_entries(_entries(n_startup_trials="5", n_ei_candidates="12", constant_liar="false"))
    assert (optuna.n_startup_trials, optuna.ei_candidates, optuna.constant_liar) == (5, 12, False)
    assert TpeSettings.from_entries([]).ei_candidates == 24


def test_multivariate_tpe_is_multivariate_by_default() -> None:
    assert settings_model("multivariate-tpe").from_entries([]).model_dump()["multivariate"] is True
    assert settings_model("tpe").from_entries([]).model_dump()["multivariate"] is False


@pytest.mark.parametrize(
    ("r_l", "eta", "s_max", "max_parallel"),
    [("2", "2", 1, 2), ("9", "3", 2, 9), ("8", "2", 3, 8), ("81", "3", 4, 81), ("10", "3", 2, 9), ("1", "3", 0, 1)],
)
def test_hyperband_parallelism_rule_matches_katib(r_l: str, eta: str, s_max: int, max_parallel: int) -> None:
    settings = HyperbandSettings.from_entries(_entries(r_l=r_l, eta=eta, resource_name="epochs"))
    assert (settings.s_max, settings.max_parallel) == (s_max, max_parallel)


def test_hyperband_requires_r_l_and_resource_name() -> None:
    with pytest.raises(InvalidSettingsError) as info:
        HyperbandSettings.from_entries([])
    assert sorted(p.message for p in info.value.problems) == ["r_l field required", "resource_name field required"]


def test_setting_value_errors_point_at_the_entry() -> None:
    _, problems = BayesianOptimizationSettings.parse(
        _entries(random_state="1", n_initial_points="-3"), FieldPath("spec.algorithm.algorithmSettings")
    )
    assert [str(p) for p in problems] == [
        "spec.algorithm.algorithmSettings[1].value: "
        "n_initial_points: input should be greater than or equal to 0 (got '-3')"
    ]


@pytest.mark.parametrize("acq_func", ["EIps", "PIps"])
def test_per_second_acquisitions_are_refused_before_the_experiment_starts(acq_func: str) -> None:
    # scikit-optimize wants (value, seconds) pairs for them and failed at the first model fit.
    _, problems = BayesianOptimizationSettings.parse(
        _entries(acq_func=acq_func), FieldPath("spec.algorithm.algorithmSettings")
    )
    assert [p.path for p in problems] == ["spec.algorithm.algorithmSettings[0].value"]
    assert problems[0].message == (
        "acq_func: improvement per second (EIps, PIps) needs each trial's duration with its objective "
        f"value, which scikit-optimize is not given; use gp_hedge, EI, PI or LCB (got '{acq_func}')"
    )


def test_duplicate_setting_is_rejected() -> None:
    with pytest.raises(InvalidSettingsError, match="duplicate setting 'random_state'"):
        settings_model("random").from_entries(_entries(random_state="1") + _entries(random_state="2"))


def test_unknown_algorithm_error_is_key_and_value_error() -> None:
    with pytest.raises(UnknownAlgorithmError) as info:
        settings_model("bayesian")
    assert isinstance(info.value, KeyError) and isinstance(info.value, SpecError)
    assert "did you mean 'bayesianoptimization'?" in str(info.value)


def test_katib_only_algorithms_say_why() -> None:
    with pytest.raises(UnknownAlgorithmError, match="neural architecture search"):
        settings_model("enas")


def test_pbt_settings_follow_katibs_rules() -> None:
    model = settings_model("pbt")
    good = {"suggestion_trial_dir": "/var/log/katib/checkpoints/", "n_population": "40", "truncation_threshold": "0.2"}
    settings = model.from_entries(_entries(**good))
    assert settings.model_dump() == {
        "suggestion_trial_dir": "/var/log/katib/checkpoints/",
        "n_population": 40,
        "truncation_threshold": 0.2,
        "resample_probability": None,
    }
    for bad, message in (
        ({"n_population": "4"}, "greater than or equal to 5"),
        ({"truncation_threshold": "1.5"}, "less than or equal to 1"),
        ({"resample_probability": "-0.1"}, "greater than or equal to 0"),
        ({"suggestion_trial_dir": "checkpoints"}, "must be an absolute path inside the trial's container"),
    ):
        with pytest.raises(InvalidSettingsError, match=message):
            model.from_entries(_entries(**{**good, **bad}))
    with pytest.raises(InvalidSettingsError) as missing:
        model.from_entries([])
    assert len(missing.value.problems) == 3  # each required setting named


def test_medianstop_defaults_and_ranges() -> None:
    settings = MedianStopSettings.from_entries([])
    assert (settings.min_trials_required, settings.start_step) == (3, 4)
    with pytest.raises(InvalidSettingsError, match="greater than or equal to 1"):
        MedianStopSettings.from_entries(_entries(start_step="0"))
