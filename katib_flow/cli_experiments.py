"""``katib-flow status | trials | report | list | delete``: stored experiments, read (and deleted) from a database.

Read commands open the database with ``create=False``: a mistyped ``--db``
is an error, never a new empty database and its folders.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli_errors import guarded

if TYPE_CHECKING:
    from .engine.views import StoredExperiment, Trial

__all__ = ["DB_HELP", "NAMESPACE_FLAGS", "experiment_commands"]

DB_HELP = "Database URL (default: $KATIB_FLOW_DB_URL, else ./.katib-flow/katib-flow.db)."
NAMESPACE_FLAGS = ("-n", "--namespace")
_DB = click.option("--db", "db", metavar="URL", help=DB_HELP)
_NAMESPACE = click.option(
    *NAMESPACE_FLAGS,
    "namespace",
    default=None,
    help="The experiment's metadata.namespace (needed only when the name is stored in several).",
)
_SORT_KEYS = ("created", "objective", "name", "state", "duration")


@click.command("status")
@click.argument("name")
@_DB
@_NAMESPACE
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@guarded
def status_command(name: str, db: str | None, namespace: str | None, output: str) -> None:
    """An experiment's status, with the keys of Katib's .status in json and yaml."""
    from .engine import evaluate, find_experiment, first_failures, has_result
    from .runner.lease import runner_alive
    from .store import Store

    with Store(db, create=False) as store:
        stored = find_experiment(store, name, namespace, any_namespace=True)
        result = evaluate(store, stored.id)
        failures = [] if has_result(result) else first_failures(store, stored.id)
    if not _emitted(result.status, output):
        from .runner.progress import print_summary

        alive = runner_alive(stored.owner, stored.owner_heartbeat)
        print_summary(result, _trial_folders(stored), failures, runner_alive=alive)


def _trial_folders(stored: StoredExperiment) -> str | None:
    from .runner.folders import experiment_folder

    return (
        str(experiment_folder(Path(stored.workdir), stored.experiment.name, stored.namespace))
        if stored.workdir
        else None
    )


@click.command("trials")
@click.argument("name")
@_DB
@_NAMESPACE
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml", "csv"]), default="text", show_default=True)
@click.option(
    "--sort",
    type=click.Choice(_SORT_KEYS),
    default="created",
    show_default=True,
    help="Row order; objective: best first, trials without one last.",
)
@guarded
def trials_command(name: str, db: str | None, namespace: str | None, output: str, sort: str) -> None:
    """One row per trial: name, state, reason, objective, duration, parameters, and why it failed."""
    from sqlalchemy import select

    from .engine import find_experiment
    from .engine.views import trial_view
    from .store import Store, TrialRow

    with Store(db, create=False) as store:
        exp = find_experiment(store, name, namespace, any_namespace=True)
        with store.session() as session:
            rows = session.execute(select(TrialRow).where(TrialRow.experiment_id == exp.id).order_by(TrialRow.seq))
            trials = [trial_view(r) for r in rows.scalars()]
    objective = exp.experiment.spec.objective
    metric = (objective.objective_metric_name if objective else None) or "objective"
    maximize = objective is not None and objective.type == "maximize"
    trials = _sorted(trials, sort, maximize)
    records = [_record(t) for t in trials]
    if output == "csv":
        click.echo(_csv(records, exp.experiment.spec.parameters or []), nl=False)
    elif not _emitted(records, output):
        _print_table(trials, metric)


def _sorted(trials: list[Trial], key: str, maximize: bool) -> list[Trial]:
    if key == "objective":
        sign = -1.0 if maximize else 1.0
        return sorted(trials, key=lambda t: (t.objective is None, sign * (t.objective or 0.0), t.seq))
    if key == "name":
        return sorted(trials, key=lambda t: t.name)
    if key == "state":
        return sorted(trials, key=lambda t: (t.state.value, t.seq))
    if key == "duration":
        return sorted(trials, key=lambda t: (_seconds(t) is None, -(_seconds(t) or 0.0), t.seq))
    return trials


def _record(t: Trial) -> dict[str, Any]:
    return {
        "name": t.name,
        "state": t.state.value,
        "reason": t.reason,
        "message": t.message,
        "assignments": t.assignments,
        "objective": t.objective,
        "seconds": _seconds(t),
    }


def _csv(records: list[dict[str, Any]], parameters: list[Any]) -> str:
    names = [p.name for p in parameters if p.name]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "state", "reason", "objective", "seconds", *names, "message"])
    for r in records:
        values = [r["assignments"].get(n, "") for n in names]
        objective = "" if r["objective"] is None else repr(r["objective"])
        seconds = "" if r["seconds"] is None else f"{r['seconds']:.3f}"
        writer.writerow([r["name"], r["state"], r["reason"], objective, seconds, *values, r["message"]])
    return buffer.getvalue()


def _print_table(trials: list[Trial], metric: str) -> None:
    header = ("NAME", "STATE", "REASON", metric.upper(), "SECONDS", "PARAMETERS")
    rows = []
    for t in trials:
        seconds = _seconds(t)
        rows.append(
            (
                t.name,
                t.state.value,
                t.reason,
                "-" if t.objective is None else f"{t.objective:.6g}",
                "-" if seconds is None else f"{seconds:.1f}",
                " ".join(f"{k}={v}" for k, v in t.assignments.items()),
            )
        )
    for line, trial in zip(_aligned(header, rows, right=3), [None, *trials], strict=True):
        click.echo(line)
        if trial is not None and trial.state.value in ("Failed", "MetricsUnavailable", "Killed") and trial.message:
            for line in trial.message.splitlines():
                click.echo(f"    {line}")


def _emitted(data: Any, output: str) -> bool:
    """Print ``data`` as JSON or YAML when ``output`` asks for it; False for the text forms."""
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
    else:
        return False
    return True


def _aligned(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], right: int | None = None) -> list[str]:
    """The header and rows as lines of left-aligned columns (``right``: one right-aligned); the last is not padded."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [c.rjust(w) if i == right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False))]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def _seconds(trial: Trial) -> float | None:
    if trial.completion_time is None or trial.start_time is None:
        return None
    return (trial.completion_time - trial.start_time).total_seconds()


@click.command("report")
@click.argument("name")
@_DB
@_NAMESPACE
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="The HTML file to write (default: NAME-report.html here; - for standard output).",
)
@guarded
def report_command(name: str, db: str | None, namespace: str | None, output: Path | None) -> None:
    """An experiment's report: one self-contained HTML file that opens offline.

    Status and Katib's conditions, the optimisation history with the best so
    far, the learning curve of every trial (early-stopped ones marked where
    they stopped), parallel coordinates, the objective against each parameter,
    fANOVA parameter importance, and a sortable table of every trial. Plots
    are Plotly, embedded; see docs/report.md.
    """
    from .engine import find_experiment
    from .report import load_report_data, render_report, write_report
    from .runner.lease import runner_alive
    from .store import Store

    with Store(db, create=False) as store:
        stored = find_experiment(store, name, namespace, any_namespace=True)
        alive = runner_alive(stored.owner, stored.owner_heartbeat)
        html = render_report(load_report_data(store, stored, running=alive))
    if output is not None and str(output) == "-":
        click.echo(html, nl=False)
        return
    path = output or Path(f"{name}-report.html")
    write_report(path, html)
    click.echo(f"wrote {path} ({len(html.encode()) / 1e6:.1f} MB)")


@click.command("list")
@_DB
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@guarded
def list_command(db: str | None, output: str) -> None:
    """The experiments stored in a database: state, reason, trials, best objective."""
    from .engine import list_experiments
    from .engine.clock import rfc3339
    from .store import Store

    with Store(db, create=False) as store:
        summaries = list_experiments(store)
    records = [
        {
            "name": s.name,
            "namespace": s.namespace,
            "state": s.state,
            "reason": s.reason,
            "trials": s.trials,
            "trialsSucceeded": s.succeeded,
            "objectiveMetricName": s.objective_metric,
            "bestObjective": s.best_objective,
            "created": rfc3339(s.created_at),
        }
        for s in summaries
    ]
    if _emitted(records, output):
        return
    header: tuple[str, ...] = ("NAME", "NAMESPACE", "STATE", "REASON", "TRIALS", "SUCCEEDED", "BEST", "CREATED")
    rows: list[tuple[str, ...]] = [
        (
            str(r["name"]),
            str(r["namespace"] or "-"),
            str(r["state"]),
            str(r["reason"]),
            str(r["trials"]),
            str(r["trialsSucceeded"]),
            "-" if r["bestObjective"] is None else f"{r['objectiveMetricName']}={r['bestObjective']:.6g}",
            str(r["created"]),
        )
        for r in records
    ]
    for line in _aligned(header, rows):
        click.echo(line)


@click.command("delete")
@click.argument("name")
@_DB
@_NAMESPACE
@guarded
def delete_command(name: str, db: str | None, namespace: str | None) -> None:
    """Delete an experiment: its trials, observations and local trial folders.

    Refused while a runner holds the experiment. Trial folders are removed only
    when they carry this stored experiment's identity (never another
    experiment's of the same name).
    """
    from .engine import delete_experiment, find_experiment
    from .exceptions import TrialExecutionError
    from .runner.folders import remove_experiment_folder
    from .runner.lease import runner_alive
    from .store import Store

    with Store(db, create=False) as store:
        stored = find_experiment(store, name, namespace, any_namespace=True)
        if runner_alive(stored.owner, stored.owner_heartbeat):
            raise TrialExecutionError(f"experiment {name!r} is being run now; stop its runner first")
        trials = delete_experiment(store, stored.id)
    removed = (
        remove_experiment_folder(Path(stored.workdir), stored.experiment.name, stored.namespace, stored.identity)
        if stored.workdir
        else None
    )
    where = f" and {removed}" if removed else ""
    click.echo(f"deleted experiment {name!r} ({trials} trials){where}")
    sys.stdout.flush()


experiment_commands = [status_command, trials_command, report_command, list_command, delete_command]
