"""The ``wait`` step: a trial's run object created, watched and judged by Katib's own conditions.

The compiler uses it instead of an Argo resource template where Argo's
selectors cannot say what Katib's conditions say exactly (any kind other than a
Job or a Kubeflow training job, a user-written condition, a restart policy
other than Never, ...: :mod:`katib_flow.argo.conditions`), where the experiment
stops trials early, and for a trial an earlier attempt started; ``collect
--phase Error`` uses it too. It:

- creates the run object, or finds the one a previous attempt created (so a
  retried step never fails on AlreadyExists and never runs a trial twice);
- polls it and evaluates the template's GJSON conditions as Katib's trial
  controller does (:func:`katib_flow.cluster.gjson.judge`);
- when the trial has stop rules, follows its metrics while it runs (the
  primary container's log for StdOut, its file or event folder on the metrics
  claim for File and TensorFlowEvent, the store for Push and Custom), records
  them as they appear and, once every rule holds, deletes the run object: the
  trial ends ``EarlyStopped``, as in Katib;
- finishes the trial with its metrics, so the lane needs no collect step, and
  deletes the run object unless ``trialTemplate.retain``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..collectors import line_collector, metric_names
from ..engine import EARLY_STOPPED_MESSAGE, Outcome, Trial, finish_trial
from ..engine.feed import MetricsFeed, follow_events, follow_pushed, tail_file
from ..exceptions import CollectorError
from ..spec import constants as c
from ..spec.models import Experiment
from ..store import Store
from .gjson import judge
from .kube import RunObjects
from .placement import prepare_run_object
from .pods import PodLogs, primary_pod_selector
from .steps import collect_step, release, stored_trial
from .volume import COLLECT_ROOT, collected_path

__all__ = ["Owner", "owned", "wait_step"]

_FOLLOWER_GRACE_SECONDS = 120.0  # a deleted pod's log stream ends after its termination grace period


@dataclass(frozen=True)
class Owner:
    """The Workflow that owns the run object, so that deleting the Workflow deletes its trials.

    ``blockOwnerDeletion`` stays false: setting it true needs ``update`` on
    ``workflows/finalizers`` wherever the OwnerReferencesPermissionEnforcement
    admission plugin is on (OpenShift's default), and nothing here needs the
    Workflow's deletion to wait for its trials. (Argo's own ``setOwnerReference``
    uses ``metav1.NewControllerRef``, which sets it true: ``manifests/rbac.yaml``
    grants that update for the resource step.)
    """

    name: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "name": self.name,
            "uid": self.uid,
            "blockOwnerDeletion": False,
        }


def owned(run_object: Mapping[str, Any], owner: Owner | None) -> dict[str, Any]:
    """The run object owned by ``owner`` (unchanged when None)."""
    metadata = dict(run_object.get("metadata", {}))
    if owner is not None:
        others = [r for r in metadata.get("ownerReferences", []) if r.get("uid") != owner.uid]
        metadata["ownerReferences"] = [*others, owner.reference()]
    return {**run_object, "metadata": metadata}


def wait_step(
    store: Store,
    name: str,
    namespace: str | None,
    trial: str,
    objects: RunObjects,
    pods: PodLogs,
    *,
    run_namespace: str | None = None,
    owner: Owner | None = None,
    poll_seconds: float = 5.0,
    metrics_claim: str | None = None,
    metrics_root: str = COLLECT_ROOT,
    db_secret: str | None = None,
) -> Trial:
    """Run the trial's object to its end and finish the trial; a finished trial is returned unchanged.

    The run object is placed as the suggest step places it (:mod:`.placement`):
    in ``run_namespace``, with ``metrics_claim`` mounted (File and
    TensorFlowEvent collectors, read back from ``metrics_root``) and the Push
    environment from ``db_secret``. Once the trial is finished the run object
    is deleted unless the template says ``retain: true``.
    """
    stored, current = stored_trial(store, name, namespace, trial)
    if not current.state.is_active:
        return current  # a retried step after the trial was finished
    if current.run_object is None:
        raise CollectorError(f"trial {trial!r} has no run object: it was never suggested")
    spec = stored.experiment.spec
    template, mc, objective = spec.trial_template, spec.metrics_collector_spec, spec.objective
    assert template is not None and mc is not None and mc.collector is not None and objective is not None
    assert template.success_condition and template.failure_condition  # defaults filled by check()
    prepared = prepare_run_object(
        current.run_object,
        stored.experiment,
        stored.id,
        trial,
        namespace=run_namespace or stored.experiment.namespace,
        metrics_claim=metrics_claim,
        db_secret=db_secret,
    )
    run_object = owned(prepared, owner)
    pod_namespace = run_object["metadata"].get("namespace") or "default"
    stdout = mc.collector.kind == c.COLLECTOR_STDOUT
    selector = primary_pod_selector(run_object, template.primary_pod_labels) if stdout else ""
    container = template.primary_container_name or ""

    stop = threading.Event()
    follower: tuple[threading.Thread, threading.Event, MetricsFeed] | None = None
    if current.stop_rules:
        follower = _follower(store, stored.experiment, stored.id, trial, current, stop, metrics_root, poll_seconds)
        if follower is None and stdout:
            parser = line_collector(mc, metric_names(objective))
            feed = MetricsFeed(store, stored.id, trial, parser, current.stop_rules, stop.set)
            done = threading.Event()
            thread = threading.Thread(
                target=pods.follow,
                args=(pod_namespace, selector, container, feed.line, done, min(poll_seconds, 2.0)),
                daemon=True,
            )
            follower = (thread, done, feed)

    objects.get_or_create(run_object)
    if follower is not None:
        follower[0].start()
    while True:
        if stop.is_set():
            objects.delete(run_object)
            outcome, message = Outcome.EARLY_STOPPED, EARLY_STOPPED_MESSAGE
            break
        live = objects.get(run_object)
        if live is None:
            kind, object_name = run_object.get("kind"), run_object["metadata"].get("name")
            outcome, message = Outcome.FAILED, f"the {kind} {object_name} was deleted before it met a condition"
            break
        verdict = judge(live, template.success_condition, template.failure_condition)
        if verdict is not None:
            outcome = Outcome.SUCCEEDED if verdict.succeeded else Outcome.FAILED
            message = ": ".join(part for part in (verdict.reason, verdict.message) if part)
            break
        stop.wait(poll_seconds)

    if follower is None:
        lines = pods.primary_log(pod_namespace, selector, container) if stdout else ()
        if outcome is Outcome.FAILED and not message:
            message = "the trial's run object met its failure condition"
        finished = collect_step(
            store,
            name,
            namespace,
            trial,
            succeeded=outcome is Outcome.SUCCEEDED,
            log_lines=lines,
            metrics_root=metrics_root,
            message=message,
        )
    else:
        thread, done, feed = follower
        done.set()
        thread.join(_FOLLOWER_GRACE_SECONDS)
        batch, first = feed.drain() if feed.record else ([], None)
        finished = finish_trial(store, stored.id, trial, outcome, message, observations=batch, first_seq=first)
    if outcome in (Outcome.SUCCEEDED, Outcome.FAILED):  # an early-stopped one is deleted already, a vanished one gone
        release(objects, run_object, stored.experiment)
    return finished


def _follower(
    store: Store,
    experiment: Experiment,
    experiment_id: int,
    trial: str,
    current: Trial,
    stop: threading.Event,
    metrics_root: str,
    poll_seconds: float,
) -> tuple[threading.Thread, threading.Event, MetricsFeed] | None:
    """What follows a File, TensorFlowEvent or Push trial's metrics for its stop rules; None for StdOut."""
    spec = experiment.spec
    mc, objective = spec.metrics_collector_spec, spec.objective
    assert mc is not None and mc.collector is not None and objective is not None
    kind, names, poll = mc.collector.kind, metric_names(objective), min(poll_seconds, 2.0)
    done = threading.Event()
    if kind in (c.COLLECTOR_PUSH, c.COLLECTOR_CUSTOM):  # both land in the store as they are reported
        feed = MetricsFeed(store, experiment_id, trial, None, current.stop_rules, stop.set, record=False)
        args: tuple[object, ...] = (store, feed, done, poll)
        return threading.Thread(target=follow_pushed, args=args, daemon=True), done, feed
    path = collected_path(experiment, trial, metrics_root)
    if path is None:
        return None
    if kind == c.COLLECTOR_FILE:
        feed = MetricsFeed(store, experiment_id, trial, line_collector(mc, names), current.stop_rules, stop.set)
        return threading.Thread(target=tail_file, args=(Path(path), feed, done, poll), daemon=True), done, feed
    feed = MetricsFeed(store, experiment_id, trial, None, current.stop_rules, stop.set)
    return threading.Thread(target=follow_events, args=(Path(path), names, feed, done, poll), daemon=True), done, feed
