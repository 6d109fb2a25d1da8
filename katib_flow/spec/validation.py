"""Validation: every rule of Katib's validating webhook, and the checks Katib defers.

Katib's webhook stops at the first broken section and leaves bounds, steps and
algorithm settings to the algorithm service, which fails after the experiment
has started. :func:`validate` reports every problem at once, each with its
field path, before anything runs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..exceptions import Problem, SpecError
from . import constants as c
from .collector_rules import validate_metrics_collector
from .defaults import apply_defaults
from .models import Experiment, ExperimentSpec, ObjectiveSpec
from .paths import ROOT, SPEC
from .template_rules import validate_trial_template

if TYPE_CHECKING:
    from ..space import SearchSpace

__all__ = ["check", "validate"]

_NAME_RE = re.compile(c.NAME_PATTERN)
_NAMESPACE_RE = re.compile(c.NAMESPACE_PATTERN)


def validate(experiment: Experiment) -> list[Problem]:
    """Every problem of ``experiment`` (defaults are applied first, as Katib does)."""
    return _problems(apply_defaults(experiment))


def check(experiment: Experiment, source: str | None = None) -> Experiment:
    """The defaulted experiment, or :class:`SpecError` with every problem."""
    defaulted = apply_defaults(experiment)
    problems = _problems(defaulted)
    if problems:
        raise SpecError(problems, source=source)
    return defaulted


def _problems(exp: Experiment) -> list[Problem]:
    spec = exp.spec
    problems = _document_problems(exp)
    problems += _budget_problems(spec)
    problems += _objective_problems(spec.objective)
    space, param_problems = _search_space(spec)
    # The plugins import the search space too.
    from ..algorithms import validate_algorithm
    from ..earlystopping import validate_early_stopping

    problems += validate_algorithm(spec, space if not param_problems else None)
    problems += validate_early_stopping(spec)
    if spec.resume_policy not in c.RESUME_POLICIES:
        problems.append(
            Problem(
                str(SPEC.child("resumePolicy")),
                f"invalid resumePolicy {spec.resume_policy!r} (one of {', '.join(c.RESUME_POLICIES)})",
            )
        )
    problems += validate_trial_template(spec)
    problems += param_problems
    problems += validate_metrics_collector(spec)
    return problems


def _document_problems(exp: Experiment) -> list[Problem]:
    problems = []
    if exp.api_version != c.API_VERSION:
        problems.append(Problem(str(ROOT.child("apiVersion")), f"must be {c.API_VERSION} (got {exp.api_version!r})"))
    if exp.kind != c.KIND:
        problems.append(Problem(str(ROOT.child("kind")), f"must be {c.KIND} (got {exp.kind!r})"))
    meta = ROOT.child("metadata")
    name = exp.metadata.name
    if not name:
        problems.append(Problem(str(meta.child("name")), "must be specified"))
    else:
        if not _NAME_RE.match(name):
            problems.append(
                Problem(
                    str(meta.child("name")),
                    "must consist of lower case alphanumeric characters or '-', start with an alphabetic character, "
                    f"and end with an alphanumeric character (got {name!r})",
                )
            )
        if len(name) > c.NAME_MAX_LENGTH:
            problems.append(
                Problem(
                    str(meta.child("name")), f"must be no more than {c.NAME_MAX_LENGTH} characters (got {len(name)})"
                )
            )
    ns = exp.metadata.namespace
    if ns is not None and (not _NAMESPACE_RE.match(ns) or len(ns) > c.NAMESPACE_MAX_LENGTH):
        problems.append(
            Problem(str(meta.child("namespace")), f"must be a valid Kubernetes namespace name (got {ns!r})")
        )
    return problems


INT32_MAX = 2**31 - 1  # Katib's ExperimentSpec counts are *int32 (pkg/apis/controller/experiments/v1beta1)


def _budget_problems(spec: ExperimentSpec) -> list[Problem]:
    problems = []
    max_failed, max_trials, parallel = spec.max_failed_trial_count, spec.max_trial_count, spec.parallel_trial_count
    if max_failed is not None and max_failed < 0:
        problems.append(
            Problem(str(SPEC.child("maxFailedTrialCount")), f"should not be less than 0 (got {max_failed})")
        )
    if max_trials is not None and max_trials <= 0:
        problems.append(Problem(str(SPEC.child("maxTrialCount")), f"must be greater than 0 (got {max_trials})"))
    if parallel is not None and parallel <= 0:
        problems.append(Problem(str(SPEC.child("parallelTrialCount")), f"must be greater than 0 (got {parallel})"))
    for field, value in (
        ("parallelTrialCount", parallel),
        ("maxTrialCount", max_trials),
        ("maxFailedTrialCount", max_failed),
    ):
        if value is not None and value > INT32_MAX:
            problems.append(
                Problem(
                    str(SPEC.child(field)),
                    f"must be at most {INT32_MAX} (Katib's counts are int32; got {value})",
                )
            )
    # A non-positive maxTrialCount is already reported; comparing against it only adds noise.
    if max_failed is not None and max_trials is not None and 0 < max_trials < max_failed:
        problems.append(
            Problem(
                str(SPEC.child("maxFailedTrialCount")),
                f"should be less than or equal to spec.maxTrialCount (got {max_failed} > {max_trials})",
            )
        )
    if parallel is not None and max_trials is not None and 0 < max_trials < parallel:
        problems.append(
            Problem(
                str(SPEC.child("parallelTrialCount")),
                f"should be less than or equal to spec.maxTrialCount (got {parallel} > {max_trials})",
            )
        )
    return problems


def _objective_problems(obj: ObjectiveSpec | None) -> list[Problem]:
    path = SPEC.child("objective")
    if obj is None:
        return [Problem(str(path), "must be specified")]
    problems = []
    if obj.type not in c.OBJECTIVE_TYPES:
        problems.append(Problem(str(path.child("type")), f"must be minimize or maximize (got {obj.type!r})"))
    if not obj.objective_metric_name:
        problems.append(Problem(str(path.child("objectiveMetricName")), "must be specified"))
    additional = obj.additional_metric_names or []
    for i, name in enumerate(additional):
        if name == obj.objective_metric_name:
            problems.append(
                Problem(
                    str(path.child("additionalMetricNames").index(i)), f"must not repeat the objective metric {name!r}"
                )
            )
        elif name in additional[:i]:
            problems.append(
                Problem(str(path.child("additionalMetricNames").index(i)), f"duplicate metric name {name!r}")
            )
    metrics = {obj.objective_metric_name, *additional}
    seen: set[str | None] = set()
    for i, strategy in enumerate(obj.metric_strategies or []):
        here = path.child("metricStrategies").index(i)
        if strategy.value not in c.METRIC_STRATEGIES:
            problems.append(Problem(str(here.child("value")), f"must be min, max or latest (got {strategy.value!r})"))
        if strategy.name not in metrics:
            problems.append(
                Problem(
                    str(here.child("name")),
                    f"{strategy.name!r} is neither the objective metric nor an additional metric",
                )
            )
        elif strategy.name in seen:
            problems.append(Problem(str(here.child("name")), f"duplicate strategy for metric {strategy.name!r}"))
        seen.add(strategy.name)
    return problems


def _search_space(spec: ExperimentSpec) -> tuple[SearchSpace, list[Problem]]:
    from ..space import SearchSpace, parse_parameter  # space imports this package's constants

    params_path = SPEC.child("parameters")
    problems: list[Problem] = []
    if spec.nas_config is not None:
        problems.append(
            Problem(str(SPEC.child("nasConfig")), "neural architecture search is not supported by katib-flow")
        )
        if spec.parameters:
            problems.append(Problem(str(SPEC), "only one of spec.parameters and spec.nasConfig can be specified"))
    elif not spec.parameters:
        problems.append(Problem(str(params_path), "spec.parameters or spec.nasConfig must be specified"))
    parsed = []
    seen: set[str] = set()
    for i, raw in enumerate(spec.parameters or []):
        if raw.name and raw.name in seen:
            problems.append(Problem(str(params_path.index(i).child("name")), f"duplicate parameter name {raw.name!r}"))
        seen.add(raw.name or "")
        param, found = parse_parameter(raw, params_path.index(i))
        problems.extend(found)
        if param is not None:
            parsed.append(param)
    return SearchSpace(tuple(parsed)), problems
