"""The fake Kubernetes API's Job controller: each pod of a batch/v1 Job (or a TrainJob's node 0) is a local process.

The primary container's command runs on this machine, its output is
published as the pod's log while it is written (so a followed log streams),
failed pods are retried up to ``backoffLimit`` as Kubernetes does, and the
Job's status gets the counters and the ``Complete``/``Failed`` condition.
Deleting the Job through the API kills its running pod. A Kubeflow Trainer
TrainJob runs its trainer as node 0's pod (container ``node``, JobSet's labels)
and gets TrainJob's ``Complete``/``Failed`` conditions. An Argo Workflow trial
runs the templates its entrypoint's steps reach, a pod each (container
``main``, with the template's labels), and gets ``status.phase``. A PersistentVolumeClaim
named in ``claims`` is a local folder: a container path under its mount is
rewritten to ``<folder>/<subPath>/...`` in the command and arguments.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fake_kubernetes import FakeKubernetes, FakePod


@dataclass
class JobController:
    kube: FakeKubernetes
    claims: dict[str, Path] = field(default_factory=dict)
    _processes: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    _deleted: set[str] = field(default_factory=set)
    _threads: list[threading.Thread] = field(default_factory=list)

    def attach(self) -> JobController:
        """Run every Job created through the API, in the background."""
        self.kube.on_create = self._created
        self.kube.on_delete = self._deleted_object
        return self

    def join(self) -> None:
        for thread in self._threads:
            thread.join(30)

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        """Run the Job to its end (a new pod per failed attempt up to backoffLimit); its final status."""
        name, namespace = job["metadata"]["name"], job["metadata"].get("namespace", "default")
        spec = job["spec"]
        if job.get("kind") == "TrainJob":  # node 0 of the JobSet Kubeflow Trainer makes, no retries here
            pod_spec: dict[str, Any] = {"containers": [{"name": "node", **spec["trainer"]}]}
            labels = {
                "jobset.sigs.k8s.io/jobset-name": name,
                "jobset.sigs.k8s.io/replicatedjob-name": "node",
                "batch.kubernetes.io/job-completion-index": "0",
            }
            spec = {"backoffLimit": 0}
        else:
            pod_spec, labels = spec["template"]["spec"], {"job-name": name}
        container, *sidecars = pod_spec["containers"]  # a Custom metrics collector comes after the trainer
        argv = self._mounted([*container.get("command", []), *container.get("args", [])], pod_spec, container)
        status: dict[str, Any] = {"active": 1}
        self._publish(job, status)
        failed = 0
        while True:
            pod = FakePod(f"{name}-{failed}", namespace, labels, f"2026-01-01T00:{failed:02d}:00Z", {})
            pod.logs[container["name"]] = ""
            pod.running = True
            shared = self._empty_dirs(pod_spec, pod.name)
            process = subprocess.Popen(
                self._shared(argv, container, shared),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=_environment(container),
            )
            beside = [
                subprocess.Popen(
                    self._shared([*sc.get("command", []), *sc.get("args", [])], sc, shared),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=_environment(sc),
                )
                for sc in sidecars
            ]
            with self.kube.lock:
                self._processes[name] = process
            self.kube.add_pod(pod)
            assert process.stdout is not None
            for line in process.stdout:
                self.kube.append_log(pod, container["name"], line)
            code = process.wait()
            for sidecar in beside:  # the pod ends when every container has (a sidecar exits by itself)
                code = code or sidecar.wait(60)
            with self.kube.lock:
                pod.running = False
                deleted = name in self._deleted
            if deleted:
                return status
            if code == 0:
                status = {"succeeded": 1, "failed": failed, "conditions": [{"type": "Complete", "status": "True"}]}
                break
            failed += 1
            if failed > spec.get("backoffLimit", 6):
                condition = {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
                status = {"failed": failed, "conditions": [condition]}
                break
            status = {"active": 1, "failed": failed}
            self._publish(job, status)
        self._publish(job, status)
        return status

    def _empty_dirs(self, pod_spec: dict[str, Any], pod: str) -> dict[str, Path]:
        """A local folder per emptyDir volume of the pod (shared by its containers, gone with the pod)."""
        import tempfile

        found = {}
        for volume in pod_spec.get("volumes", []):
            if "emptyDir" in volume:
                found[volume["name"]] = Path(tempfile.mkdtemp(prefix=f"{pod}-{volume['name']}-"))
        return found

    def _shared(self, argv: list[str], container: dict[str, Any], shared: dict[str, Path]) -> list[str]:
        for mount in container.get("volumeMounts", []):
            if mount["name"] in shared:
                argv = [a.replace(mount["mountPath"], str(shared[mount["name"]])) for a in argv]
        return argv

    def _mounted(self, argv: list[str], pod_spec: dict[str, Any], container: dict[str, Any]) -> list[str]:
        claims = {
            v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in pod_spec.get("volumes", [])
            if "persistentVolumeClaim" in v
        }
        for mount in container.get("volumeMounts", []):
            claim = claims.get(mount["name"])
            if claim in self.claims:
                local = self.claims[claim] / mount.get("subPath", "")
                local.mkdir(parents=True, exist_ok=True)
                argv = [a.replace(mount["mountPath"], str(local)) for a in argv]
        return argv

    def _publish(self, job: dict[str, Any], status: dict[str, Any]) -> None:
        plural = {"TrainJob": "trainjobs", "Workflow": "workflows"}.get(str(job.get("kind")), "jobs")
        key = (plural, job["metadata"].get("namespace", "default"), job["metadata"]["name"])
        with self.kube.lock:
            job["status"] = status
            if key in self.kube.objects:
                self.kube.objects[key]["status"] = status

    def run_workflow(self, workflow: dict[str, Any]) -> dict[str, Any]:
        """An Argo Workflow trial: the container and script templates its entrypoint's steps reach, one pod
        each in order (container ``main``, Argo's labels plus the template's), then ``status.phase``."""
        name, namespace = workflow["metadata"]["name"], workflow["metadata"].get("namespace", "default")
        templates = {t["name"]: t for t in workflow["spec"]["templates"]}
        order = [s["template"] for group in templates[workflow["spec"]["entrypoint"]].get("steps", []) for s in group]
        self._publish(workflow, {"phase": "Running"})
        phase = "Succeeded"
        for index, template_name in enumerate(order):
            template = templates[template_name]
            if "script" in template:
                script = template["script"]
                argv = [
                    sys.executable if script["command"][0] == "python" else script["command"][0],
                    "-c",
                    script["source"],
                ]
            else:
                container = template["container"]
                argv = [*container.get("command", []), *container.get("args", [])]
            labels = {"workflows.argoproj.io/workflow": name, **template.get("metadata", {}).get("labels", {})}
            pod = FakePod(f"{name}-{index}", namespace, labels, f"2026-01-01T00:{index:02d}:00Z", {"main": ""})
            pod.running = True
            self.kube.add_pod(pod)
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert process.stdout is not None
            for line in process.stdout:
                self.kube.append_log(pod, "main", line)
            code = process.wait()
            with self.kube.lock:
                pod.running = False
            if code != 0:
                phase = "Failed"
                break
        status = {"phase": phase}
        self._publish(workflow, status)
        return status

    def _created(self, job: dict[str, Any]) -> None:
        if job.get("kind") == "Workflow":
            thread = threading.Thread(target=self.run_workflow, args=(job,), daemon=True)
            self._threads.append(thread)
            thread.start()
            return
        if job.get("kind") not in ("Job", "TrainJob"):
            return
        thread = threading.Thread(target=self.run, args=(job,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _deleted_object(self, job: dict[str, Any]) -> None:
        name = job["metadata"]["name"]
        with self.kube.lock:
            self._deleted.add(name)
            process = self._processes.get(name)
        if process is not None and process.poll() is None:
            process.terminate()


def _environment(container: dict[str, Any]) -> dict[str, str]:
    """The process's environment: this one's, plus the container's literal ``env`` values."""
    import os

    return {**os.environ, **{e["name"]: e["value"] for e in container.get("env", []) if "value" in e}}
