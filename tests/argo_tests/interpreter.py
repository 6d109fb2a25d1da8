"""A test-only interpreter of exactly the Argo subset katib-flow's compiler emits.

It runs a compiled Workflow end to end on this machine: steps templates (each
group's steps in parallel threads, outputs from ``valueFrom.parameter``),
``when`` (comparisons joined by ``&&`` or ``||``), ``continueOn`` (failed,
error), parameters (``inputs.parameters`` with defaults,
``workflow.name|namespace|uid``, ``steps.<s>.outputs.parameters``,
``steps.<s>.status``, ``{{=asInt(x) + n}}`` and ``* n``, workflow arguments),
recursion, container templates (``katib-flow step ...`` run as real
processes, raw input artifacts, ``valueFrom.path`` outputs, ``globalName``)
and resource templates: ``action: create`` of a batch/v1 Job as Argo's
executor does it (``kubectl create`` in the step pod: the manifest's namespace
or the Workflow's, Forbidden outside ``FakeKubernetes.allowed_namespaces``,
AlreadyExists for an existing one, Argo's controller ownerReference), put on
the fake Kubernetes API and run by the fake Job controller (the primary
container's command as a local process, with the Job controller's retries up
to ``backoffLimit``), judged by Argo's selector rules; ``errors`` makes a
template's run end in phase Error right after the create, the Job running on
(an evicted step pod). ``action: apply`` of a successor Workflow is recorded in
``successors`` (once per name) and, with the WorkflowTemplate, run in a thread;
each Workflow's phase is published on the fake API for ``finish --wait``.
A daemoned container (an algorithm service image) is not started: the test
serves it at the loopback address ``daemons`` gives for its image, which
becomes the step's ``ip``. Steps that reach the API themselves (``katib-flow step wait``, ``collect``)
find it through ``KUBECONFIG``. ``retried`` names templates whose every run is
executed twice, as when Argo retries a step whose first pod did its work and
then died. A template's ``workflows.argoproj.io/display-name`` annotation names
its node (``display_names``; a name outside Argo's regex errors the node, as
Argo does); a container template's ``metrics.prometheus`` gauges are emitted
into ``metrics`` when their ``when`` holds, and a metric Argo could not emit
(a reference without a value, a value that is not a number) goes to
``metric_errors``, as Argo records a MetricsError condition.
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
_EXPR = re.compile(r"\{\{=\s*asInt\(([\w.-]+)\)\s*([+*])\s*(\d+)\s*\}\}")
_STEP_OUTPUTS = "/tmp/katib-flow"
_DISPLAY_NAME = "workflows.argoproj.io/display-name"
_DISPLAY_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-.]{0,61}[a-zA-Z0-9]$")  # Argo's displayNameRegex


@dataclass(frozen=True)
class Emitted:
    """One gauge sample Argo would emit: the metric's name, its labels and its value."""

    name: str
    labels: dict[str, str]
    value: float


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
    name: str = "hpo-00001"
    calls: Counter[str] = field(default_factory=Counter)
    successors: list[dict[str, Any]] = field(default_factory=list)
    # With the WorkflowTemplate a successor is created from, successors run at once, each in a thread
    template_document: dict[str, Any] | None = None
    generations: list[tuple[Interpreter, threading.Thread]] = field(default_factory=list)
    mutexes: dict[str, threading.Lock] = field(default_factory=dict)
    phase: str = ""
    claims: dict[str, Path] = field(default_factory=dict)  # PersistentVolumeClaim name -> local folder
    logs: dict[str, list[str]] = field(default_factory=dict)  # container template -> stdout of each run
    global_outputs: dict[str, str] = field(default_factory=dict)
    max_depth: int = 0
    labels: dict[str, str] = field(default_factory=dict)  # this Workflow's (a successor's come from its manifest)
    # template -> how many of its runs end in phase Error right after creating their object (an evicted pod)
    errors: dict[str, int] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)  # run objects the resource steps created
    # A daemoned container's image -> the loopback address where the test already serves it (port from the
    # template); the daemon's node then has that ``ip``, as Argo gives a daemoned step's pod IP.
    daemons: dict[str, str] = field(default_factory=dict)
    display_names: list[str] = field(default_factory=list)
    metrics: list[Emitted] = field(default_factory=list)
    metric_errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    _folders: Iterator[int] = field(default_factory=itertools.count)

    def run(self, arguments: dict[str, str] | None = None) -> str:
        """Run the Workflow (``arguments`` as a successor's ``spec.arguments``); its phase."""
        spec = self.workflow["spec"]
        self.templates = {t["name"]: t for t in spec["templates"]}
        self.namespace = self.workflow["metadata"].get("namespace") or "default"
        given = {p["name"]: p["value"] for p in spec.get("arguments", {}).get("parameters", [])}
        given.update(arguments or {})
        entry = self.templates[spec["entrypoint"]]
        wanted = {p["name"] for p in entry.get("inputs", {}).get("parameters", [])}
        self._publish_phase("Running")
        phase = self.execute(spec["entrypoint"], {k: v for k, v in given.items() if k in wanted}, 0).status
        if spec.get("onExit"):
            self.execute(spec["onExit"], {}, 0)
        self.phase = phase
        self._publish_phase(phase)
        return phase

    def _publish_phase(self, phase: str) -> None:
        """This Workflow as the Kubernetes API shows it (generation 0's finish --wait lists the generations)."""
        labels = {**self.workflow["metadata"].get("labels", {}), **self.labels}
        with self.kube.lock:
            self.kube.objects[("workflows", self.namespace, self.name)] = {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Workflow",
                "metadata": {"name": self.name, "namespace": self.namespace, "labels": labels},
                "status": {"phase": phase},
            }

    def execute(self, name: str, inputs: dict[str, str], depth: int) -> Node:
        with self._lock:
            self.calls[name] += 1
            self.max_depth = max(self.max_depth, depth)
        # Argo counts the entry template as depth 1 and refuses 100 (maxAllowedStackDepth)
        assert depth + 1 < 100, "Argo refuses templates nested 100 deep"
        template = self.templates[name]
        declared = template.get("inputs", {}).get("parameters", [])
        inputs = {**{p["name"]: p["default"] for p in declared if "default" in p}, **inputs}
        wanted = {p["name"] for p in declared}
        assert wanted == set(inputs), (name, wanted, inputs)
        held = [m["name"] for m in template.get("synchronization", {}).get("mutexes", [])]
        if held:
            (mutex,) = held
            with self._lock:
                lock = self.mutexes.setdefault(mutex, threading.Lock())
            with lock:
                return self._run_template(name, template, inputs, depth)
        return self._run_template(name, template, inputs, depth)

    def _run_template(self, name: str, template: dict[str, Any], inputs: dict[str, str], depth: int) -> Node:
        if "steps" in template:
            return self._steps(template, inputs, depth)
        shown = template.get("annotations", {}).get(_DISPLAY_NAME)
        if shown is not None:  # Argo substitutes the template, then checks the name (operator.go executeTemplate)
            shown = self._substitute(shown, inputs, {})
            if not _DISPLAY_NAME_RE.match(shown):
                return Node("Error")
            with self._lock:
                self.display_names.append(shown)
        if template.get("daemon"):
            assert template["container"]["image"] in self.daemons, "the test serves every daemoned image"
            return Node("Succeeded", {"ip": self.daemons[template["container"]["image"]]})
        if "container" in template:
            node = self._container(template, inputs)
            self._emit_metrics(template, inputs, node)
            if name in self.retried:
                node = self._container(template, inputs)
                self._emit_metrics(template, inputs, node)
            return node
        return self._resource(template, inputs)

    def _emit_metrics(self, template: dict[str, Any], inputs: dict[str, str], node: Node) -> None:
        """Argo's computeMetrics for a completed node: substitute, evaluate ``when``, parse the gauge's value."""
        scope = {"status": node.status, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        scope.update({f"outputs.parameters.{k}": v for k, v in node.outputs.items()})
        for metric in template.get("metrics", {}).get("prometheus", []):
            assert metric.get("help"), "Argo refuses a metric without help"
            assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", metric["name"]), metric["name"]
            missing = [r for r in _REF.findall(json.dumps(metric)) if r not in scope]
            if missing:
                with self._lock:
                    self.metric_errors.append(f"{metric['name']}: unable to substitute {missing}")
                continue
            when = _REF.sub(lambda match: scope[match.group(1)], metric.get("when", ""))
            if when and not _holds(when):
                continue
            value = _REF.sub(lambda match: scope[match.group(1)], metric["gauge"]["value"])
            labels = {label["key"]: _REF.sub(lambda match: scope[match.group(1)], label["value"]) for label in
                      metric.get("labels", [])}  # fmt: skip
            try:
                sample = Emitted(metric["name"], labels, float(value))
            except ValueError:
                with self._lock:
                    self.metric_errors.append(f"{metric['name']}: {value!r} is not a number")
                continue
            with self._lock:
                self.metrics.append(sample)

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
                goes_on = step.get("continueOn", {})
                if node.status == "Failed" and not goes_on.get("failed"):
                    return Node("Failed")
                if node.status == "Error" and not goes_on.get("error"):
                    return Node("Failed")
        outputs = {
            p["name"]: self._substitute(p["valueFrom"]["parameter"], inputs, scope)
            for p in template.get("outputs", {}).get("parameters", [])
        }
        return Node("Succeeded", outputs)

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
            left, op, right = int(self._value(match.group(1), inputs, scope)), match.group(2), int(match.group(3))
            return str(left + right if op == "+" else left * right)

        return _REF.sub(lambda m: self._value(m.group(1), inputs, scope), _EXPR.sub(expression, text))

    def _value(self, ref: str, inputs: dict[str, str], scope: dict[str, Node]) -> str:
        parts = ref.split(".")
        if parts[0] == "workflow":
            return {"namespace": self.namespace, "name": self.name, "uid": f"uid-{self.name}"}[parts[1]]
        if parts[:2] == ["inputs", "parameters"]:
            return inputs[parts[2]]
        if parts[0] == "steps" and parts[2] == "status":
            return scope[parts[1]].status
        if parts[0] == "steps" and parts[2] == "ip":
            return scope[parts[1]].outputs["ip"]
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
        args = [_local(self._substitute(a, inputs, {}), folder) for a in container.get("args", [])]
        for volume in template.get("volumes", []):
            claim = self.claims[volume["persistentVolumeClaim"]["claimName"]]
            (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
            args = [a.replace(mount["mountPath"], str(claim)) for a in args]
        for artifact in template.get("inputs", {}).get("artifacts", []):
            local = _local(artifact["path"], folder, artifact=True)
            Path(local).parent.mkdir(parents=True, exist_ok=True)
            Path(local).write_text(artifact["raw"]["data"])
            args = [local if a == artifact["path"] else a for a in args]
        program, *rest = container["command"]
        if program == "katib-flow":
            argv = [sys.executable, "-m", "katib_flow.cli", *rest, *args]
        else:  # a pipeline's own step around the experiment
            assert program in ("python", "python3"), program
            argv = [sys.executable, *rest, *args]
        env = {"KUBECONFIG": str(self.kubeconfig), "PATH": "/usr/bin:/bin"}
        for e in container.get("env", []):
            if "value" in e:  # Argo substitutes the whole template, env values included
                env[e["name"]] = self._substitute(e["value"], inputs, {})
                continue
            if "fieldRef" in e["valueFrom"]:  # the downward API: this "pod" is on loopback
                assert e["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
                env[e["name"]] = "127.0.0.1"
                continue
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = self.secrets[ref["name"]][ref["key"]]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        (folder / "log").write_text(done.stdout + done.stderr)
        with self._lock:
            self.logs.setdefault(template["name"], []).append(done.stdout)
        if done.returncode != 0:
            return Node("Failed")
        outputs = {}
        for p in template.get("outputs", {}).get("parameters", []):
            path = Path(_local(p["valueFrom"]["path"], folder))
            if not path.exists() and "default" in p["valueFrom"]:
                outputs[p["name"]] = p["valueFrom"]["default"]  # Argo's valueFrom.default for a missing file
            else:
                outputs[p["name"]] = path.read_text()
            if "globalName" in p:
                with self._lock:
                    self.global_outputs[p["globalName"]] = outputs[p["name"]]
        return Node("Succeeded", outputs)

    # ---- generations -----------------------------------------------------------------------

    def _start_successor(self, name: str, manifest: dict[str, Any]) -> None:
        assert self.template_document is not None
        assert manifest["spec"]["workflowTemplateRef"]["name"] == self.template_document["metadata"]["name"]
        successor = Interpreter(
            self.template_document,
            self.workdir / name,
            self.secrets,
            self.kube,
            self.kubeconfig,
            name=name,
            template_document=self.template_document,
            mutexes=self.mutexes,
            claims=self.claims,
            labels=manifest["metadata"].get("labels", {}),
            daemons=self.daemons,
        )
        successor.workdir.mkdir(parents=True)
        thread = threading.Thread(target=successor.run, args=(_generation_arguments(manifest),), daemon=True)
        with self._lock:
            self.generations.append((successor, thread))
        thread.start()

    def all_generations(self) -> list[Interpreter]:
        """This Workflow and every successor, transitively, in creation order, once all have ended."""
        found: list[Interpreter] = [self]
        for successor, thread in self.generations:
            thread.join(600)
            assert not thread.is_alive(), "a generation did not end"
            found += successor.all_generations()
        return found

    # ---- resources -------------------------------------------------------------------------

    def _resource(self, template: dict[str, Any], inputs: dict[str, str]) -> Node:
        resource = template["resource"]
        manifest = json.loads(self._substitute(resource["manifest"], inputs, {}))
        if manifest["kind"] == "Workflow":  # continue-as-new: the test runs the successor
            assert resource["action"] == "apply" and "setOwnerReference" not in resource
            name = manifest["metadata"]["name"]  # fixed, so that a retried step finds its successor
            with self._lock:
                known = name in {s["metadata"]["name"] for s in self.successors}
                if not known:
                    self.successors.append(manifest)
            if not known and self.template_document is not None:
                self._start_successor(name, manifest)
            (output,) = template["outputs"]["parameters"]
            assert output["valueFrom"]["jsonPath"] == "{.metadata.name}"
            return Node("Succeeded", {output["name"]: name})
        assert resource["action"] == "create"
        assert manifest["kind"] == "Job", "the interpreter simulates batch/v1 Jobs"
        # kubectl create in the step pod: the manifest's namespace, else the pod's (the Workflow's)
        name, namespace = manifest["metadata"]["name"], manifest["metadata"].get("namespace") or self.namespace
        manifest["metadata"]["namespace"] = namespace
        if resource.get("setOwnerReference"):  # Argo's metav1.NewControllerRef (workflow/controller/operator.go)
            reference = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "name": self.name,
                         "uid": f"uid-{self.name}", "controller": True, "blockOwnerDeletion": True}  # fmt: skip
            manifest["metadata"]["ownerReferences"] = [reference]
        allowed = self.kube.allowed_namespaces
        with self.kube.lock:
            if allowed is not None and namespace not in allowed:
                return Node("Failed")  # Forbidden: the Role covers the Workflow's namespace only
            key = ("jobs", namespace, name)
            if key in self.kube.objects:
                return Node("Failed")  # Argo's create of an existing object fails
            self.kube.objects[key] = manifest
            self.kube.history.append(json.loads(json.dumps(manifest)))
            self.created.append(manifest)
            evicted = self.errors.get(template["name"], 0) > 0
            if evicted:
                self.errors[template["name"]] -= 1
        controller = JobController(self.kube, self.claims)
        if evicted:  # the step's pod is gone, the Job runs on: the lane must find out by itself
            threading.Thread(target=controller.run, args=(manifest,), daemon=True).start()
            return Node("Error")
        status = controller.run(manifest)
        document = {**manifest, "status": status}
        if _selector_holds(resource["failureCondition"], document, every=False):
            return Node("Failed")
        assert _selector_holds(resource["successCondition"], document, every=True), "Argo would wait forever"
        return Node("Succeeded")


def _generation_arguments(manifest: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in manifest["spec"]["arguments"]["parameters"]}


def _local(path: str, folder: Path, artifact: bool = False) -> str:
    """Where a container path of a step lives on this machine: its outputs and artifacts in the step's folder."""
    if artifact:
        return str(folder / "artifacts" / path.lstrip("/"))
    if path == _STEP_OUTPUTS or path.startswith(_STEP_OUTPUTS + "/"):
        return str(folder / "outputs") + path[len(_STEP_OUTPUTS) :]
    return path


def _holds(expression: str) -> bool:
    """Argo's ``when`` for the forms the compiler writes: comparisons joined by ``&&``, or by ``||``."""
    if "||" in expression:
        return any(_holds(part) for part in expression.split("||"))
    for term in expression.split("&&"):
        left, op, right = term.split()
        if left.startswith("'"):  # a quoted string (govaluate): '...' != ''
            assert op in ("==", "!=") and left.endswith("'") and right.startswith("'"), term
            ok = (left == right) == (op == "==")
        elif op == "==":
            ok = left == right
        else:
            assert op == "<"
            ok = int(left) < int(right)
        if not ok:
            return False
    return True


def _selector_holds(selector: str, document: dict[str, Any], *, every: bool) -> bool:
    """Argo's resource conditions: requirements joined by commas, all of them for success and any one for
    failure (``workflow/executor/resource.go``, ``matchConditions``); ``path > n`` only."""
    results = []
    for requirement in selector.split(","):
        path, op, value = requirement.split()
        current: Any = document
        for key in path.split("."):
            current = current.get(key) if isinstance(current, dict) else None
        assert op == ">"
        results.append(current is not None and int(current) > int(value))
    return all(results) if every else any(results)
