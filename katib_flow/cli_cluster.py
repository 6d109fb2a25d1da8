"""``katib-flow compile``, ``submit`` and ``serve``: the commands for a cluster (Argo, Katib).

They import Hera, the Argo compiler or gRPC only when they run.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .cli_errors import EXIT_FAILED, guarded
from .cli_experiments import NAMESPACE_FLAGS
from .exceptions import SpecError

if TYPE_CHECKING:  # the compiler imports Hera: only the commands that compile load it
    from .argo.compiler import CompileOptions

__all__ = ["cluster_commands"]

F = TypeVar("F", bound=Any)

_STEP_SUGGESTION_SERVICES = click.option(
    "--suggestion-service",
    "suggestion_services",
    multiple=True,
    metavar="NAME=HOST:PORT",
    help="The suggest step gets algorithm NAME's trials from this Katib algorithm service in the cluster "
    "(e.g. a Service name and port). Repeatable.",
)


_STEP_EARLY_STOPPING_SERVICES = click.option(
    "--early-stopping-service",
    "early_stopping_services",
    multiple=True,
    metavar="NAME=HOST:PORT",
    help="The steps get early-stopping algorithm NAME's rules from this Katib early-stopping service in the "
    "cluster. Repeatable.",
)
_EXPERIMENT_DEADLINE = click.option(
    "--experiment-deadline",
    "deadline_seconds",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="With generations (--template): generation 0 stops waiting for the experiment and fails after this "
    "long. It also fails when no generation is running, or the newest has not started in 15 minutes.",
)
_STEP_SUGGESTION_IMAGES = click.option(
    "--suggestion-image",
    "suggestion_images",
    multiple=True,
    metavar="NAME=IMAGE",
    help="Run IMAGE, a Katib algorithm service (gRPC on port 6789), as a daemoned step of each generation "
    "and get algorithm NAME's trials from it, as Katib runs one suggestion Deployment per experiment.",
)


# The Workflow options `compile` and `submit` share.
_IMAGE = click.option(
    "--image",
    default=None,
    help="The katib-flow image the steps run (default: katib-flow:<version>, which "
    "algorithms/katib-flow/Dockerfile builds; load it into the cluster or push it and name it here).",
)
_STEP_CPU, _STEP_MEMORY = (
    click.option(
        f"--step-{what.lower()}",
        default=default,
        show_default=True,
        metavar="REQUEST[:LIMIT]",
        help=f"{what} request and limit of each step container.",
    )
    for what, default in (("CPU", "100m:1"), ("Memory", "256Mi:1Gi"))
)
_WORKFLOW_NAMESPACE_HELP = (
    "The Workflow's namespace, where the trials' run objects and pods are created too (default: the "
    "experiment's). It needs what manifests/ installs: the DB Secret, the service account and its Role, and "
    "for the File/TensorFlowEvent collectors the metrics claim."
)
_DB_SECRET = click.option(
    "--db-secret",
    default="katib-flow-db",
    show_default=True,
    help="The Secret whose key 'url' holds the MySQL URL of the steps' database.",
)
_SERVICE_ACCOUNT = click.option("--service-account", default="katib-flow", show_default=True)
_ARGO_VERSION = click.option(
    "--argo-version",
    default="3.7",
    show_default=True,
    metavar="MAJOR.MINOR",
    help="The oldest Argo Workflows the Workflow must run on (3.6 or later). Before 3.7 trial nodes keep their "
    "step names: templates have no annotations there, and a strict argo lint/submit refuses them.",
)
_ARTIFACT_REPOSITORY = click.option(
    "--artifact-repository",
    "artifacts",
    is_flag=True,
    help="The Workflow's namespace has an artifact repository: the finish step keeps the HTML report as an "
    "output artifact (shown in the Argo UI) and every step's log is archived (spec.archiveLogs). Without one "
    "nothing needs it.",
)
_KEEP_STEP_PODS = click.option(
    "--keep-step-pods",
    "pod_gc_delay",
    default="30m",
    show_default=True,
    metavar="DURATION",
    help="How long succeeded step pods (and their logs) stay before Argo deletes them (podGC deleteDelayDuration).",
)


def _compile_options(
    *,
    image: str | None,
    namespace: str | None,
    db_secret: str,
    service_account: str,
    step_cpu: str,
    step_memory: str,
    suggestion_services: tuple[str, ...],
    suggestion_images: tuple[str, ...],
    early_stopping_services: tuple[str, ...],
    deadline_seconds: float | None,
    argo_version: str,
    artifacts: bool,
    pod_gc_delay: str,
) -> CompileOptions:
    from .argo.compiler import CompileOptions
    from .argo.step_pods import StepResources, parse_quantity_pair
    from .katib_api.client import parse_services

    found: dict[str, dict[str, str]] = {}
    for flag, entries in (
        ("--suggestion-service", suggestion_services),
        ("--early-stopping-service", early_stopping_services),
    ):
        try:
            found[flag] = parse_services(entries)
        except ValueError as err:
            raise SpecError.single(flag, str(err)) from None
    services, stoppers = found["--suggestion-service"], found["--early-stopping-service"]
    images: dict[str, str] = {}
    for entry in suggestion_images:
        name, sep, image = entry.partition("=")
        if not sep or not name.strip() or not image.strip():
            raise SpecError.single("--suggestion-image", f"{entry!r}: expected NAME=IMAGE")
        images[name.strip()] = image.strip()
    try:
        cpu = parse_quantity_pair(step_cpu, "CPU")
        memory = parse_quantity_pair(step_memory, "memory")
    except ValueError as err:
        flag = "--step-cpu" if str(err).startswith("CPU") else "--step-memory"
        raise SpecError.single(flag, str(err)) from None
    version = _argo_version(argo_version)
    if not re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", pod_gc_delay):
        raise SpecError.single("--keep-step-pods", f"{pod_gc_delay!r}: expected a duration such as 30m, 2h or 90s")
    return CompileOptions(
        image=image or CompileOptions().image,
        namespace=namespace,
        db_secret=db_secret,
        service_account=service_account,
        resources=StepResources(*cpu, *memory),
        suggestion_services=tuple(sorted(services.items())),
        suggestion_images=tuple(sorted(images.items())),
        early_stopping_services=tuple(sorted(stoppers.items())),
        deadline_seconds=deadline_seconds,
        argo_version=version,
        artifacts=artifacts,
        pod_gc_delay=pod_gc_delay,
    )


def _argo_version(text: str) -> tuple[int, int]:
    from .argo.compiler import MIN_ARGO

    found = re.fullmatch(r"v?(\d+)\.(\d+)(\.\d+)?", text.strip())
    if found is None:
        raise SpecError.single("--argo-version", f"{text!r}: expected MAJOR.MINOR, such as 3.7")
    version = (int(found.group(1)), int(found.group(2)))
    if version < MIN_ARGO:
        raise SpecError.single(
            "--argo-version", f"{text}: katib-flow needs Argo Workflows {MIN_ARGO[0]}.{MIN_ARGO[1]} or later"
        )
    return version


def _workflow_options(fn: F) -> F:
    """The options `compile` and `submit` share; the command gets them as keyword arguments for
    :func:`_compile_options`."""
    for option in reversed(
        (
            _IMAGE,
            _DB_SECRET,
            _SERVICE_ACCOUNT,
            _STEP_CPU,
            _STEP_MEMORY,
            _STEP_SUGGESTION_SERVICES,
            _STEP_SUGGESTION_IMAGES,
            _STEP_EARLY_STOPPING_SERVICES,
            _EXPERIMENT_DEADLINE,
            _ARGO_VERSION,
            _ARTIFACT_REPOSITORY,
            _KEEP_STEP_PODS,
        )
    ):
        fn = option(fn)
    return fn


@click.command("compile")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.option(*NAMESPACE_FLAGS, "namespace", default=None, help=_WORKFLOW_NAMESPACE_HELP)
@_workflow_options
@click.option(
    "--template",
    "as_template",
    is_flag=True,
    help="Write a WorkflowTemplate (katib-flow-<name>) and the small Workflow that runs it.",
)
@guarded
def compile_command(file: Path, output: Path | None, namespace: str | None, as_template: bool, **workflow: Any) -> None:
    """Compile an experiment into an Argo Workflow (YAML).

    The Workflow runs init, parallelTrialCount lanes of suggest -> run object
    (an Argo resource step, or katib-flow's wait step where Argo cannot judge
    the object or trials stop early) -> collect -> decide, and finish, whose
    outputs (best-parameters, best-objective, best-trial, succeeded, reason)
    are global output parameters (prefixed <name>- in a WorkflowTemplate),
    kept current as trials finish (with trials: N/M); the Workflow fails when
    the experiment failed. Trial nodes are named after their trial (Argo 3.7+)
    and each trial's objective is a Prometheus gauge. Needs Argo Workflows 3.6 or
    later. Run objects are created in the Workflow's namespace. With --template: a WorkflowTemplate that pipelines can
    reference (templateRef, template main) and the Workflow that runs it; an
    experiment larger than one Workflow (parallelTrialCount x 80 trials) needs
    it, as its Workflows continue as new generations. See docs/cluster.md.
    """
    from .argo.compiler import compile_template, compile_workflow
    from .spec import load_experiment

    options = _compile_options(namespace=namespace, **workflow)
    experiment = load_experiment(file)
    if as_template:
        template, runner = compile_template(experiment, options)
        text = template.to_yaml() + "---\n" + runner.to_yaml()
    else:
        text = compile_workflow(experiment, options).to_yaml()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)


@click.command("submit")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--argo-server", envvar="ARGO_SERVER", help="The Argo Server's URL (default: $ARGO_SERVER).")
@click.option("--token", envvar="ARGO_TOKEN", help="A bearer token (default: $ARGO_TOKEN).")
@click.option(*NAMESPACE_FLAGS, "namespace", default=None, help=_WORKFLOW_NAMESPACE_HELP)
@_workflow_options
@click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate.")
@click.option("--dry-run", is_flag=True, help="Compile and print what would be submitted; contact no server.")
@guarded
def submit_command(
    file: Path,
    argo_server: str | None,
    token: str | None,
    namespace: str | None,
    insecure: bool,
    dry_run: bool,
    **shared: Any,
) -> None:
    """Compile an experiment and submit the Workflow to an Argo Server; prints its name and UI link.

    An experiment larger than one Workflow (parallelTrialCount x 80 trials) is
    submitted as its WorkflowTemplate (created, or replaced) plus the Workflow
    that runs it, so its generations can continue as new Workflows.
    """
    from .argo.compiler import compile_template, compile_workflow, single_generation_problems
    from .argo.submit import SubmitError, submit_workflow
    from .spec import load_experiment

    experiment = load_experiment(file)
    target = namespace or experiment.namespace or "default"
    options = _compile_options(namespace=target, **shared)
    template = None
    if single_generation_problems(options.check(experiment), options):  # generations need the WorkflowTemplate
        template, workflow = compile_template(experiment, options)
    else:
        workflow = compile_workflow(experiment, options)
    if dry_run:
        if template is not None:
            click.echo(template.to_yaml() + "---\n", nl=False)
        click.echo(workflow.to_yaml(), nl=False)
        return
    if not argo_server:
        raise SpecError.single("--argo-server", "needed to submit (or set ARGO_SERVER; --dry-run prints the Workflow)")
    try:
        submitted = submit_workflow(
            workflow, server=argo_server, namespace=target, token=token, verify_ssl=not insecure, template=template
        )
    except SubmitError as err:  # the server's answer, not bad input: exit 1
        click.echo(f"katib-flow: {err}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"workflow {submitted.name} submitted in namespace {submitted.namespace}")
    click.echo(submitted.url)


@click.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=6789,
    show_default=True,
    help="Port (Katib's algorithm services use 6789; 0: any free one, logged).",
)
@click.option(
    "--db",
    "db",
    metavar="URL",
    help="Also serve Katib's DBManager over this store (and record SetTrialStatus); none: algorithms only.",
)
@click.option("--workers", type=int, default=8, show_default=True, help="Calls handled at once.")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json", show_default=True)
@guarded
def serve_command(host: str, port: int, db: str | None, workers: int, log_format: str) -> None:
    """Serve katib-flow's algorithms over Katib's gRPC API (a Katib algorithm service).

    Offers api.v1.beta1.Suggestion and api.v1.beta1.EarlyStopping for every
    katib-flow algorithm (the request names it), grpc.health.v1.Health, and
    with --db api.v1.beta1.DBManager. Stateless: any replica can answer any
    call. SIGTERM stops it gracefully. See docs/grpc.md.
    """
    from .katib_api.server import configure_logging, serve
    from .store import Store

    configure_logging(log_format)
    if db is None:
        serve(host, port, None, workers)
        return
    with Store(db) as store:
        serve(host, port, store, workers)


cluster_commands = [compile_command, submit_command, serve_command]
