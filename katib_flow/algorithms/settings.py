"""Settings of every Katib algorithm, with Katib's names, defaults and ranges.

Where Katib only checks a setting inside its algorithm service (after the
experiment has started), these models check it at validation time. Rules that
involve the rest of the experiment (hyperband's parallelism, grid size, CMA-ES
dimensionality) live in ``spec_problems``.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ..exceptions import Problem
from ..settings import SettingsModel
from ..space import CategoricalParameter, DiscreteParameter, DoubleParameter, IntParameter, SearchSpace, grid_values
from ..spec.models import ExperimentSpec
from ..spec.paths import SPEC

__all__ = [
    "BayesianOptimizationSettings",
    "CmaesSettings",
    "GridSettings",
    "HyperbandSettings",
    "MultivariateTpeSettings",
    "PbtSettings",
    "RandomSettings",
    "SobolSettings",
    "TpeSettings",
]

RandomState = int | None


class RandomSettings(SettingsModel):
    plugin_name: ClassVar[str] = "algorithm random"
    random_state: RandomState = Field(default=None, ge=0)


class SobolSettings(SettingsModel):
    plugin_name: ClassVar[str] = "algorithm sobol"
    random_state: RandomState = Field(default=None, ge=0)


class GridSettings(SettingsModel):
    plugin_name: ClassVar[str] = "algorithm grid"
    random_state: RandomState = Field(default=None, ge=0)

    def spec_problems(self, spec: ExperimentSpec, space: SearchSpace | None) -> list[Problem]:
        if space is None:
            return []
        problems = []
        for i, param in enumerate(space.parameters):
            if isinstance(param, DoubleParameter) and grid_values(param) is None:
                path = SPEC.child("parameters").index(i).child("feasibleSpace").child("step")
                problems.append(
                    Problem(str(path), f"must be specified for double parameter {param.name!r} with algorithm grid")
                )
        size = space.grid_size()
        if size is not None and spec.max_trial_count is not None and spec.max_trial_count > size:
            problems.append(
                Problem(
                    str(SPEC.child("maxTrialCount")),
                    f"must not exceed the {size} points of the grid (got {spec.max_trial_count})",
                )
            )
        return problems


class BayesianOptimizationSettings(SettingsModel):
    plugin_name: ClassVar[str] = "algorithm bayesianoptimization"
    base_estimator: Literal["GP", "RF", "ET", "GBRT"] = "GP"
    n_initial_points: int = Field(default=10, ge=0)
    acq_func: Literal["gp_hedge", "LCB", "EI", "PI", "EIps", "PIps"] = "gp_hedge"
    acq_optimizer: Literal["auto", "sampling", "lbfgs"] = "auto"
    random_state: RandomState = Field(default=None, ge=0)

    @field_validator("acq_func")
    @classmethod
    def _no_per_second(cls, value: str) -> str:
        # Katib lists them, but scikit-optimize then wants every objective as a (value, seconds)
        # pair; it fails at the first model fit, after the initial points have run.
        if value.endswith("ps"):
            raise PydanticCustomError(
                "per_second_acquisition",
                "improvement per second (EIps, PIps) needs each trial's duration with its objective "
                "value, which scikit-optimize is not given; use gp_hedge, EI, PI or LCB",
            )
        return value


class TpeSettings(SettingsModel):
    """Optuna's TPE settings, plus the names of Katib's hyperopt ``tpe`` service.

    Katib routes ``tpe`` to hyperopt, whose users write ``gamma``,
    ``prior_weight`` and ``n_EI_candidates``; both spellings are accepted and
    mapped onto Optuna's sampler.
    """

    plugin_name: ClassVar[str] = "algorithm tpe"
    n_startup_trials: int = Field(default=10, ge=0)
    n_ei_candidates: int | None = Field(default=None, gt=0)
    n_EI_candidates: int | None = Field(default=None, gt=0)
    gamma: float | None = Field(default=None, gt=0, lt=1)
    prior_weight: float | None = Field(default=None, gt=0)
    constant_liar: bool = True
    multivariate: bool = False
    random_state: RandomState = Field(default=None, ge=0)

    def spec_problems(self, spec: ExperimentSpec, space: SearchSpace | None) -> list[Problem]:
        if self.n_ei_candidates is not None and self.n_EI_candidates is not None:
            path = SPEC.child("algorithm").child("algorithmSettings")
            return [Problem(str(path), "set only one of n_ei_candidates and n_EI_candidates (the same setting)")]
        return []

    @property
    def ei_candidates(self) -> int:
        return self.n_ei_candidates or self.n_EI_candidates or 24


class MultivariateTpeSettings(TpeSettings):
    plugin_name: ClassVar[str] = "algorithm multivariate-tpe"
    multivariate: bool = True


class CmaesSettings(SettingsModel):
    plugin_name: ClassVar[str] = "algorithm cmaes"
    restart_strategy: Literal["none", "ipop", "bipop"] = "none"
    sigma: float | None = Field(default=None, gt=0)
    random_state: RandomState = Field(default=None, ge=0)

    def spec_problems(self, spec: ExperimentSpec, space: SearchSpace | None) -> list[Problem]:
        if space is None:
            return []
        continuous = [p for p in space.parameters if isinstance(p, (DoubleParameter, IntParameter))]
        if len(continuous) < 2:
            return [
                Problem(
                    str(SPEC.child("parameters")),
                    f"algorithm cmaes needs at least two int or double parameters (got {len(continuous)})",
                )
            ]
        return []


class HyperbandSettings(SettingsModel):
    """Katib's hyperband: ``r_l`` (max resource), ``eta`` (reduction factor), ``resource_name``."""

    plugin_name: ClassVar[str] = "algorithm hyperband"
    r_l: float = Field(gt=0)
    eta: float = Field(default=3.0, gt=1)
    resource_name: str = Field(min_length=1)

    @property
    def s_max(self) -> int:
        # Guard against log rounding: log(8)/log(2) must give 3, not 2.9999.
        return int(math.log(self.r_l) / math.log(self.eta) + 1e-9)

    @property
    def max_parallel(self) -> int:
        return math.ceil(self.eta**self.s_max)

    def spec_problems(self, spec: ExperimentSpec, space: SearchSpace | None) -> list[Problem]:
        problems = []
        if spec.parallel_trial_count is not None and spec.parallel_trial_count < self.max_parallel:
            problems.append(
                Problem(
                    str(SPEC.child("parallelTrialCount")),
                    f"must be at least {self.max_parallel} for hyperband with r_l={self.r_l:g} and eta={self.eta:g} "
                    f"(got {spec.parallel_trial_count})",
                )
            )
        if space is not None:
            names = space.names
            if self.resource_name not in names:
                problems.append(
                    Problem(
                        str(SPEC.child("algorithm").child("algorithmSettings")),
                        f"resource_name {self.resource_name!r} must be one of spec.parameters ({', '.join(names)})",
                    )
                )
            elif isinstance(space[self.resource_name], (CategoricalParameter, DiscreteParameter)):
                index = names.index(self.resource_name)
                problems.append(
                    Problem(
                        str(SPEC.child("parameters").index(index).child("parameterType")),
                        f"hyperband's resource parameter {self.resource_name!r} must be int or double",
                    )
                )
        return problems


class PbtSettings(SettingsModel):
    """Katib's pbt (``pkg/suggestion/v1beta1/pbt/service.py``): the three required settings and the optional
    resample probability, with Katib's ranges."""

    plugin_name: ClassVar[str] = "algorithm pbt"
    # The checkpoint folder as the trial's container sees it (Katib mounts <experiment>/<trial> of its volume there).
    suggestion_trial_dir: str = Field(min_length=1)
    n_population: int = Field(ge=5)
    truncation_threshold: float = Field(ge=0, le=1)
    # None: explore by perturbing each value (x0.8 or x1.2, a neighbouring category); else resample each
    # parameter from the space with this probability.
    resample_probability: float | None = Field(default=None, ge=0, le=1)

    @field_validator("suggestion_trial_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise PydanticCustomError("absolute_path", "must be an absolute path inside the trial's container")
        return value
