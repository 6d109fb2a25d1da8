"""Trial templates kept in a ConfigMap (``spec.trialTemplate.configMap``), read once and stored resolved.

Katib reads ``configMapNamespace/configMapName``'s key ``templatePath`` each
time it creates a trial, so editing the ConfigMap changes the trials of a
running experiment. katib-flow reads it once, when the experiment is stored,
and keeps the resolved template with the experiment: every later trial, step
and generation uses the same template. The resolved experiment has the
template as its ``trialSpec`` (Katib's rule allows one source) and says where
it came from in the annotation :data:`SOURCE_ANNOTATION`.

Where the ConfigMap is read from:
- ``katib-flow run`` / ``validate``: ``--trial-templates PATH``, a folder holding
  a file named ``templatePath``, or a YAML file of ConfigMap manifests (what
  ``kubectl get configmap -o yaml`` prints or Katib's install ships);
- the cluster's ``init`` step: the Kubernetes API (RBAC: get configmaps).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from ..exceptions import SpecError
from .models import Experiment

__all__ = ["SOURCE_ANNOTATION", "TemplateLookup", "files_lookup", "resolve_trial_template", "source_of"]

SOURCE_ANNOTATION = "katib-flow.kubeflow.org/trial-template-source"
PATH = "spec.trialTemplate.configMap"

# (namespace, name, key) -> the template text, or None when that source does not have it
TemplateLookup = Callable[[str, str, str], "str | None"]


def source_of(experiment: Experiment) -> str | None:
    """``ConfigMap <namespace>/<name> key <templatePath>`` for a ConfigMap template, else None."""
    template = experiment.spec.trial_template
    cm = template.config_map if template else None
    if cm is None:
        return None
    return f"ConfigMap {cm.config_map_namespace}/{cm.config_map_name} key {cm.template_path}"


def resolve_trial_template(experiment: Experiment, lookup: TemplateLookup, where: str) -> Experiment:
    """``experiment`` with its ConfigMap template read through ``lookup`` (``where`` names it in errors).

    An experiment with an inline ``trialSpec`` is returned as it is.
    """
    template = experiment.spec.trial_template
    source = source_of(experiment)
    if template is None or template.config_map is None or source is None:
        return experiment
    cm = template.config_map
    if not (cm.config_map_namespace and cm.config_map_name and cm.template_path):
        return experiment  # validation names the missing field
    text = lookup(cm.config_map_namespace, cm.config_map_name, cm.template_path)
    if text is None:
        raise SpecError.single(PATH, f"{source} was not found in {where}")
    try:
        trial_spec = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SpecError.single(PATH, f"{source} is not YAML: {err}") from None
    if not isinstance(trial_spec, dict):
        raise SpecError.single(PATH, f"{source} must hold a trial spec (a mapping), not {type(trial_spec).__name__}")
    document = experiment.to_dict()
    document["spec"]["trialTemplate"].pop("configMap")
    document["spec"]["trialTemplate"]["trialSpec"] = trial_spec
    metadata = document.setdefault("metadata", {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), SOURCE_ANNOTATION: source}
    return Experiment.model_validate(document)


def files_lookup(paths: Iterable[str | os.PathLike[str]]) -> TemplateLookup:
    """A lookup over folders (a file named ``templatePath``) and ConfigMap manifest files, first match wins."""
    sources = [Path(p) for p in paths]
    manifests: dict[tuple[str, str], dict[str, Any]] = {}
    for source in sources:
        if source.is_file():
            manifests.update(_config_maps(source))
        elif not source.is_dir():
            raise SpecError.single("--trial-templates", f"{source} is neither a folder nor a file")

    def lookup(namespace: str, name: str, key: str) -> str | None:
        for source in sources:
            if source.is_dir() and (source / key).is_file():
                return (source / key).read_text(encoding="utf-8")
        data = manifests.get((namespace, name))
        value = data.get(key) if data else None
        return value if isinstance(value, str) else None

    return lookup


def _config_maps(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as err:
        raise SpecError.single("--trial-templates", f"cannot read ConfigMaps from {path}: {err}") from None
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in documents:
        items = doc.get("items", []) if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
        for item in items:
            if isinstance(item, dict) and item.get("kind") == "ConfigMap":
                meta = item.get("metadata") or {}
                found[(str(meta.get("namespace", "default")), str(meta.get("name", "")))] = item.get("data") or {}
    if not found:
        raise SpecError.single("--trial-templates", f"{path} holds no ConfigMap")
    return found
