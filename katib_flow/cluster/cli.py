"""``katib-flow step ...``: the entry points a compiled Workflow's containers run.

Each command reads the database URL from ``--db`` or ``KATIB_FLOW_DB_URL`` (a
Secret on the cluster) and writes its results as small files under
``--outputs`` (one value per file), which Argo reads as output parameters with
``valueFrom.path``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..cli_errors import step_guarded

# Each step imports what it runs when it runs: a step pod starts a fresh interpreter, and the
# Kubernetes client, the algorithms or the collectors are needed by one step each.
if TYPE_CHECKING:
    from ..engine import Trial
    from ..store import Store
    from .kube import RunObjects
    from .wait import Owner

__all__ = ["step_group"]

_DB = click.option("--db", metavar="URL", help="Database URL (default: $KATIB_FLOW_DB_URL).")
_NAME = click.option("--experiment", "name", required=True, help="The experiment's metadata.name.")
_NAMESPACE = click.option("--namespace", default=None, help="The experiment's metadata.namespace, if it has one.")
_RUN_NAMESPACE = click.option(
    "--run-namespace",
    help="Namespace the run object is created in and its pods are read from (the Workflow's: {{workflow.namespace}}).",
)
_METRICS_CLAIM = click.option(
    "--metrics-claim",
    metavar="CLAIM",
    help="PersistentVolumeClaim the trial's primary container writes File/TensorFlowEvent metrics to.",
)
_METRICS_ROOT = click.option(
    "--metrics-root",
    type=click.Path(file_okay=False),
    help="Where this step has the metrics claim mounted: reads <root>/<trial>/... (File, TensorFlowEvent).",
)
_DB_SECRET = click.option(
    "--db-secret",
    metavar="SECRET",
    help="Secret (key url) whose database URL a Push trial's primary container gets as KATIB_FLOW_DB_URL.",
)
_OWNER_WORKFLOW = click.option(
    "--owner-workflow", metavar="NAME", help="The Workflow that owns the run object ({{workflow.name}})."
)
_OWNER_UID = click.option(
    "--owner-uid", metavar="UID", help="Its uid ({{workflow.uid}}); needed with --owner-workflow."
)
_OUTPUTS = click.option(
    "--outputs",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/tmp/katib-flow"),
    show_default=True,
    help="Folder for the output files.",
)


def _write(folder: Path, values: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        (folder / key).write_text(text)
        click.echo(f"{key}: {text if len(text) < 200 else text[:200] + '...'}")


@click.group("step")
def step_group() -> None:
    """The steps of a compiled Argo Workflow (run inside its containers)."""


@step_group.command("init")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--generation", type=int, default=0, show_default=True, help="The Workflow's generation.")
@click.option(
    "--iterations-per-lane",
    type=int,
    help="Lane iterations per generation: output the first generation whose slots are not all finished.",
)
@click.option("--workflow", "workflow_name", metavar="NAME", help="This Workflow's name ({{workflow.name}}).")
@click.option("--chain", default="", help="Generation 0's Workflow name, carried by its successors ('' in it).")
@_DB
@_OUTPUTS
@step_guarded
def init_command(
    file: Path,
    generation: int,
    iterations_per_lane: int | None,
    workflow_name: str | None,
    chain: str,
    db: str | None,
    outputs: Path,
) -> None:
    """Store the experiment in FILE, or continue the stored one.

    Outputs: experiment-id, completed, generation (where the lanes start: with
    --iterations-per-lane, past generations whose slots are all finished are
    skipped) and chain (--chain, else --workflow: the name successors carry).
    A spec.trialTemplate.configMap template is read through the Kubernetes API
    the first time and stored with the experiment.
    """
    from ..kubeapi import config_map_lookup, load_api_client
    from ..spec import load_experiment
    from ..store import Store
    from .steps import init_step, resume_generation

    experiment = load_experiment(file)
    with Store(db) as store:
        stored = init_step(store, experiment, lambda: config_map_lookup(load_api_client()))
        start = generation
        if iterations_per_lane:
            start = resume_generation(store, stored, generation, iterations_per_lane)
    _write(
        outputs,
        {
            "experiment-id": str(stored.id),
            "completed": json.dumps(stored.completed),
            "generation": str(start),
            "chain": chain or workflow_name or "",
        },
    )


@step_group.command("suggest")
@_NAME
@_NAMESPACE
@click.option("--lane", type=int, required=True)
@click.option("--iteration", type=int, required=True)
@click.option("--poll-seconds", type=float, default=5.0, show_default=True)
@click.option("--max-wait-seconds", type=float, default=300.0, show_default=True)
@_RUN_NAMESPACE
@_METRICS_CLAIM
@_DB_SECRET
@_DB
@_OUTPUTS
@step_guarded
def suggest_command(
    name: str,
    namespace: str | None,
    lane: int,
    iteration: int,
    poll_seconds: float,
    max_wait_seconds: float,
    run_namespace: str | None,
    metrics_claim: str | None,
    db_secret: str | None,
    db: str | None,
    outputs: Path,
) -> None:
    """Claim the lane's trial; outputs: trial, run-object (JSON), runnable, resumed, completed.

    The run object is placed in --run-namespace (the Workflow's). ``resumed``
    is true when an earlier attempt started the trial: the lane then uses the
    wait step, which finds the run object that attempt may have created.
    """
    from ..store import Store
    from .steps import suggest_step

    with Store(db) as store:
        s = suggest_step(
            store,
            name,
            namespace,
            lane,
            iteration,
            poll_seconds=poll_seconds,
            max_wait_seconds=max_wait_seconds,
            run_namespace=run_namespace,
            metrics_claim=metrics_claim,
            db_secret=db_secret,
        )
    _write(
        outputs,
        {
            "trial": s.trial,
            "run-object": s.run_object or {},
            "runnable": json.dumps(s.runnable),
            "resumed": json.dumps(s.resumed),
            "completed": json.dumps(s.completed),
        },
    )


@step_group.command("collect")
@_NAME
@_NAMESPACE
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
@_METRICS_ROOT
@click.option("--message", default="", help="Why the run object failed, for the trial's status.")
@_RUN_NAMESPACE
@_OWNER_WORKFLOW
@_OWNER_UID
@click.option(
    "--release/--no-release",
    default=False,
    help="Delete the run object once the trial is finished, unless spec.trialTemplate.retain (on a cluster).",
)
@_METRICS_CLAIM
@_DB_SECRET
@click.option("--poll-seconds", type=float, default=5.0, show_default=True, help="How often --phase Error looks.")
@_DB
@_OUTPUTS
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
    """Parse the trial's metrics and finish it; outputs: state, objective."""
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
            _write_trial(outputs, done)
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

            release_trial(store, name, namespace, trial, _run_objects(), run_namespace)
    _write_trial(outputs, done)


def _write_trial(outputs: Path, trial: Trial) -> None:
    _write(outputs, {"state": trial.state.value, "objective": "" if trial.objective is None else repr(trial.objective)})


def _owner(workflow: str | None, uid: str | None) -> Owner | None:
    if bool(workflow) != bool(uid):
        raise click.UsageError("--owner-workflow and --owner-uid go together")
    from .wait import Owner

    return Owner(workflow, uid) if workflow and uid else None


def _run_objects() -> RunObjects:
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

    objects = _run_objects()
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


@step_group.command("wait")
@_NAME
@_NAMESPACE
@click.option("--trial", required=True)
@_RUN_NAMESPACE
@_OWNER_WORKFLOW
@_OWNER_UID
@click.option("--poll-seconds", type=float, default=5.0, show_default=True)
@_METRICS_CLAIM
@_METRICS_ROOT
@_DB_SECRET
@_DB
@_OUTPUTS
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
    spec.trialTemplate.retain. Outputs: state, objective.
    """
    from ..store import Store

    owner = _owner(owner_workflow, owner_uid)
    with Store(db) as store:
        done = _wait(
            store, name, namespace, trial, run_namespace, owner, poll_seconds, metrics_claim, metrics_root, db_secret
        )
    _write_trial(outputs, done)


@step_group.command("decide")
@_NAME
@_NAMESPACE
@_DB
@_OUTPUTS
@step_guarded
def decide_command(name: str, namespace: str | None, db: str | None, outputs: Path) -> None:
    """Whether the lane goes on; outputs: proceed (true/false), reason."""
    from ..store import Store
    from .steps import decide_step

    with Store(db) as store:
        decision = decide_step(store, name, namespace)
    _write(outputs, {"proceed": json.dumps(decision.proceed), "reason": decision.reason})


@step_group.command("finish")
@_NAME
@_NAMESPACE
@click.option("--wait", is_flag=True, help="First wait until the experiment is completed (by later generations).")
@click.option("--poll-seconds", type=float, default=30.0, show_default=True, help="How often --wait looks.")
@click.option(
    "--chain",
    help="With --wait: generation 0's Workflow name; its successors are watched, and the wait fails when none "
    "is alive or the newest never starts (needs the Kubernetes API).",
)
@_RUN_NAMESPACE
@click.option(
    "--stall-seconds",
    type=float,
    default=900.0,
    show_default=True,
    help="With --chain: how long no generation may run.",
)
@click.option("--deadline-seconds", type=float, help="With --wait: fail when the experiment is not completed by then.")
@_DB
@_OUTPUTS
@step_guarded
def finish_command(
    name: str,
    namespace: str | None,
    wait: bool,
    poll_seconds: float,
    chain: str | None,
    run_namespace: str | None,
    stall_seconds: float,
    deadline_seconds: float | None,
    db: str | None,
    outputs: Path,
) -> None:
    """The final status; outputs: best-trial, best-parameters (JSON object), best-objective, succeeded, reason,
    status (JSON). Exits 3 when --wait sees that the experiment cannot complete any more."""
    from ..store import Store
    from .steps import finish_step

    watch = None
    if wait and (chain or deadline_seconds is not None):
        from .generations import GenerationWatch

        api = _run_objects().api if chain else None
        watch = GenerationWatch(api, run_namespace or "default", chain or "", name, stall_seconds, deadline_seconds)
    with Store(db) as store:
        result = finish_step(store, name, namespace, wait=wait, poll_seconds=poll_seconds, watch=watch)
    _write(
        outputs,
        {
            "best-trial": result.best_trial,
            "best-parameters": result.best_parameters,
            "best-objective": "" if result.best_objective is None else repr(result.best_objective),
            "succeeded": json.dumps(result.succeeded),
            "reason": result.reason,
            "status": result.status,
        },
    )


@step_group.command("fail")
@click.option("--experiment", "name", required=True, help="The experiment's metadata.name.")
@click.option("--reason", default="", help="Katib's reason of the experiment's final condition.")
def fail_command(name: str, reason: str) -> None:
    """Exit 1 saying that the experiment failed: the Workflow fails after its outputs are set."""
    click.echo(f"katib-flow: experiment {name!r} failed ({reason or 'no reason recorded'})", err=True)
    sys.exit(1)
