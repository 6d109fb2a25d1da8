"""An in-memory Optuna study rebuilt from the history on every call.

Optuna samplers keep part of their state in trial system attributes (CMA-ES
stores its optimizer and generation there). Those attributes are returned as
:attr:`Proposal.data` and restored into the rebuilt study, so a sampler sees
exactly what it would have seen in a long-lived process.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import InMemoryStorage
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from ..history import Proposal, TrialRecord, finite_objective
from ..space import CategoricalParameter, DiscreteParameter, DoubleParameter, IntParameter, SearchSpace
from ..spec import constants as c
from ._values import draw_free, finite_size, point_key, snap, taken_keys

__all__ = ["ask_proposals", "distributions", "quiet_optuna", "rebuild_study"]

_ATTRS = "optuna_system_attrs"
# Asks per wanted point before duplicates on a finite space are replaced by random free points.
_DUPLICATE_RETRIES = 8


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's experimental-feature warnings and info logs say nothing a katib-flow user can act on."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        optuna.logging.set_verbosity(level)


def distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Optuna distributions for the space.

    Optuna has no normal priors; ``normal`` maps to a uniform and ``logNormal``
    to a log-uniform distribution over the same bounds. A log distribution with
    a step is sampled continuously and snapped to the step afterwards (Optuna
    refuses ``log`` with ``step``).
    """
    out: dict[str, BaseDistribution] = {}
    for p in space.parameters:
        if isinstance(p, (CategoricalParameter, DiscreteParameter)):
            out[p.name] = CategoricalDistribution(p.values)
            continue
        log = p.distribution in (c.DIST_LOG_UNIFORM, c.DIST_LOG_NORMAL)
        if isinstance(p, IntParameter):
            step = p.step or 1
            out[p.name] = IntDistribution(p.min, p.max, log=log and step == 1, step=1 if log else step)
        else:
            out[p.name] = FloatDistribution(p.min, p.max, log=log, step=None if log else p.step)
    return out


def _to_optuna(
    space: SearchSpace, dists: Mapping[str, BaseDistribution], assignments: Mapping[str, str]
) -> dict[str, Any] | None:
    params: dict[str, Any] = {}
    for p in space.parameters:
        raw = assignments.get(p.name)
        if raw is None:
            return None
        try:
            value: Any = (
                float(raw) if isinstance(p, DoubleParameter) else int(raw) if isinstance(p, IntParameter) else raw
            )
        except ValueError:
            return None
        dist = dists[p.name]
        if isinstance(dist, FloatDistribution) and dist.step is not None:
            # A stepped value written with other rounding must still sit exactly on Optuna's grid.
            value = dist.low + round((value - dist.low) / dist.step) * dist.step
            value = min(max(value, dist.low), dist.high)
        if not dist._contains(dist.to_internal_repr(value)):
            return None  # e.g. the space was narrowed since this trial ran
        params[p.name] = value
    return params


def _from_optuna(space: SearchSpace, params: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in space.parameters:
        value = params[p.name]
        if isinstance(p, (CategoricalParameter, DiscreteParameter)):
            out[p.name] = str(value)
        else:
            out[p.name] = snap(p, float(value))
    return out


class _OwningStorage(InMemoryStorage):
    """In-memory storage that adopts template trials instead of deep-copying them.

    ``InMemoryStorage.create_new_trial`` deep-copies every template, which is
    most of the cost of rebuilding a 1,000-trial study. The templates built by
    :func:`rebuild_study` belong to that one study, so adopting them is safe.
    The body mirrors Optuna 5's ``create_new_trial`` minus the copy; the
    conformance tests exercise it on every call.
    """

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        if template_trial is None:
            return super().create_new_trial(study_id, template_trial)
        with self._lock:
            self._check_study_id(study_id)
            trial_id = self._max_trial_id + 1
            self._max_trial_id += 1
            template_trial.number = len(self._studies[study_id].trials)
            template_trial._trial_id = trial_id
            self._trial_id_to_study_id_and_number[trial_id] = (study_id, template_trial.number)
            self._studies[study_id].trials.append(template_trial)
            self._update_cache(trial_id, study_id)
            return trial_id


# Rebuilt trials get a fixed timestamp: samplers read states and values, never times, and a
# clock reading would be the only thing that differs between two identical rebuilds.
_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def rebuild_study(
    space: SearchSpace, minimize: bool, sampler: optuna.samplers.BaseSampler, history: Sequence[TrialRecord]
) -> optuna.Study:
    """A study holding every trial of the history: finished ones with their value, running ones as RUNNING."""
    dists = distributions(space)
    storage = _OwningStorage()
    study = optuna.create_study(storage=storage, direction="minimize" if minimize else "maximize", sampler=sampler)
    for t in history:
        params = _to_optuna(space, dists, t.assignments)
        if params is None:
            continue
        attrs = dict(t.data.get(_ATTRS, {}))
        objective = finite_objective(t.state, t.objective)
        if objective is not None:
            state, value = OptunaState.COMPLETE, objective
        elif t.state.is_active:
            state, value = OptunaState.RUNNING, None
        else:
            state, value = OptunaState.FAIL, None
        frozen = FrozenTrial(
            number=0,
            state=state,
            value=value,
            datetime_start=_EPOCH,
            datetime_complete=None if state is OptunaState.RUNNING else _EPOCH,
            params=params,
            distributions=dict(dists),
            user_attrs={},
            system_attrs=attrs,
            intermediate_values={},
            trial_id=0,
        )
        # Params were checked against their distributions above; Study.add_trial would check again.
        storage.create_new_trial(study._study_id, template_trial=frozen)
    return study


def ask_proposals(
    study: optuna.Study,
    space: SearchSpace,
    history: Sequence[TrialRecord],
    n: int,
    rng: np.random.Generator,
) -> list[Proposal]:
    """Ask ``n`` points; asked trials stay RUNNING so each later ask treats them as pending.

    On a finite space a point already tried or already in the batch is asked
    again a few times, then replaced by a random free point.
    """
    dists = distributions(space)
    finite = finite_size(space) is not None
    taken = taken_keys(space, history)
    proposals: list[Proposal] = []
    retries = 0
    while len(proposals) < n:
        trial = study.ask(dists)
        assignments = _from_optuna(space, trial.params)
        key = point_key(space, assignments)
        if finite and key in taken:
            study.tell(trial, state=OptunaState.FAIL)
            retries += 1
            if retries >= _DUPLICATE_RETRIES * n:
                break
            continue
        taken.add(key)
        attrs = study._storage.get_trial_system_attrs(trial._trial_id)
        proposals.append(Proposal(assignments, {_ATTRS: dict(attrs)} if attrs else {}))
    if finite and len(proposals) < n:
        proposals += [Proposal(p) for p in draw_free(space, rng, taken, n - len(proposals))]
    return proposals
