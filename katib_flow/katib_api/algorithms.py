"""The Suggestion and EarlyStopping services: katib-flow's algorithms as Katib algorithm services.

Stateless, like katib-flow's suggesters: every call rebuilds the algorithm
from the request (the experiment, every trial, and the data the service put in
the algorithm settings of its last reply), so the service may be restarted,
or run as several replicas, at any time.

Katib's suggestion controller asks for ``current_request_number`` assignments
and rejects a reply with any other number ("The response contains unexpected
trials", ``suggestionclient.go``). Where katib-flow's algorithm has fewer to
give, the reply says why with a status Katib logs and retries on:

- ``OUT_OF_RANGE``: the search space is exhausted and nothing is running.
  Katib never ends an experiment for that (``status_util.go`` is always called
  with ``getSuggestionDone`` false), so its experiment stays Running; katib-flow's
  own client ends it with ``ExperimentSuggestionEndReached``.
- ``FAILED_PRECONDITION``: nothing can start until running trials finish
  (a hyperband rung, a grid whose last points are all running).
- a shorter list when some but not all can be given (katib-flow's client takes
  them; Katib's controller asks again later).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from ..algorithms import create_suggester, validate_algorithm
from ..earlystopping import create_early_stopper, validate_early_stopping
from ..engine.reserve import trial_name
from ..exceptions import KatibFlowError, Problem, SpecError
from ..history import TrialRecord, TrialState
from ..space import SearchSpace
from ..spec.models import Experiment
from .convert import experiment_from_message, proposals_reply, rule_message, seed_of, trial_records
from .messages import message

__all__ = ["EarlyStoppingService", "ObservationSource", "SuggestionService"]

log = logging.getLogger("katib_flow.serve")
# (trial name, metric name) -> every reported value, in report order
ObservationSource = Callable[[str, str, str], list[float]]


class SuggestionService:
    """``api.v1.beta1.Suggestion`` for every algorithm in katib-flow's registry."""

    def GetSuggestions(self, request: Any, context: grpc.ServicerContext) -> Any:
        started = time.perf_counter()
        experiment, data = _experiment(request.experiment, context)
        spec = experiment.spec
        assert spec.algorithm is not None and spec.objective is not None
        space = _space(experiment, context)
        try:
            suggester = create_suggester(
                spec.algorithm.algorithm_name or "",
                space,
                spec.objective.type or "minimize",
                spec.algorithm.algorithm_settings,
                seed=seed_of(experiment),
            )
        except KatibFlowError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        history = trial_records(request.trials, spec.objective.objective_metric_name or "", data)
        wanted = request.current_request_number
        proposals = suggester.suggest(history, wanted) if wanted > 0 else []
        if wanted > 0 and not proposals:
            if any(t.state.is_active for t in history):
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"algorithm {spec.algorithm.algorithm_name!r}: nothing can start until running trials finish",
                )
            context.abort(
                grpc.StatusCode.OUT_OF_RANGE,
                f"algorithm {spec.algorithm.algorithm_name!r} has nothing more to suggest: the search space "
                f"is exhausted after {len(history)} trials",
            )
        taken = {t.name for t in history}
        first = max(request.total_request_number - wanted, len(history))
        names = []
        for i in range(len(proposals)):
            names.append(trial_name(experiment.name or "", seed_of(experiment), first + i, frozenset(taken)))
            taken.add(names[-1])
        log.info(
            "GetSuggestions",
            extra=_fields(experiment, wanted=wanted, given=len(proposals), trials=len(history), started=started),
        )
        return proposals_reply(proposals, names, request.experiment, data)

    def ValidateAlgorithmSettings(self, request: Any, context: grpc.ServicerContext) -> Any:
        experiment, _ = _experiment(request.experiment, context)
        try:
            space: SearchSpace | None = SearchSpace.from_spec(experiment.spec)
        except SpecError as err:
            _abort_problems(context, err.problems)
            space = None
        _abort_problems(context, validate_algorithm(experiment.spec, space))
        return message("ValidateAlgorithmSettingsReply")()


class EarlyStoppingService:
    """``api.v1.beta1.EarlyStopping`` for katib-flow's early stoppers (medianstop).

    Katib's medianstop reads the finished trials' intermediate values from the
    DBManager at the request's ``db_manager_address``; ``observations`` does
    that here (through that address, or katib-flow's own store with ``serve --db``).
    ``mark_stopped`` records a trial early-stopped (``SetTrialStatus``), where
    the service has a store; Katib's own service patches the Trial resource instead.
    """

    def __init__(
        self,
        observations: Callable[[str], ObservationSource],
        mark_stopped: Callable[[str], None] | None = None,
    ) -> None:
        self.observations = observations
        self.mark_stopped = mark_stopped

    def GetEarlyStoppingRules(self, request: Any, context: grpc.ServicerContext) -> Any:
        experiment, _ = _experiment(request.experiment, context)
        spec = experiment.spec
        assert spec.objective is not None
        early = spec.early_stopping
        if early is None or not early.algorithm_name:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "spec.earlyStopping: the experiment has none")
        metric = spec.objective.objective_metric_name or ""
        try:
            stopper = create_early_stopper(
                early.algorithm_name, metric, spec.objective.type or "minimize", early.algorithm_settings
            )
        except (KatibFlowError, KeyError) as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        read = self.observations(request.db_manager_address)
        history = []
        for record in trial_records(request.trials, metric, {}):
            series: tuple[float, ...] = ()
            if record.state is TrialState.SUCCEEDED:
                series = tuple(read(record.name, metric, experiment.name or ""))
            history.append(TrialRecord(record.name, record.assignments, record.state, record.objective, series))
        reply = message("GetEarlyStoppingRulesReply")()
        for rule in stopper.rules(history):
            reply.early_stopping_rules.append(rule_message(rule))
        return reply

    def SetTrialStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self.mark_stopped is None:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "SetTrialStatus records into katib-flow's store: run `katib-flow serve --db URL`",
            )
        try:
            self.mark_stopped(request.trial_name)
        except KatibFlowError as err:
            context.abort(grpc.StatusCode.NOT_FOUND, str(err))
        return message("SetTrialStatusReply")()

    def ValidateEarlyStoppingSettings(self, request: Any, context: grpc.ServicerContext) -> Any:
        settings = [{"name": s.name, "value": s.value} for s in request.early_stopping.algorithm_settings]
        spec = Experiment.model_validate(
            {
                "metadata": {"name": "validate"},
                "spec": {
                    "earlyStopping": {
                        "algorithmName": request.early_stopping.algorithm_name,
                        "algorithmSettings": settings or None,
                    }
                },
            }
        ).spec
        _abort_problems(context, validate_early_stopping(spec))
        return message("ValidateEarlyStoppingSettingsReply")()


def _experiment(experiment: Any, context: grpc.ServicerContext) -> tuple[Experiment, dict[str, dict[str, Any]]]:
    try:
        return experiment_from_message(experiment)
    except (SpecError, ValueError) as err:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))


def _space(experiment: Experiment, context: grpc.ServicerContext) -> SearchSpace:
    try:
        return SearchSpace.from_spec(experiment.spec)
    except SpecError as err:
        _abort_problems(context, err.problems)
        raise


def _abort_problems(context: grpc.ServicerContext, problems: list[Problem]) -> None:
    """INVALID_ARGUMENT with katib-flow's messages, one line per problem with its field path."""
    if problems:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "\n".join(str(p) for p in problems))


def _fields(experiment: Experiment, *, started: float, **values: Any) -> dict[str, Any]:
    return {
        "experiment": experiment.name,
        "algorithm": experiment.spec.algorithm.algorithm_name if experiment.spec.algorithm else None,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        **values,
    }
