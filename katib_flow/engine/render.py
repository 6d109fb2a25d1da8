"""Rendering a trial: its run object, and the local view of its primary container.

``${trialParameters.<name>}`` and ``${trialSpec.Name|Namespace|Kind|APIVersion|
Labels[k]|Annotations[k]}`` are replaced inside the strings of the parsed trial
spec, never in serialized text: a parameter value such as ``"a\\n- b"`` stays one
string and cannot add a YAML list item or a shell word.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..exceptions import SpecError
from ..spec import constants as c
from ..spec.containers import trial_containers
from ..spec.models import Experiment
from ..spec.paths import FieldPath
from ..spec.placeholders import map_strings
from ..store import Store, TrialRow
from .trials import load_trial, start_running

__all__ = ["LocalCommand", "RenderedTrial", "render_in", "render_row", "render_run_object", "render_trial"]

_PARAM = re.compile(c.TRIAL_PARAMETER_PATTERN)
_META = re.compile(r"^\$\{trialSpec\.(.+?)\}$")
_INDEXED = re.compile(c.TRIAL_META_INDEXED_PATTERN)


@dataclass(frozen=True)
class LocalCommand:
    """The primary container as a local process: argv, environment, working directory."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class RenderedTrial:
    name: str
    run_object: dict[str, Any]
    command: LocalCommand


def render_run_object(experiment: Experiment, trial_name: str, assignments: Mapping[str, str]) -> dict[str, Any]:
    """The trial's run object (Job, TFJob, ...) with its name, namespace and parameters filled in."""
    template = experiment.spec.trial_template
    if template is None or template.trial_spec is None:
        raise SpecError.single(
            "spec.trialTemplate.trialSpec",
            "a trialSpec is needed to render a trial (configMap templates are read on the cluster)",
        )
    run_object: dict[str, Any] = copy.deepcopy(template.trial_spec)
    metadata = run_object.setdefault("metadata", {})
    metadata["name"] = trial_name
    if experiment.namespace:
        metadata["namespace"] = experiment.namespace
    values: dict[str, str] = {}
    for tp in template.trial_parameters or []:
        if tp.name and tp.reference:
            values[tp.name] = _resolve(tp.reference, assignments, run_object)

    def substitute(text: str) -> str:
        return _PARAM.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    rendered: dict[str, Any] = map_strings(run_object, substitute)
    return rendered


def _resolve(reference: str, assignments: Mapping[str, str], run_object: Mapping[str, Any]) -> str:
    if reference in assignments:
        return assignments[reference]
    match = _META.match(reference)
    if match is None:
        raise SpecError.single("spec.trialTemplate.trialParameters", f"reference {reference!r} has no value")
    key = match.group(1)
    metadata = run_object.get("metadata", {})
    simple = {
        "Name": metadata.get("name", ""),
        "Namespace": metadata.get("namespace", ""),
        "Kind": run_object.get("kind", ""),
        "APIVersion": run_object.get("apiVersion", ""),
    }
    if key in simple:
        return str(simple[key])
    indexed = _INDEXED.match(key)
    if indexed and indexed.group(1) in ("Labels", "Annotations"):
        bag = metadata.get(indexed.group(1).lower(), {}) or {}
        return str(bag.get(indexed.group(2), ""))
    raise SpecError.single("spec.trialTemplate.trialParameters", f"reference {reference!r} has no value")


def local_command(experiment: Experiment, run_object: Mapping[str, Any]) -> LocalCommand:
    """The primary container of a rendered run object, as a local command line."""
    template = experiment.spec.trial_template
    primary = template.primary_container_name if template else None
    sites, _ = trial_containers(run_object, FieldPath("trialSpec"))
    for site in sites:
        if site.name != primary:
            continue
        container = site.container
        argv = [*container.get("command", []), *container.get("args", [])]
        env = {
            str(e["name"]): str(e.get("value", ""))
            for e in container.get("env", []) or []
            if isinstance(e, Mapping) and "name" in e and "valueFrom" not in e
        }
        return LocalCommand(argv, env, container.get("workingDir"), container.get("image"))
    # Kinds whose containers are not visible (a custom resource) have no local command; ``run`` refuses them
    # before anything starts (containers.local_refusal), the cluster driver never needs one.
    return LocalCommand([])


def render_trial(store: Store, experiment_id: int, name: str, *, start: bool = False) -> RenderedTrial:
    """Render (once) and return a trial's run object and local command; safe to call again.

    With ``start`` the trial is also marked Running in the same transaction (the
    local runner starts the process right after; the Argo driver marks it when
    its run object exists).
    """

    return store.transaction(lambda session: render_in(session, experiment_id, name, start=start))


def render_in(session: Session, experiment_id: int, name: str, *, start: bool = False) -> RenderedTrial:
    """:func:`render_trial` inside the caller's transaction."""
    loaded = load_trial(session, experiment_id, name)
    return render_row(loaded.row, loaded.experiment, start=start)


def render_row(row: TrialRow, experiment: Experiment, *, start: bool = False) -> RenderedTrial:
    """Render a loaded trial row (stored on it the first time) and start it with ``start``."""
    if row.run_object is None:
        row.run_object = render_run_object(experiment, row.name, {a["name"]: a["value"] for a in row.assignments})
    if start:
        start_running(row)
    return RenderedTrial(row.name, row.run_object, local_command(experiment, row.run_object))
