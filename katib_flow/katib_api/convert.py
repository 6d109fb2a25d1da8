"""Katib's gRPC messages to katib-flow's models and back: experiments, trials, proposals, stop rules.

What Katib's suggestion controller sends is read as it builds it
(``pkg/controller.v1beta1/suggestion/suggestionclient/suggestionclient.go``):
``ConvertExperiment`` (parameters, objective, algorithm with the settings the
service returned last time, early stopping, budgets; ``goal`` 0 means unset)
and ``ConvertTrials`` (every trial except MetricsUnavailable ones and
early-stopped ones without an observation; the objective metric's value
already reduced by its metric strategy; only the latest condition).

The service keeps nothing between calls: what an algorithm attached to its
proposals (:attr:`Proposal.data`: CMA-ES generations, hyperband rungs) travels
in the reply's algorithm settings under :data:`TRIAL_DATA`, which Katib's
controller stores in the Suggestion's status and sends back in every later
request (``appendAlgorithmSettingsFromSuggestion``), as Katib's own hyperband
does with its state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..earlystopping.base import Comparison, StopRule
from ..exceptions import SpecError
from ..history import Proposal, TrialRecord, TrialState
from ..spec.models import Experiment, ExperimentSpec
from .messages import enum_name, enum_value, message

__all__ = [
    "TRIAL_DATA",
    "experiment_from_message",
    "experiment_message",
    "proposals_reply",
    "rule_message",
    "seed_of",
    "spec_experiment",
    "trial_messages",
    "trial_records",
]

TRIAL_DATA = "katib-flow-trial-data"  # the private algorithm setting holding proposals' data, by trial name
_TYPES = {"DOUBLE": "double", "INT": "int", "DISCRETE": "discrete", "CATEGORICAL": "categorical"}
_DISTRIBUTIONS = {"UNIFORM": "uniform", "LOG_UNIFORM": "logUniform", "NORMAL": "normal", "LOG_NORMAL": "logNormal"}
_OBJECTIVES = {"MINIMIZE": "minimize", "MAXIMIZE": "maximize"}
_CONDITIONS = {
    "CREATED": TrialState.CREATED,
    "RUNNING": TrialState.RUNNING,
    "SUCCEEDED": TrialState.SUCCEEDED,
    "KILLED": TrialState.KILLED,
    "FAILED": TrialState.FAILED,
    "METRICSUNAVAILABLE": TrialState.METRICS_UNAVAILABLE,
    "EARLYSTOPPED": TrialState.EARLY_STOPPED,
}
_COMPARISONS = {Comparison.EQUAL: "EQUAL", Comparison.LESS: "LESS", Comparison.GREATER: "GREATER"}


def experiment_from_message(experiment: Any) -> tuple[Experiment, dict[str, dict[str, Any]]]:
    """The experiment a request carries, as a katib-flow model, and the trial data kept in its settings.

    Raises :class:`SpecError` for what cannot be read (an unknown parameter type, say).
    """
    spec = experiment.spec
    problems: list[str] = []
    parameters = []
    for i, p in enumerate(spec.parameter_specs.parameters):
        kind = _TYPES.get(enum_name("ParameterType", p.parameter_type))
        if kind is None:
            problems.append(f"spec.parameters[{i}].parameterType: {enum_name('ParameterType', p.parameter_type)}")
        space: dict[str, Any] = {}
        fs = p.feasible_space
        for key, value in (("min", fs.min), ("max", fs.max), ("step", fs.step)):
            if value:
                space[key] = value
        if fs.list:
            space["list"] = list(fs.list)
        distribution = _DISTRIBUTIONS.get(enum_name("Distribution", fs.distribution))
        if distribution is not None:
            space["distribution"] = distribution
        parameters.append({"name": p.name, "parameterType": kind or "", "feasibleSpace": space})
    if problems:
        raise SpecError.single("spec.parameters", "unknown parameter type: " + ", ".join(problems))
    settings = [{"name": s.name, "value": s.value} for s in spec.algorithm.algorithm_settings]
    data = next((s["value"] for s in settings if s["name"] == TRIAL_DATA), None)
    objective: dict[str, Any] = {
        "type": _OBJECTIVES.get(enum_name("ObjectiveType", spec.objective.type), ""),
        "objectiveMetricName": spec.objective.objective_metric_name,
        "additionalMetricNames": list(spec.objective.additional_metric_names) or None,
    }
    if spec.objective.goal:
        objective["goal"] = spec.objective.goal
    document: dict[str, Any] = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": experiment.name},
        "spec": {
            "objective": objective,
            "algorithm": {
                "algorithmName": spec.algorithm.algorithm_name,
                "algorithmSettings": [s for s in settings if s["name"] != TRIAL_DATA] or None,
            },
            "parameters": parameters,
            "parallelTrialCount": spec.parallel_trial_count or None,
            "maxTrialCount": spec.max_trial_count or None,
        },
    }
    if spec.HasField("early_stopping") and spec.early_stopping.algorithm_name:
        document["spec"]["earlyStopping"] = {
            "algorithmName": spec.early_stopping.algorithm_name,
            "algorithmSettings": [{"name": s.name, "value": s.value} for s in spec.early_stopping.algorithm_settings]
            or None,
        }
    return Experiment.model_validate(document), (json.loads(data) if data else {})


def seed_of(experiment: Experiment) -> int:
    """The experiment's seed, from its name: every replica of the service, and every restart, agrees on it."""
    digest = hashlib.sha256(f"katib-flow:{experiment.name}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def trial_records(
    trials: Sequence[Any], objective_metric: str, data: Mapping[str, Mapping[str, Any]]
) -> list[TrialRecord]:
    """The history algorithms see, from a request's trials (in the order Katib sends them)."""
    records = []
    for trial in trials:
        state = _CONDITIONS.get(enum_name("TrialStatus.TrialConditionType", trial.status.condition))
        if state is None:  # UNKNOWN: a trial Katib could not classify counts as still pending
            state = TrialState.RUNNING
        value = next((m.value for m in trial.status.observation.metrics if m.name == objective_metric), None)
        objective = _number(value)
        records.append(
            TrialRecord(
                name=trial.name,
                assignments={a.name: a.value for a in trial.spec.parameter_assignments.assignments},
                state=state,
                objective=objective,
                objective_series=() if objective is None else (objective,),
                data=dict(data.get(trial.name, {})),
            )
        )
    return records


def proposals_reply(
    proposals: Sequence[Proposal],
    names: Sequence[str],
    experiment: Any,
    data: Mapping[str, Mapping[str, Any]],
    rules: Sequence[StopRule] = (),
) -> Any:
    """A GetSuggestionsReply: the proposals named ``names``; the algorithm settings carry every trial's data."""
    reply = message("GetSuggestionsReply")()
    kept = {name: dict(values) for name, values in data.items()}
    for proposal, name in zip(proposals, names, strict=True):
        item = reply.parameter_assignments.add(trial_name=name)
        for key, value in proposal.assignments.items():
            item.assignments.add(name=key, value=value)
        # Katib puts these on the Trial it creates (pbt: pbt.suggestion.katib.kubeflow.org/generation, parent)
        item.labels.update({str(k): str(v) for k, v in proposal.data.get("labels", {}).items()})
        if proposal.data:
            kept[name] = proposal.data
    reply.algorithm.algorithm_name = experiment.spec.algorithm.algorithm_name
    for setting in experiment.spec.algorithm.algorithm_settings:
        if setting.name != TRIAL_DATA:
            reply.algorithm.algorithm_settings.add(name=setting.name, value=setting.value)
    if kept:
        reply.algorithm.algorithm_settings.add(name=TRIAL_DATA, value=json.dumps(kept, sort_keys=True))
    for rule in rules:
        reply.early_stopping_rules.append(rule_message(rule))
    return reply


def rule_message(rule: StopRule) -> Any:
    """Katib's EarlyStoppingRule for a stop rule."""
    return message("EarlyStoppingRule")(
        name=rule.metric,
        value=repr(rule.value),
        comparison=enum_value("ComparisonType", _COMPARISONS[rule.comparison]),
        start_step=rule.start_step,
    )


def _number(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def spec_experiment(spec: ExperimentSpec) -> Experiment:
    """An Experiment around ``spec`` alone, for the calls that need one (a settings validation)."""
    return Experiment.model_validate(
        {"metadata": {"name": "validate"}, "spec": spec.model_dump(by_alias=True, exclude_none=True)}
    )


def experiment_message(experiment: Experiment, settings: Sequence[tuple[str, str]] | None = None) -> Any:
    """The Experiment message Katib's controller would send for ``experiment`` (``ConvertExperiment``).

    ``settings`` replaces the algorithm settings (those the service returned last, as Katib's Suggestion
    status keeps them).
    """
    spec = experiment.spec
    assert spec.algorithm is not None and spec.objective is not None
    out = message("Experiment")(name=experiment.name or "")
    out.spec.algorithm.algorithm_name = spec.algorithm.algorithm_name or ""
    own = [(s.name or "", s.value or "") for s in spec.algorithm.algorithm_settings or []]
    pairs = settings if settings is not None else own
    for name, value in pairs:
        out.spec.algorithm.algorithm_settings.add(name=name, value=value)
    objective = out.spec.objective
    objective.type = enum_value("ObjectiveType", (spec.objective.type or "minimize").upper())
    objective.objective_metric_name = spec.objective.objective_metric_name or ""
    objective.additional_metric_names.extend(spec.objective.additional_metric_names or [])
    if spec.objective.goal is not None:
        objective.goal = spec.objective.goal
    types = {v: k for k, v in _TYPES.items()}
    distributions = {v: k for k, v in _DISTRIBUTIONS.items()}
    for p in spec.parameters or []:
        param = out.spec.parameter_specs.parameters.add(name=p.name or "")
        param.parameter_type = enum_value("ParameterType", types.get(p.parameter_type or "", "UNKNOWN_TYPE"))
        fs = p.feasible_space
        if fs is not None:
            param.feasible_space.min = fs.min or ""
            param.feasible_space.max = fs.max or ""
            param.feasible_space.step = fs.step or ""
            param.feasible_space.list.extend(fs.values or [])
            if fs.distribution in distributions:
                param.feasible_space.distribution = enum_value("Distribution", distributions[fs.distribution])
    if spec.early_stopping is not None and spec.early_stopping.algorithm_name:
        out.spec.early_stopping.algorithm_name = spec.early_stopping.algorithm_name
        for s in spec.early_stopping.algorithm_settings or []:
            out.spec.early_stopping.algorithm_settings.add(name=s.name or "", value=s.value or "")
    out.spec.parallel_trial_count = spec.parallel_trial_count or 0
    out.spec.max_trial_count = spec.max_trial_count or 0
    return out


def trial_messages(history: Sequence[TrialRecord], objective_metric: str) -> list[Any]:
    """The trials Katib's controller would send (``ConvertTrials``): not MetricsUnavailable ones, nor
    early-stopped ones without an objective; the objective's value already reduced by its strategy."""
    names = {v: k for k, v in _CONDITIONS.items()}
    trials = []
    for record in history:
        if record.state is TrialState.METRICS_UNAVAILABLE:
            continue
        if record.state is TrialState.EARLY_STOPPED and record.objective is None:
            continue
        trial = message("Trial")(name=record.name)
        trial.spec.objective.objective_metric_name = objective_metric
        for key, value in record.assignments.items():
            trial.spec.parameter_assignments.assignments.add(name=key, value=value)
        trial.status.condition = enum_value("TrialStatus.TrialConditionType", names[record.state])
        if record.objective is not None:
            trial.status.observation.metrics.add(name=objective_metric, value=repr(record.objective))
        trials.append(trial)
    return trials
