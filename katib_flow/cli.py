"""The ``katib-flow`` command.

Exit codes are a contract: 0 success, 2 bad input (one line per problem, each
with its field path), 1 anything else. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .cli_cluster import cluster_commands
from .cli_errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK, guarded
from .cli_experiments import DB_HELP, experiment_commands
from .cluster.cli import step_group
from .exceptions import ExperimentInterrupted, Problem, SpecError


class _Commands(click.Group):
    """The command group; ``--debug`` is accepted anywhere on the line, not only before the command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--debug" in args:
            cut = args.index("--") if "--" in args else len(args)
            if "--debug" in args[:cut]:
                args = ["--debug", *(a for a in args[:cut] if a != "--debug"), *args[cut:]]
        return super().parse_args(ctx, args)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="katib-flow")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors (accepted anywhere on the line).")
def main(debug: bool) -> None:
    """Tune hyperparameters with Katib's experiment language, locally or on Argo Workflows."""


_TRIAL_TEMPLATES = click.option(
    "--trial-templates",
    "trial_templates",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    metavar="PATH",
    help="Where spec.trialTemplate.configMap templates are: a folder with a file named templatePath, or a YAML "
    "file of ConfigMap manifests (kubectl get configmap NAME -o yaml). Repeatable. Without it, run reads the "
    "ConfigMap from the cluster of the current kubeconfig context, if there is one.",
)


F = TypeVar("F", bound=Callable[..., Any])


def _services_option(flag: str, variable: str, what: str) -> Callable[[F], F]:
    """A repeatable NAME=HOST:PORT option that points names at Katib services for this process (and the
    steps and trials it starts) through ``variable``, merged with what the variable already says."""

    def use(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
        import os

        from .katib_api.client import format_services, parse_services

        try:
            found = {**parse_services([os.environ.get(variable, "")]), **parse_services(values)}
        except ValueError as err:
            raise click.BadParameter(str(err), ctx=ctx, param=param) from None
        if found:
            os.environ[variable] = format_services(found)
        return found

    option: Callable[[F], F] = click.option(
        flag,
        multiple=True,
        metavar="NAME=HOST:PORT",
        callback=use,
        expose_value=False,
        help=f"{what} Repeatable; also ${variable} (NAME=HOST:PORT,...).",
    )
    return option


# The variables are katib_flow.algorithms.SUGGESTION_SERVICES_ENV and earlystopping.EARLY_STOPPING_SERVICES_ENV,
# written out here so that the command line starts without importing those packages.
_SUGGESTION_SERVICES = _services_option(
    "--suggestion-service",
    "KATIB_FLOW_SUGGESTION_SERVICES",
    "Get algorithm NAME's trials from a Katib algorithm service (Katib's gRPC Suggestion API), and validate "
    "its settings there.",
)
_EARLY_STOPPING_SERVICES = _services_option(
    "--early-stopping-service",
    "KATIB_FLOW_EARLY_STOPPING_SERVICES",
    "Get early-stopping algorithm NAME's rules from a Katib early-stopping service (Katib's gRPC EarlyStopping "
    "API), and validate its settings there.",
)


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: 'FILE: valid' or one 'FILE: path: problem' line per problem; json: one report object.",
)
@_TRIAL_TEMPLATES
@_SUGGESTION_SERVICES
@_EARLY_STOPPING_SERVICES
@guarded
def validate_command(files: tuple[Path, ...], output: str, trial_templates: tuple[Path, ...]) -> None:
    """Check Katib Experiment YAML files.

    Applies Katib's defaults, then every rule of Katib's validating webhook and
    the checks Katib leaves to its algorithm services (bounds, steps, algorithm
    settings, grid size, hyperband parallelism). Every problem is reported, one
    line each, with its field path. A file may hold several experiments
    separated by '---'; each is checked. A ConfigMap trial template is checked
    too when --trial-templates says where it is (otherwise only its reference).

    Exit status: 0 when every experiment is valid, 2 otherwise.
    """
    debug = bool(click.get_current_context().find_root().params.get("debug"))
    report: list[dict[str, Any]] = []
    for path in files:
        report.extend(_check_file(path, debug, trial_templates))
    if output == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        for entry in report:
            if entry["valid"]:
                click.echo(f"{entry['source']}: valid")
            for p in entry["problems"]:
                click.echo(f"{entry['source']}: {p['path'] + ': ' if p['path'] else ''}{p['message']}", err=True)
    sys.exit(EXIT_OK if all(e["valid"] for e in report) else EXIT_INVALID)


def _check_file(path: Path, debug: bool, trial_templates: tuple[Path, ...] = ()) -> list[dict[str, Any]]:
    from .spec import parse_documents, read_text, validate
    from .spec.template_source import files_lookup, resolve_trial_template

    source = str(path)
    try:
        text = read_text(path)
        docs = parse_documents(text)
    except SpecError as err:
        if debug:
            traceback.print_exc()
        return [_entry(source, None, err.problems)]
    several = len(docs) > 1
    entries = []
    for doc in docs:
        label = f"{source}[{doc.index}]" if several else source
        experiment = doc.experiment
        problems = doc.problems
        if experiment is not None and trial_templates:
            try:
                experiment = resolve_trial_template(
                    experiment, files_lookup(trial_templates), ", ".join(map(str, trial_templates))
                )
            except SpecError as err:
                problems, experiment = err.problems, None
        if experiment is not None:
            problems = validate(experiment)
        name = doc.experiment.name if doc.experiment is not None else None
        entries.append(_entry(label, name, problems))
    return entries


def _entry(source: str, name: str | None, problems: list[Problem]) -> dict[str, Any]:
    return {
        "source": source,
        "name": name,
        "valid": not problems,
        "problems": [{"path": p.path, "message": p.message} for p in problems],
    }


@main.command("run")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--db", "db", metavar="URL", help=DB_HELP)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the stored experiment of the same name (budgets may change), or start it if none is stored.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where trial folders go (default ./.katib-flow).",
)
@click.option("--quiet", is_flag=True, help="Plain log lines instead of the live view.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep an HTML report (plots, trial table) in this file while trials finish; it reloads itself while "
    "the run goes on.",
)
@_TRIAL_TEMPLATES
@_SUGGESTION_SERVICES
@_EARLY_STOPPING_SERVICES
@guarded
def run_command(
    file: Path,
    db: str | None,
    resume: bool,
    workdir: Path | None,
    quiet: bool,
    report: Path | None,
    trial_templates: tuple[Path, ...],
) -> None:
    """Run an experiment on this machine: trials are local processes, state is in the database.

    Each trial runs the primary container's command and args (no shell) in its
    own folder, <workdir>/runs/<experiment>/<trial>/, with its output in
    trial.log. Ctrl-C (or SIGTERM, or a closed terminal) stops every running
    trial at once, with one grace period of 5 s (a second Ctrl-C kills them at
    once); they end Killed, their points run again on --resume.

    Exit status: 0 when the experiment succeeded with a best trial; 1 when it
    failed or no trial succeeded (the first failures are printed); 130 on
    Ctrl-C (143 SIGTERM, 129 SIGHUP); 2 for an invalid experiment, a bad
    option or a refused run.
    """
    from .engine import has_result
    from .runner import run_experiment

    try:
        result = run_experiment(
            file,
            db=db,
            resume=resume,
            workdir=workdir,
            progress="lines" if quiet else "live",
            summary=True,
            trial_templates=trial_templates,
            report=report,
        )
    except ExperimentInterrupted as stopped:
        click.echo(f"interrupted: resume with katib-flow run {file} --resume", err=True)
        sys.exit(128 + stopped.signum)
    if not has_result(result):
        what = "failed" if result.completed and not result.succeeded else "has no successful trial"
        click.echo(f"katib-flow: the experiment {what} ({result.reason}); see the failed trials above", err=True)
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_OK)


main.add_command(step_group)
for _command in cluster_commands:
    main.add_command(_command)
for _command in experiment_commands:
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
