"""A test-only interpreter of exactly the Argo subset katib-flow's compiler emits.

It runs a compiled Workflow end to end on this machine: steps templates (each
group's steps in parallel threads), ``when``, parameters (``inputs.parameters``,
``steps.<s>.outputs.parameters``, ``steps.<s>.status``, ``{{=asInt(x) + n}}``),
recursion, container templates (``katib-flow step ...`` run as real processes,
raw input artifacts, ``valueFrom.path`` outputs, ``globalName``) and resource
templates (``action: create`` of a batch/v1 Job whose pods are simulated by
running the primary container's command locally, with the Job controller's
retries up to ``backoffLimit``; the pods and their logs are published on the
fake Kubernetes API; success and failure conditions are evaluated as Argo's
selectors). ``retried`` names templates whose every run is executed twice, as
when Argo retries a step whose first pod did its work and then died.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cluster_tests.fake_jobs import JobController
from ..cluster_tests.fake_kubernetes import FakeKubernetes

_REF = re.compile(r"\{\{\s*([^}=][^}]*?)\s*\}\}")
_EXPR = re.compile(r"\{\{=\s*asInt\(([\w.-]+)\)\s*\+\s*(\d+)\s*\}\}")
_STEP_OUTPUTS = "/tmp/katib-flow"


@dataclass
class Node:
    status: str  # Succeeded, Failed, Skipped
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Interpreter:
    workflow: dict[str, Any]
    workdir: Path
    secrets: dict[str, dict[str, str]]
    kube: FakeKubernetes
    kubeconfig: Path
    retried: frozenset[str] = frozenset()
    calls: Counter[str] = field(default_factory=Counter)
    global_outputs: dict[str, str] = field(default_factory=dict)
    max_depth: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    _folders: Iterator[int] = field(default_factory=itertools.count)

    def run(self) -> str:
        spec = self.workflow["spec"]
        self.templates = {t["name"]: t for t in spec["templates"]}
        phase = self.execute(spec["entrypoint"], {}, 0).status
        if spec.get("onExit"):
            self.execute(spec["onExit"], {}, 0)
        return phase

    def execute(self, name: str, inputs: dict[str, str], depth: int) -> Node:
        with self._lock:
            self.calls[name] += 1
            self.max_depth = max(self.max_depth, depth)
        assert depth < 100, "Argo refuses templates nested deeper than 100"
        template = self.templates[name]
        wanted = {p["name"] for p in template.get("inputs", {}).get("parameters", [])}
        assert wanted == set(inputs), (name, wanted, inputs)
        if "steps" in template:
            return self._steps(template, inputs, depth)
        if "container" in template:
            node = self._container(template, inputs)
            if name in self.retried:
                node = self._container(template, inputs)
            return node
        return self._resource(template, inputs)

    # ---- steps -----------------------------------------------------------------------------

    def _steps(self, template: dict[str, Any], inputs: dict[str, str], depth: int) -> Node:
        scope: dict[str, Node] = {}
        for group in template["steps"]:
            with ThreadPoolExecutor(max(1, len(group))) as pool:
                futures = {s["name"]: pool.submit(self._step, s, inputs, scope, depth) for s in group}
                results = {name: f.result() for name, f in futures.items()}
            scope.update(results)
            for step in group:
                node = results[step["name"]]
                if node.status == "Failed" and not step.get("continueOn", {}).get("failed"):
                    return Node("Failed")
        return Node("Succeeded")

    def _step(self, step: dict[str, Any], inputs: dict[str, str], scope: dict[str, Node], depth: int) -> Node:
        when = step.get("when")
        if when is not None and not _holds(self._substitute(when, inputs, scope)):
            return Node("Skipped")
        arguments = {
            p["name"]: self._substitute(p["value"], inputs, scope)
            for p in step.get("arguments", {}).get("parameters", [])
        }
        return self.execute(step["template"], arguments, depth + 1)

    def _substitute(self, text: str, inputs: dict[str, str], scope: dict[str, Node]) -> str:
        def expression(match: re.Match[str]) -> str:
            return str(int(self._value(match.group(1), inputs, scope)) + int(match.group(2)))

        return _REF.sub(lambda m: self._value(m.group(1), inputs, scope), _EXPR.sub(expression, text))

    def _value(self, ref: str, inputs: dict[str, str], scope: dict[str, Node]) -> str:
        parts = ref.split(".")
        if parts[:2] == ["inputs", "parameters"]:
            return inputs[parts[2]]
        if parts[0] == "steps" and parts[2] == "status":
            return scope[parts[1]].status
        if parts[0] == "steps" and parts[2:4] == ["outputs", "parameters"]:
            node = scope[parts[1]]
            return node.outputs.get(parts[4], "") if node.status != "Skipped" else ""
        raise AssertionError(f"unsupported reference {ref!r}")

    # ---- containers ------------------------------------------------------------------------

    def _container(self, template: dict[str, Any], inputs: dict[str, str]) -> Node:
        with self._lock:
            index = next(self._folders)
        folder = self.workdir / f"{index:05d}-{template['name']}"
        folder.mkdir(parents=True)
        container = template["container"]
        args = [_local(_substitute_inputs(a, inputs), folder) for a in container.get("args", [])]
        for artifact in template.get("inputs", {}).get("artifacts", []):
            local = _local(artifact["path"], folder, artifact=True)
            Path(local).parent.mkdir(parents=True, exist_ok=True)
            Path(local).write_text(artifact["raw"]["data"])
            args = [local if a == artifact["path"] else a for a in args]
        assert container["command"][0] == "katib-flow"
        argv = [sys.executable, "-m", "katib_flow.cli", *container["command"][1:], *args]
        env = {"KUBECONFIG": str(self.kubeconfig), "PATH": "/usr/bin:/bin"}
        for e in container.get("env", []):
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = self.secrets[ref["name"]][ref["key"]]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        (folder / "log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            return Node("Failed")
        outputs = {}
        for p in template.get("outputs", {}).get("parameters", []):
            outputs[p["name"]] = Path(_local(p["valueFrom"]["path"], folder)).read_text()
            if "globalName" in p:
                with self._lock:
                    self.global_outputs[p["globalName"]] = outputs[p["name"]]
        return Node("Succeeded", outputs)

    # ---- resources -------------------------------------------------------------------------

    def _resource(self, template: dict[str, Any], inputs: dict[str, str]) -> Node:
        resource = template["resource"]
        assert resource["action"] == "create"
        manifest = json.loads(_substitute_inputs(resource["manifest"], inputs))
        assert manifest["kind"] == "Job", "the interpreter simulates batch/v1 Jobs"
        name = manifest["metadata"]["name"]
        with self._lock:
            if name in self._objects:
                return Node("Failed")  # Argo's create of an existing object fails
            self._objects[name] = manifest
        manifest["status"] = JobController(self.kube).run(manifest)
        if _selector_holds(resource["successCondition"], manifest):
            return Node("Succeeded")
        assert _selector_holds(resource["failureCondition"], manifest)
        return Node("Failed")


def _substitute_inputs(text: str, inputs: dict[str, str]) -> str:
    return _REF.sub(lambda m: inputs[m.group(1).split(".")[2]], text)


def _local(path: str, folder: Path, artifact: bool = False) -> str:
    """Where a container path of a step lives on this machine: its outputs and artifacts in the step's folder."""
    if artifact:
        return str(folder / "artifacts" / path.lstrip("/"))
    if path == _STEP_OUTPUTS or path.startswith(_STEP_OUTPUTS + "/"):
        return str(folder / "outputs") + path[len(_STEP_OUTPUTS) :]
    return path


def _holds(expression: str) -> bool:
    """Argo's ``when`` for the forms the compiler writes: comparisons joined by ``&&``."""
    for term in expression.split("&&"):
        left, op, right = term.split()
        if op == "==":
            ok = left == right
        else:
            assert op == "<"
            ok = int(left) < int(right)
        if not ok:
            return False
    return True


def _selector_holds(selector: str, document: dict[str, Any]) -> bool:
    path, op, value = selector.split()
    current: Any = document
    for key in path.split("."):
        current = current.get(key) if isinstance(current, dict) else None
    assert op == ">"
    return current is not None and int(current) > int(value)
