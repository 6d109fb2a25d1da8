"""Validation of ``spec.trialTemplate``: Katib's rules, plus the primary container checks.

Katib checks placeholders by string replacement over the serialized template;
katib-flow looks for them in the strings of the parsed object, which finds the
same things without touching the YAML text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..exceptions import Problem
from . import constants as c
from .containers import ContainerSite, trial_containers
from .models import ExperimentSpec, TrialTemplate
from .paths import SPEC
from .placeholders import is_meta_reference, parameter_placeholders

__all__ = ["validate_trial_template"]

PATH = SPEC.child("trialTemplate")
_JOB_TOP_LEVEL = {"apiVersion", "kind", "metadata", "spec"}


def validate_trial_template(spec: ExperimentSpec) -> list[Problem]:
    template = spec.trial_template
    if template is None:
        return [Problem(str(PATH), "must be specified")]
    problems: list[Problem] = []
    if not template.primary_container_name:
        problems.append(Problem(str(PATH.child("primaryContainerName")), "must be specified"))
    # Without a source (or a kind) defaults could not apply; that root cause is reported below instead.
    has_kind = template.config_map is not None or bool(template.trial_spec and template.trial_spec.get("kind"))
    if has_kind and (not template.success_condition or not template.failure_condition):
        missing = "successCondition" if not template.success_condition else "failureCondition"
        problems.append(
            Problem(
                str(PATH.child(missing)),
                "successCondition and failureCondition must be specified for a trial kind without Katib defaults",
            )
        )
    if template.trial_parameters is None:
        problems.append(Problem(str(PATH.child("trialParameters")), "must be specified"))
        return problems
    if template.trial_spec is None and template.config_map is None:
        problems.append(Problem(str(PATH.child("trialSpec")), "one of trialSpec or configMap must be specified"))
        return problems
    if template.trial_spec is not None and template.config_map is not None:
        problems.append(Problem(str(PATH), "only one of trialSpec or configMap can be specified"))
        return problems
    if template.config_map is not None:
        cm = template.config_map
        for key, value in (
            ("configMapName", cm.config_map_name),
            ("configMapNamespace", cm.config_map_namespace),
            ("templatePath", cm.template_path),
        ):
            if not value:
                problems.append(Problem(str(PATH.child("configMap").child(key)), "must be specified"))
        # The template itself lives in the cluster; its placeholders are checked when it is read.
        return problems
    assert template.trial_spec is not None
    problems.extend(_trial_parameter_problems(spec, template, template.trial_spec))
    problems.extend(_run_object_problems(template, template.trial_spec))
    return problems


def _trial_parameter_problems(
    spec: ExperimentSpec, template: TrialTemplate, trial_spec: dict[str, Any]
) -> list[Problem]:
    problems: list[Problem] = []
    used = parameter_placeholders(trial_spec)
    experiment_params = {p.name for p in spec.parameters or [] if p.name}
    names: set[str] = set()
    references: set[str] = set()
    tp_path = PATH.child("trialParameters")
    for i, tp in enumerate(template.trial_parameters or []):
        here = tp_path.index(i)
        if not tp.name or not tp.reference or "{" in tp.name or "}" in tp.name:
            problems.append(
                Problem(str(here), "name and reference must be specified and name must not contain '{' or '}'")
            )
            continue
        if tp.name in names:
            problems.append(Problem(str(here.child("name")), f"duplicate trial parameter name {tp.name!r}"))
            continue
        names.add(tp.name)
        if tp.reference in references:
            problems.append(
                Problem(str(here.child("reference")), f"duplicate trial parameter reference {tp.reference!r}")
            )
            continue
        references.add(tp.reference)
        if experiment_params and not is_meta_reference(tp.reference) and tp.reference not in experiment_params:
            problems.append(
                Problem(
                    str(here.child("reference")),
                    f"{tp.reference!r} is neither one of spec.parameters ({', '.join(sorted(experiment_params))}) "
                    "nor a ${trialSpec.<Name|Namespace|Kind|APIVersion|Labels[k]|Annotations[k]>} reference",
                )
            )
        if tp.name not in used:
            placeholder = c.TRIAL_PARAMETER_PLACEHOLDER.format(name=tp.name)
            problems.append(
                Problem(str(here.child("name")), f"{placeholder} does not appear in spec.trialTemplate.trialSpec")
            )
    for name in used:
        if name not in names:
            placeholder = c.TRIAL_PARAMETER_PLACEHOLDER.format(name=name)
            problems.append(
                Problem(
                    str(PATH.child("trialSpec")),
                    f"{placeholder} is used but not declared in spec.trialTemplate.trialParameters",
                )
            )
    return problems


def _run_object_problems(template: TrialTemplate, trial_spec: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    ts_path = PATH.child("trialSpec")
    metadata = trial_spec.get("metadata")
    if isinstance(metadata, Mapping):
        for key in ("name", "namespace"):
            if metadata.get(key):
                problems.append(
                    Problem(
                        str(ts_path.child("metadata").child(key)),
                        "must be omitted (each trial names its own run object)",
                    )
                )
    for key in ("apiVersion", "kind"):
        if not isinstance(trial_spec.get(key), str) or not trial_spec.get(key):
            problems.append(Problem(str(ts_path.child(key)), "must be specified"))
    if trial_spec.get("kind") == c.JOB_KIND and trial_spec.get("apiVersion") == c.JOB_API_VERSION:
        for key in sorted(set(trial_spec) - _JOB_TOP_LEVEL):
            problems.append(Problem(str(ts_path.child(key)), "unknown field of a batch/v1 Job"))
    sites, known = trial_containers(trial_spec, ts_path)
    for site in sites:
        problems.extend(_container_problems(site))
    primary = template.primary_container_name
    # A kind whose containers katib-flow cannot see is taken at its word, as Katib does.
    if primary and known and not any(site.name == primary for site in sites):
        found = ", ".join(site.name for site in sites) or "none"
        problems.append(
            Problem(
                str(PATH.child("primaryContainerName")),
                f"no container named {primary!r} in the trial spec (containers: {found})",
            )
        )
    return problems


def _container_problems(site: ContainerSite) -> list[Problem]:
    problems = []
    path, container = site.path, site.container
    named_by_kind = site.name != container.get("name")  # Argo's main, Tekton's step-, TrainJob's node
    if not named_by_kind and (not isinstance(container.get("name"), str) or not container.get("name")):
        problems.append(Problem(str(path.child("name")), "must be specified"))
    for key in ("command", "args"):
        value = container.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            problems.append(Problem(str(path.child(key)), "must be a list of strings (quote numbers and booleans)"))
    return problems
