"""The options and the output writer the ``katib-flow step`` commands share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

__all__ = [
    "DB",
    "DB_SECRET",
    "METRICS_CLAIM",
    "METRICS_ROOT",
    "NAME",
    "NAMESPACE",
    "OUTPUTS",
    "OWNER_UID",
    "OWNER_WORKFLOW",
    "RUN_NAMESPACE",
    "write_outputs",
]

DB = click.option("--db", metavar="URL", help="Database URL (default: $KATIB_FLOW_DB_URL).")
NAME = click.option("--experiment", "name", required=True, help="The experiment's metadata.name.")
NAMESPACE = click.option("--namespace", default=None, help="The experiment's metadata.namespace, if it has one.")
RUN_NAMESPACE = click.option(
    "--run-namespace",
    help="Namespace the run object is created in and its pods are read from (the Workflow's: {{workflow.namespace}}).",
)
METRICS_CLAIM = click.option(
    "--metrics-claim",
    metavar="CLAIM",
    help="PersistentVolumeClaim the trial's primary container writes File/TensorFlowEvent metrics to (and, for "
    "pbt, where its checkpoint folder is).",
)
METRICS_ROOT = click.option(
    "--metrics-root",
    type=click.Path(file_okay=False),
    help="Where this step has the metrics claim mounted: reads <root>/<trial>/... (File, TensorFlowEvent); "
    "pbt's suggest makes <root>/checkpoints/<experiment>/<trial>.",
)
DB_SECRET = click.option(
    "--db-secret",
    metavar="SECRET",
    help="Secret (key url) whose database URL a Push trial's primary container gets as KATIB_FLOW_DB_URL.",
)
OWNER_WORKFLOW = click.option(
    "--owner-workflow", metavar="NAME", help="The Workflow that owns the run object ({{workflow.name}})."
)
OWNER_UID = click.option("--owner-uid", metavar="UID", help="Its uid ({{workflow.uid}}); needed with --owner-workflow.")
OUTPUTS = click.option(
    "--outputs",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/tmp/katib-flow"),
    show_default=True,
    help="Folder for the output files.",
)


def write_outputs(folder: Path, values: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        (folder / key).write_text(text)
        click.echo(f"{key}: {text if len(text) < 200 else text[:200] + '...'}")
