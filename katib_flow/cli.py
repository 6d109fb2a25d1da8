"""The ``katib-flow`` command.

Exit codes are a contract: 0 success, 2 bad input (one line per problem, each
with its field path), 1 anything else. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .exceptions import KatibFlowError, Problem, SpecError
from .spec import parse_documents, read_text, validate

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(fn: F) -> F:
    """Turn katib-flow errors into one line per problem and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            return fn(*args, **kwargs)
        except KatibFlowError as err:
            if debug:
                traceback.print_exc()
            for line in str(err).splitlines():
                click.echo(f"katib-flow: {line}", err=True)
            sys.exit(EXIT_INVALID)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="katib-flow")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def main(debug: bool) -> None:
    """Tune hyperparameters with Katib's experiment language, locally or on Argo Workflows."""


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
@_guarded
def validate_command(files: tuple[Path, ...], output: str) -> None:
    """Check Katib Experiment YAML files.

    Applies Katib's defaults, then every rule of Katib's validating webhook and
    the checks Katib leaves to its algorithm services (bounds, steps, algorithm
    settings, grid size, hyperband parallelism). Every problem is reported, one
    line each, with its field path. A file may hold several experiments
    separated by '---'; each is checked.

    Exit status: 0 when every experiment is valid, 2 otherwise.
    """
    debug = bool(click.get_current_context().find_root().params.get("debug"))
    report: list[dict[str, Any]] = []
    for path in files:
        report.extend(_check_file(path, debug))
    if output == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        for entry in report:
            if entry["valid"]:
                click.echo(f"{entry['source']}: valid")
            for p in entry["problems"]:
                click.echo(f"{entry['source']}: {p['path'] + ': ' if p['path'] else ''}{p['message']}", err=True)
    sys.exit(EXIT_OK if all(e["valid"] for e in report) else EXIT_INVALID)


def _check_file(path: Path, debug: bool) -> list[dict[str, Any]]:
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
        problems = doc.problems if doc.experiment is None else validate(doc.experiment)
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


if __name__ == "__main__":  # pragma: no cover
    main()
