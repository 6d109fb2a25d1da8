"""The cluster driver's steps: what each Argo step of a compiled experiment does, over the engine.

Each function is one or a few engine calls against the database named by
``KATIB_FLOW_DB_URL`` and is safe under Argo retries: a retried ``suggest``
returns the trial its slot already has, a retried ``collect`` numbers the
observations it parses from 0 again (so nothing is stored twice) and a
finished trial is returned unchanged. Transient database errors are retried by
the Store with backoff; anything else fails the step with a clear message.

A lane of the Workflow is the local runner's slot: ``suggest`` (claim the
slot's trial; wait a bounded time when parallelism or a hyperband rung holds
it back) -> the trial's run object -> ``collect`` (parse what the trial
reported, finish it) -> ``decide`` (go on or stop).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..collectors import Observation, TensorFlowEventCollector, line_collector, metric_names
from ..engine import (
    Outcome,
    StoredExperiment,
    Trial,
    claim_trial,
    evaluate,
    find_experiment,
    finish_trial,
)
from ..engine.checkpoints import CheckpointMissingError, checkpoint_mount, parent_of, prepare_checkpoint
from ..engine.trials import load_trial
from ..engine.views import trial_view
from ..exceptions import ClusterError, CollectorError, MetricsGoneError
from ..history import TrialState
from ..spec import constants as c
from ..spec.models import Experiment
from ..store import Store
from .kube import RunObjects
from .placement import in_namespace, prepare_run_object
from .pods import PodLogs, primary_pod_selector
from .volume import checkpoint_folder, collected_path

__all__ = [
    "Decision",
    "Result",
    "Suggestion",
    "collect_step",
    "decide_step",
    "finish_step",
    "primary_log",
    "release",
    "release_trial",
    "suggest_step",
]


@dataclass(frozen=True)
class Suggestion:
    """A lane's next trial: its name and run object, or none (``completed`` says whether to stop)."""

    trial: str
    run_object: dict[str, Any] | None
    state: str
    completed: bool
    resumed: bool = False  # started by an earlier attempt: its run object may exist (the wait step finds it)
    assignments: dict[str, str] = field(default_factory=dict)

    @property
    def runnable(self) -> bool:
        """True when the lane should create the run object (a retried lane may find its trial finished)."""
        return self.run_object is not None


@dataclass(frozen=True)
class Decision:
    proceed: bool
    reason: str
    status: dict[str, Any]


@dataclass(frozen=True)
class Result:
    """What the Workflow outputs: the best trial's parameters and objective, and the final status."""

    succeeded: bool
    reason: str
    best_trial: str
    best_parameters: dict[str, str]
    best_objective: float | None
    status: dict[str, Any]
    max_trial_count: int | None = None
    trials_completed: int = 0


def stored_trial(store: Store, name: str, namespace: str | None, trial: str) -> tuple[StoredExperiment, Trial]:
    """The experiment named ``name`` and its trial ``trial``, as the steps see them."""
    stored = find_experiment(store, name, namespace)
    return stored, store.transaction(lambda session: trial_view(load_trial(session, stored.id, trial).row))


def suggest_step(
    store: Store,
    name: str,
    namespace: str | None,
    lane: int,
    iteration: int,
    *,
    poll_seconds: float = 5.0,
    max_wait_seconds: float = 300.0,
    run_namespace: str | None = None,
    metrics_claim: str | None = None,
    metrics_root: str | None = None,
    db_secret: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Suggestion:
    """Claim slot (lane, iteration); while nothing may start yet, poll up to ``max_wait_seconds``.

    After the bounded wait the lane gets "no trial, not completed": it goes
    through ``decide`` and asks again in its next iteration, so no Argo step
    ever blocks for long. The run object is placed in ``run_namespace`` (the
    Workflow's), mounts ``metrics_claim`` for the File or TensorFlowEvent
    collector and gets Katib's environment (:mod:`.placement`).
    """
    stored = find_experiment(store, name, namespace)
    waited = 0.0
    while True:
        claim = claim_trial(store, stored.id, (lane, iteration), start=True)
        if claim.trial is not None:
            run_object = claim.rendered.run_object if claim.rendered is not None else None
            if run_object is not None and not claim.resumed and checkpoint_mount(stored.experiment) is not None:
                try:
                    _prepare_checkpoint(stored.experiment, claim.trial, metrics_root)
                except CheckpointMissingError as err:
                    finish_trial(store, stored.id, claim.trial.name, Outcome.FAILED, f"Trial failed: {err}")
                    return Suggestion(claim.trial.name, None, TrialState.FAILED.value, False)
            if run_object is not None:
                run_object = prepare_run_object(
                    run_object,
                    stored.experiment,
                    stored.id,
                    claim.trial.name,
                    namespace=run_namespace,
                    metrics_claim=metrics_claim,
                    db_secret=db_secret,
                )
            return Suggestion(
                claim.trial.name,
                run_object,
                claim.trial.state.value,
                claim.completed,
                claim.resumed,
                dict(claim.trial.assignments),
            )
        if claim.completed or waited >= max_wait_seconds:
            return Suggestion("", None, "", claim.completed)
        pause = min(poll_seconds, max_wait_seconds - waited)
        sleep(pause)
        waited += pause


def _prepare_checkpoint(experiment: Experiment, trial: Trial, metrics_root: str | None) -> None:
    if metrics_root is None:
        raise ClusterError("a pbt experiment's suggest step needs the metrics claim mounted (--metrics-root)")
    folder = Path(str(checkpoint_folder(experiment, trial.name, metrics_root)))
    folder.parent.mkdir(parents=True, exist_ok=True)
    prepare_checkpoint(folder.parent, trial.name, parent_of(trial.data))


def collect_step(
    store: Store,
    name: str,
    namespace: str | None,
    trial: str,
    *,
    succeeded: bool,
    log_lines: Iterable[str] = (),
    metrics_path: Path | None = None,
    metrics_root: str | None = None,
    message: str = "",
) -> Trial:
    """Parse what the trial reported (by the experiment's collector kind) and finish it.

    ``log_lines`` is the primary container's log (StdOut); ``metrics_path`` the
    trial's copy of the collector's file or TensorFlow event folder (File,
    TensorFlowEvent), or ``metrics_root`` where the step has the metrics claim
    mounted (:mod:`.volume`); Push metrics are already in the database.
    """
    stored, current = stored_trial(store, name, namespace, trial)
    if metrics_path is None and metrics_root is not None:
        collected = collected_path(stored.experiment, trial, metrics_root)
        metrics_path = Path(collected) if collected is not None else None
    if not current.state.is_active:
        return current  # a retried collect, or the wait step finished it: its pod may be gone already
    try:
        observations = _observations(stored.experiment, log_lines, metrics_path)
    except MetricsGoneError as err:
        # Its pod or log is gone (pod GC, a node lost, someone deleted it): the result cannot be read, which
        # is the trial's MetricsUnavailable (as an empty File), not a step failure that fails the Workflow.
        observations = []
        if succeeded and not message:
            message = f"Metrics are not available: {err}"
    except CollectorError:
        if succeeded:
            raise
        observations = []  # a failed trial's pod may be gone: its failure is what counts
    outcome = Outcome.SUCCEEDED if succeeded else Outcome.FAILED
    if not succeeded and not message:
        message = "the trial's run object met its failure condition"
    return finish_trial(store, stored.id, trial, outcome, message, observations=observations, first_seq=0)


def _observations(experiment: Experiment, log_lines: Iterable[str], metrics_path: Path | None) -> list[Observation]:
    spec = experiment.spec
    mc, objective = spec.metrics_collector_spec, spec.objective
    assert mc is not None and mc.collector is not None and objective is not None
    names = metric_names(objective)
    kind = mc.collector.kind
    if kind in (c.COLLECTOR_PUSH, c.COLLECTOR_CUSTOM):
        return []  # reported into the store by the trial (Push) or its collector container (Custom, DBManager)
    if kind == c.COLLECTOR_TFEVENT:
        if metrics_path is None:
            raise CollectorError("the TensorFlowEvent collector needs the trial's event folder (--metrics-path)")
        return TensorFlowEventCollector(names).collect(metrics_path)
    parser = line_collector(mc, names)
    assert parser is not None
    if kind == c.COLLECTOR_FILE:
        if metrics_path is None:
            raise CollectorError("the File collector needs the trial's metrics file (--metrics-path)")
        if not metrics_path.is_file():
            return []  # the trial wrote nothing: MetricsUnavailable, as in Katib
        with metrics_path.open(encoding="utf-8", errors="replace") as handle:
            return list(parser.parse_lines(handle))
    return list(parser.parse_lines(log_lines))


def release(objects: RunObjects, run_object: Mapping[str, Any], experiment: Experiment) -> bool:
    """Delete a finished trial's run object unless ``trialTemplate.retain``; True when it was deleted.

    Katib's trial controller does the same once a trial is completed
    (``pkg/controller.v1beta1/trial/trial_controller.go``, ``reconcileJob``).
    """
    template = experiment.spec.trial_template
    if template is not None and template.retain:
        return False
    objects.delete(run_object)
    return True


def release_trial(
    store: Store, name: str, namespace: str | None, trial: str, objects: RunObjects, run_namespace: str | None
) -> bool:
    """:func:`release` for a stored trial once it is finished (the resource path's collect step)."""
    stored, current = stored_trial(store, name, namespace, trial)
    if current.state.is_active or current.run_object is None:
        return False
    return release(objects, in_namespace(current.run_object, run_namespace), stored.experiment)


def primary_log(
    store: Store, name: str, namespace: str | None, trial: str, pods: PodLogs, run_namespace: str | None = None
) -> Iterator[str]:
    """The trial's primary container log, read from its primary pod (the StdOut collector on a cluster).

    The pod is looked for in ``run_namespace`` (the Workflow's, where the run
    object was created), else in the namespace the run object names.
    """
    stored, current = stored_trial(store, name, namespace, trial)
    experiment, run_object = stored.experiment, current.run_object
    if run_object is None:
        raise CollectorError(f"trial {trial!r} has no run object: it was never suggested")
    template = experiment.spec.trial_template
    assert template is not None
    selector = primary_pod_selector(run_object, template.primary_pod_labels)
    pod_namespace = run_namespace or run_object.get("metadata", {}).get("namespace") or "default"
    return pods.primary_log(pod_namespace, selector, template.primary_container_name or "")


def decide_step(store: Store, name: str, namespace: str | None) -> Decision:
    """Whether the lane goes on: the experiment is not completed (goal, budgets, algorithm exhausted)."""
    evaluation = evaluate(store, find_experiment(store, name, namespace).id)
    return Decision(not evaluation.completed, evaluation.reason, evaluation.status)


def finish_step(
    store: Store,
    name: str,
    namespace: str | None,
    *,
    wait: bool = False,
    poll_seconds: float = 30.0,
    watch: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    """The final status and the best trial (its objective after the metric strategy), for the outputs.

    With ``wait``, first wait until the experiment is completed: the first
    generation of a Workflow that continued as new ones reports the end of the
    whole experiment, however many generations it took. ``watch`` is called
    between polls and raises when waiting is futile (:mod:`.generations`).
    """
    stored = find_experiment(store, name, namespace)
    experiment_id = stored.id
    evaluation = evaluate(store, experiment_id)
    while wait and not evaluation.completed:
        if watch is not None:
            watch()
        sleep(poll_seconds)
        evaluation = evaluate(store, experiment_id)
    optimal = evaluation.status.get("currentOptimalTrial", {})
    best = optimal.get("bestTrialName", "")
    objective = (
        store.transaction(lambda session: load_trial(session, experiment_id, best).row.objective) if best else None
    )
    return Result(
        evaluation.succeeded,
        evaluation.reason,
        best,
        {a["name"]: a["value"] for a in optimal.get("parameterAssignments", [])},
        objective,
        evaluation.status,
        stored.experiment.spec.max_trial_count,
        evaluation.trials_completed,
    )
