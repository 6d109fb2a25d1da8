"""``katib-flow step ...``: the entry points a compiled Workflow's containers run.

Each command reads the database URL from ``--db`` or ``KATIB_FLOW_DB_URL`` (a
Secret on the cluster) and writes its results as small files under
``--outputs`` (one value per file), which Argo reads as output parameters with
``valueFrom.path``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from ..cli_errors import step_guarded
from . import cli_options as opt
from .cli_trials import collect_command, run_objects, wait_command

# Each step imports what it runs when it runs (inside the command): a step pod starts a fresh
# interpreter, and the Kubernetes client, the algorithms or the collectors are needed by one step each.

__all__ = ["step_group"]


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
@opt.DB
@opt.OUTPUTS
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
    from .starting import init_step, resume_generation

    experiment = load_experiment(file)
    with Store(db) as store:
        stored = init_step(store, experiment, lambda: config_map_lookup(load_api_client()))
        start = generation
        if iterations_per_lane:
            start = resume_generation(store, stored, generation, iterations_per_lane)
    opt.write_outputs(
        outputs,
        {
            "experiment-id": str(stored.id),
            "completed": json.dumps(stored.completed),
            "generation": str(start),
            "chain": chain or workflow_name or "",
        },
    )


@step_group.command("suggest")
@opt.NAME
@opt.NAMESPACE
@click.option("--lane", type=int, required=True)
@click.option("--iteration", type=int, required=True)
@click.option("--poll-seconds", type=float, default=5.0, show_default=True)
@click.option("--max-wait-seconds", type=float, default=300.0, show_default=True)
@opt.RUN_NAMESPACE
@opt.METRICS_CLAIM
@opt.METRICS_ROOT
@opt.DB_SECRET
@opt.DB
@opt.OUTPUTS
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
    metrics_root: str | None,
    db_secret: str | None,
    db: str | None,
    outputs: Path,
) -> None:
    """Claim the lane's trial; outputs: trial, display-name, parameters (JSON), run-object (JSON), runnable,
    resumed, completed.

    The run object is placed in --run-namespace (the Workflow's). ``resumed``
    is true when an earlier attempt started the trial: the lane then uses the
    wait step, which finds the run object that attempt may have created. ``display-name`` is the trial's
    name as Argo accepts a node's display name. For pbt, the trial's checkpoint folder is made on the
    claim mounted at --metrics-root (its parent's copied in) before the run object exists.
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
            metrics_root=metrics_root,
            db_secret=db_secret,
        )
    opt.write_outputs(
        outputs,
        {
            "trial": s.trial,
            "display-name": display_name(s.trial),
            "parameters": json.dumps(s.assignments, indent=1),
            "run-object": s.run_object or {},
            "runnable": json.dumps(s.runnable),
            "resumed": json.dumps(s.resumed),
            "completed": json.dumps(s.completed),
        },
    )


# Argo's displayNameRegex (workflow/controller/operator.go, v3.7+): a display name that does not match it
# errors the node, so a trial name that does not fit (longer than 63) is clipped rather than passed on.
_DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-.]{0,61}[a-zA-Z0-9]$")


def display_name(trial: str) -> str:
    """``trial`` as an Argo node's display name (``trial`` when none is claimed)."""
    clipped = re.sub(r"[^a-zA-Z0-9-.]", "-", trial)[:63].strip("-.")
    return clipped if _DISPLAY_NAME.match(clipped) else "trial"


@step_group.command("decide")
@opt.NAME
@opt.NAMESPACE
@opt.DB
@opt.OUTPUTS
@step_guarded
def decide_command(name: str, namespace: str | None, db: str | None, outputs: Path) -> None:
    """Whether the lane goes on; outputs: proceed (true/false), reason."""
    from ..store import Store
    from .steps import decide_step

    with Store(db) as store:
        decision = decide_step(store, name, namespace)
    opt.write_outputs(outputs, {"proceed": json.dumps(decision.proceed), "reason": decision.reason})


@step_group.command("finish")
@opt.NAME
@opt.NAMESPACE
@click.option("--wait", is_flag=True, help="First wait until the experiment is completed (by later generations).")
@click.option("--poll-seconds", type=float, default=30.0, show_default=True, help="How often --wait looks.")
@click.option(
    "--chain",
    help="With --wait: generation 0's Workflow name; its successors are watched, and the wait fails when none "
    "is alive or the newest never starts (needs the Kubernetes API).",
)
@opt.RUN_NAMESPACE
@click.option(
    "--stall-seconds",
    type=float,
    default=900.0,
    show_default=True,
    help="With --chain: how long no generation may run.",
)
@click.option("--deadline-seconds", type=float, help="With --wait: fail when the experiment is not completed by then.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the experiment's HTML report here (an output artifact with an artifact repository).",
)
@opt.DB
@opt.OUTPUTS
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
    report: Path | None,
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

        api = run_objects().api if chain else None
        watch = GenerationWatch(api, run_namespace or "default", chain or "", name, stall_seconds, deadline_seconds)
    with Store(db) as store:
        result = finish_step(store, name, namespace, wait=wait, poll_seconds=poll_seconds, watch=watch)
        if report is not None:
            from ..engine import find_experiment
            from ..report import load_report_data, render_report, write_report

            write_report(report, render_report(load_report_data(store, find_experiment(store, name, namespace))))
    opt.write_outputs(
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


step_group.add_command(collect_command)
step_group.add_command(wait_command)
