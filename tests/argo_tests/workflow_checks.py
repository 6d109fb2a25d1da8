"""Structural checks of a compiled Workflow: Argo's JSON schema (strict) and the semantic rules Argo applies.

The schema is Argo v4.1.2's own (``../shared/argo/workflow-schema.json``), with
IntOrString fixed to string-or-integer and ``additionalProperties: false`` added
to every object definition, so a misspelt key fails.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from katib_flow.argo.compiler import CALLER_DEPTH

SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "argo" / "workflow-schema.json"
_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
_REFERENCE = re.compile(r"\{\{(?!=)\s*([^}]+?)\s*\}\}")
_SELECTOR = re.compile(r"^[A-Za-z0-9_./-]{1,63} (==|!=|=|<|>) [A-Za-z0-9_.-]+$")
_MAX_BYTES = 1024 * 1024
_MAX_DEPTH = 100


@cache
def _validator(kind: str) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    if not SCHEMA.is_file():
        pytest.skip(f"{SCHEMA} is absent")
    schema = json.loads(SCHEMA.read_text())
    definitions = schema["definitions"]
    definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["string", "integer"]}
    for definition in definitions.values():
        if "properties" in definition:
            definition["additionalProperties"] = False
    strict = copy.deepcopy(schema)
    strict.pop("oneOf", None)
    strict["$ref"] = f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}"
    return jsonschema.Draft202012Validator(strict)


def schema_errors(document: dict[str, Any]) -> list[str]:
    errors = _validator(document["kind"]).iter_errors(document)
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors]


def semantic_errors(document: dict[str, Any]) -> list[str]:
    """Argo's rules the schema does not express, for the subset the compiler emits."""
    problems: list[str] = []
    size = len(json.dumps(document))
    if size >= _MAX_BYTES:
        problems.append(f"the object is {size} bytes (>= 1 MiB)")
    spec = document["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    for name in [*templates, spec.get("entrypoint", ""), spec.get("onExit", "")]:
        if name and (not _NAME.match(name) or len(name) > 128):
            problems.append(f"template name {name!r} is not a valid Argo name")
    for name in (spec.get("entrypoint"), spec.get("onExit")):
        if name and name not in templates:
            problems.append(f"{name!r} is not a template")
    for template in templates.values():
        declared = {p["name"] for p in template.get("inputs", {}).get("parameters", [])}
        for ref in _REFERENCE.findall(json.dumps(template.get("container", {}))):
            if ref.startswith("inputs.parameters.") and ref.split(".", 2)[2] not in declared:
                problems.append(f"{template['name']}: {ref} is not an input")
        args = template.get("container", {}).get("args", [])
        handles_runs = template.get("container", {}).get("command") == ["katib-flow", "step"] and args[:1] in (
            ["suggest"],
            ["wait"],
            ["collect"],
        )  # run objects and their pods live in the Workflow's namespace (cluster/placement.py)
        placed = "--run-namespace" in args and args[args.index("--run-namespace") + 1] == "{{workflow.namespace}}"
        if handles_runs and not placed:
            problems.append(f"{template['name']}: run objects not placed in the Workflow's namespace")
        resource = template.get("resource")
        if resource is not None:
            namespace = re.search(r'"namespace": "([^"]*)"', resource.get("manifest", ""))
            if namespace is not None and namespace.group(1) != "{{workflow.namespace}}":
                problems.append(f"{template['name']}: creates an object in namespace {namespace.group(1)!r}")
            if resource["action"] not in ("get", "create", "apply", "delete", "replace", "patch"):
                problems.append(f"{template['name']}: resource action {resource['action']!r}")
            for key in ("successCondition", "failureCondition"):
                for term in resource.get(key, "").split(","):
                    if term and not _SELECTOR.match(term.strip()):
                        problems.append(f"{template['name']}: {key} {term!r} is not an Argo selector")
        if "steps" in template:
            if "activeDeadlineSeconds" in template:
                problems.append(f"{template['name']}: activeDeadlineSeconds on a steps template")
            problems += _steps_errors(template, templates, declared)
    problems += _depth_errors(spec, templates)
    return problems


def _steps_errors(template: dict[str, Any], templates: dict[str, Any], declared: set[str]) -> list[str]:
    problems: list[str] = []
    seen: dict[str, dict[str, Any]] = {}
    for group in template["steps"]:
        for step in group:
            target = templates.get(step["template"])
            if target is None:
                problems.append(f"{template['name']}.{step['name']}: no template {step['template']!r}")
                continue
            target_inputs = target.get("inputs", {}).get("parameters", [])
            wanted = {i["name"] for i in target_inputs}
            optional = {i["name"] for i in target_inputs if "default" in i}
            given = {p["name"] for p in step.get("arguments", {}).get("parameters", [])}
            if not (wanted - optional <= given <= wanted):
                problems.append(
                    f"{template['name']}.{step['name']}: arguments {sorted(given)} != inputs {sorted(wanted)}"
                )
            for ref in _REFERENCE.findall(json.dumps(step)):
                parts = ref.split(".")
                if parts[0] == "inputs" and parts[2] not in declared:
                    problems.append(f"{template['name']}.{step['name']}: {ref} is not an input")
                if parts[0] == "steps":
                    earlier = seen.get(parts[1])
                    if earlier is None:
                        problems.append(f"{template['name']}.{step['name']}: {ref} names no earlier step")
                    elif parts[2] == "outputs":
                        outputs = {p["name"] for p in earlier.get("outputs", {}).get("parameters", [])}
                        if parts[4] not in outputs:
                            problems.append(f"{template['name']}.{step['name']}: {ref} is not an output")
        for step in group:
            if step["template"] in templates:
                seen[step["name"]] = templates[step["template"]]
    return problems


def _depth_errors(spec: dict[str, Any], templates: dict[str, Any]) -> list[str]:
    """A recursive template must bound its depth below Argo's limit in its ``when``."""
    problems = []
    for template in templates.values():
        for group in template.get("steps", []):
            for step in group:
                if step["template"] == template["name"]:
                    bound = re.search(r"inputs\.parameters\.depth\}\} < (\d+)", step.get("when", ""))
                    # main -> generation -> the lane's iterations -> a step, plus the levels callers keep
                    if bound is None or int(bound.group(1)) + 1 + 3 + CALLER_DEPTH >= _MAX_DEPTH:
                        problems.append(f"{template['name']}.{step['name']}: recursion not bounded below {_MAX_DEPTH}")
    return problems
