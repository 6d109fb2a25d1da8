"""``katib-flow step collect`` and ``step wait``: the steps that finish a trial from its run object."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..cli_errors import step_guarded
from . import cli_options as opt

if TYPE_CHECKING:
    from ..engine import Trial
    from ..store import Store
    from .kube import RunObjects
    from .wait import Owner

__all__ = ["collect_command", "run_objects", "wait_command", "write_trial"]


@click.command("collect")
@opt.NAME
@opt.NAMESPACE
@click.option("--trial", required=True)
@click.option(
    "--phase",
    type=click.Choice(["Succeeded", "Failed", "Error"]),
    required=True,
    help="How the resource step ended (Argo's step status). Error: its pod ended without a verdict, so the "
    "run object is looked at (created if absent) and waited for, as the wait step does.",
)
@click.option("--log-file", type=click.File("r"), help="The primary container's log (StdOut collector); - for stdin.")
@click.option(
    "--from-pod-logs",
    is_flag=True,
    help="Read the primary container's log from the trial's primary pod through the Kubernetes API (StdOut).",
)
@click.option(
    "--metrics-path",
    type=click.Path(path_type=Path),
    help="The trial's metrics file or event folder (File and TensorFlowEvent collectors).",
)
@opt.METRICS_ROOT
@click.option("--message", default="", help="Why the run object failed, for the trial's status.")
@opt.RUN_NAMESPACE
@opt.OWNER_WORKFLOW
@opt.OWNER_UID
@click.option(
    "--release/--no-release",
    default=False,
    help="Delete the run object once the trial is finished, unless spec.trialTemplate.retain (on a cluster).",
)
@opt.METRICS_CLAIM
@opt.DB_SECRET
@click.option("--poll-seconds", type=float, default=5.0, show_default=True, help="How often --phase Error looks.")
@opt.DB
@opt.OUTPUTS
@step_guarded
def collect_command(
    name: str,
    namespace: str | None,
    trial: str,
    phase: str,
    log_file: Any,
    from_pod_logs: bool,
    metrics_path: Path | None,
    metrics_root: str | None,
    message: str,
    run_namespace: str | None,
    owner_workflow: str | None,
    owner_uid: str | None,
    release: bool,
    metrics_claim: str | None,
    db_secret: str | None,
    poll_seconds: float,
    db: str | None,
    outputs: Path,
) -> None:
    """Parse the trial's metrics and finish it; outputs: the trial's state, objective, scored and metrics, and
    the leaderboard (best-trial, best-parameters, best-objective, trials)."""
    from ..store import Store
    from .steps import collect_step, primary_log

    owner = _owner(owner_workflow, owner_uid)
    with Store(db) as store:
        if phase == "Error":
            done = _wait(
                store,
                name,
                namespace,
                trial,
                run_namespace,
                owner,
                poll_seconds,
                metrics_claim,
                metrics_root,
                db_secret,
            )
            write_trial(outputs, store, name, namespace, done)
            return
        lines: Iterable[str] = log_file if log_file is not None else ()
        if from_pod_logs:
            from .pods import PodLogs

            lines = primary_log(store, name, namespace, trial, PodLogs.from_environment(), run_namespace)
        done = collect_step(
            store,
            name,
            namespace,
            trial,
            succeeded=phase == "Succeeded",
            log_lines=lines,
            metrics_path=metrics_path,
            metrics_root=metrics_root,
            message=message,
        )
        if release:
            from .steps import release_trial

            release_trial(store, name, namespace, trial, run_objects(), run_namespace)
        write_trial(outputs, store, name, namespace, done)


def write_trial(outputs: Path, store: Store, name: str, namespace: str | None, trial: Trial) -> None:
    """A finished trial's outputs, and the experiment's leaderboard as it stands now (the Workflow's live
    global outputs): state, objective, scored, metrics, best-trial, best-parameters, best-objective, trials."""
    from .steps import finish_step

    board = finish_step(store, name, namespace)
    opt.write_outputs(
        outputs,
        {
            "state": trial.state.value,
            "objective": "" if trial.objective is None else repr(trial.objective),
            # what the trial-objective Prometheus metric is emitted for (a value Argo can parse as a float)
            "scored": json.dumps(trial.objective is not None and math.isfinite(trial.objective)),
            "metrics": {m["name"]: m["latest"] for m in trial.metrics},
            "best-trial": board.best_trial,
            "best-parameters": board.best_parameters,
            "best-objective": "" if board.best_objective is None else repr(board.best_objective),
            "trials": trials_progress(board.trials_completed, board.max_trial_count),
        },
    )


def trials_progress(completed: int, max_trial_count: int | None) -> str:
    """``"7/12"``: the completed trials Katib counts against maxTrialCount (no maximum: ``"7"``)."""
    return f"{completed}/{max_trial_count}" if max_trial_count else str(completed)


def _owner(workflow: str | None, uid: str | None) -> Owner | None:
    if bool(workflow) != bool(uid):
        raise click.UsageError("--owner-workflow and --owner-uid go together")
    from .wait import Owner

    return Owner(workflow, uid) if workflow and uid else None


def run_objects() -> RunObjects:
    from ..kubeapi import load_api_client
    from .kube import KubernetesApi, RunObjects

    return RunObjects(KubernetesApi(load_api_client()))


def _wait(
    store: Store,
    name: str,
    namespace: str | None,
    trial: str,
    run_namespace: str | None,
    owner: Owner | None,
    poll_seconds: float,
    metrics_claim: str | None,
    metrics_root: str | None,
    db_secret: str | None,
) -> Trial:
    from kubernetes import client

    from .pods import PodLogs
    from .volume import COLLECT_ROOT
    from .wait import wait_step

    objects = run_objects()
    return wait_step(
        store,
        name,
        namespace,
        trial,
        objects,
        PodLogs(client.CoreV1Api(objects.api.api_client)),
        run_namespace=run_namespace,
        owner=owner,
        poll_seconds=poll_seconds,
        metrics_claim=metrics_claim,
        metrics_root=metrics_root or COLLECT_ROOT,
        db_secret=db_secret,
    )


@click.command("wait")
@opt.NAME
@opt.NAMESPACE
@click.option("--trial", required=True)
@opt.RUN_NAMESPACE
@opt.OWNER_WORKFLOW
@opt.OWNER_UID
@click.option("--poll-seconds", type=float, default=5.0, show_default=True)
@opt.METRICS_CLAIM
@opt.METRICS_ROOT
@opt.DB_SECRET
@opt.DB
@opt.OUTPUTS
@step_guarded
def wait_command(
    name: str,
    namespace: str | None,
    trial: str,
    run_namespace: str | None,
    owner_workflow: str | None,
    owner_uid: str | None,
    poll_seconds: float,
    metrics_claim: str | None,
    metrics_root: str | None,
    db_secret: str | None,
    db: str | None,
    outputs: Path,
) -> None:
    """Create the trial's run object (or find it), wait for Katib's conditions, stop it early, finish the trial.

    The run object is deleted once the trial is finished, unless
    spec.trialTemplate.retain. Outputs: as collect's.
    """
    from ..store import Store

    owner = _owner(owner_workflow, owner_uid)
    with Store(db) as store:
        done = _wait(
            store, name, namespace, trial, run_namespace, owner, poll_seconds, metrics_claim, metrics_root, db_secret
        )
        write_trial(outputs, store, name, namespace, done)
