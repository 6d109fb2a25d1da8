"""The local runner: ``katib-flow run`` and :func:`run_experiment`."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Literal

import click

from ..engine import Evaluation, init_experiment, result_error, set_workdir
from ..exceptions import ExperimentInterrupted, SpecError, check_choice
from ..kubeapi import config_map_lookup, kubeconfig_available, load_api_client
from ..spec import check, load_experiment
from ..spec import constants as c
from ..spec.containers import local_refusal
from ..spec.models import Experiment
from ..spec.template_source import files_lookup, resolve_trial_template, source_of
from ..store import Store
from .folders import ExperimentFolder, prepare_workdir
from .limits import ensure_open_files
from .live_report import ReportRefresher
from .local import LocalRunner
from .progress import LiveReporter, PlainReporter, Reporters, SilentReporter, print_summary

__all__ = ["PROGRESS", "LocalRunner", "run_experiment"]

Progress = Literal["none", "lines", "live"]
PROGRESS = ("none", "lines", "live")
# The signals that stop a run cleanly: Ctrl-C, kill, and a closed terminal.
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def run_experiment(
    experiment: Experiment | str | os.PathLike[str],
    *,
    db: str | None = None,
    resume: bool = False,
    workdir: str | os.PathLike[str] | None = None,
    progress: Progress = "none",
    summary: bool = False,
    require_result: bool = False,
    trial_templates: Sequence[str | os.PathLike[str]] = (),
    report: str | os.PathLike[str] | None = None,
    _workdir_option: str = "--workdir",
) -> Evaluation:
    """Run an experiment (a model or a YAML path) locally to completion and return its final evaluation.

    Trials run in ``<workdir>/runs/<experiment>/<trial>/`` (default workdir
    ``./.katib-flow``); relative paths in the trial command resolve against the
    YAML file's folder (the current folder for a model). ``resume`` continues
    the stored experiment of that name, or starts it when none is stored.
    ``progress`` prints nothing, one line per trial event, or the live view
    (plain lines when stderr is not a terminal); ``summary`` prints the final
    summary. SIGINT, SIGTERM and SIGHUP stop the running trials (Killed) and
    raise :class:`~katib_flow.exceptions.ExperimentInterrupted` (a
    ``KeyboardInterrupt``); the experiment stays resumable.

    The evaluation is returned as Katib computes it, also when no trial
    succeeded (:func:`katib_flow.engine.has_result` tells); with
    ``require_result`` an experiment that failed or has no successful trial
    raises :class:`~katib_flow.exceptions.ExperimentFailedError` with the first
    failures' messages instead. ``trial_templates`` (folders or ConfigMap
    manifest files) supply a ``spec.trialTemplate.configMap`` template; without
    them it is read from the cluster of the current kubeconfig context, if
    there is one. Either way it is read once and stored with the experiment.
    ``report`` names an HTML file kept current while trials start and finish
    (``katib-flow report`` writes the same file once).
    """
    check_choice("progress", progress, PROGRESS)
    base = Path.cwd()
    if not isinstance(experiment, Experiment):
        path = Path(experiment)
        base = path.resolve().parent
        experiment = load_experiment(path)
    if trial_templates:
        experiment = resolve_trial_template(experiment, files_lookup(trial_templates), _listing(trial_templates))
    elif source_of(experiment) is not None and kubeconfig_available():
        # No template files given: the ConfigMap of the cluster the current kubeconfig context points at.
        lookup = config_map_lookup(load_api_client())
        experiment = resolve_trial_template(experiment, lookup, "the cluster of the current kubeconfig context")
    defaulted = check(experiment)
    _check_runnable(defaulted)
    ensure_open_files(defaulted.spec.parallel_trial_count or 1)  # before anything is stored
    root = prepare_workdir(Path(workdir) if workdir is not None else Path.cwd() / ".katib-flow", _workdir_option)
    if report is not None:
        _check_report_path(Path(report))
    with Store(db) as store:
        stored = init_experiment(store, experiment, existing="reuse" if resume else "error")
        spec = stored.experiment.spec
        set_workdir(store, stored.id, str(root))
        folder = ExperimentFolder.claim(root, stored.experiment.name, stored.namespace, stored.identity)
        if folder.moved_aside is not None:
            click.echo(
                f"katib-flow: {folder.path} held the trial folders of another experiment named "
                f"{stored.experiment.name!r} (another or a deleted database); moved them to {folder.moved_aside}",
                err=True,
            )
        assert spec.objective is not None
        metric = spec.objective.objective_metric_name or "objective"
        reporter: PlainReporter | LiveReporter | SilentReporter | Reporters
        context: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        if progress == "none":
            reporter = SilentReporter()
        elif progress == "lines" or not sys.stderr.isatty():
            reporter = PlainReporter(metric)
        else:
            reporter = LiveReporter(metric, spec.objective.type != c.OBJECTIVE_MAXIMIZE, spec.max_trial_count)
            context = reporter
        refresher = ReportRefresher(store, stored, Path(report)) if report is not None else None
        if refresher is not None:
            reporter = Reporters(reporter, refresher)
        runner = LocalRunner(store, stored.id, stored.experiment, folder=folder, base_dir=base, reporter=reporter)
        received: list[int] = []
        with _stop_on_signals(runner, received), contextlib.ExitStack() as stack:
            if refresher is not None:  # entered first, left last: its final word comes after the live view's
                stack.enter_context(refresher)
            stack.enter_context(context)
            result = runner.run()
        if received and not result.completed:
            if summary:
                print_summary(result, str(folder.path))
            raise ExperimentInterrupted(stored.experiment.name, received[0])
        error = result_error(store, stored.id, stored.experiment.name, result)
        if summary:
            print_summary(result, str(folder.path), error.failures if error else ())
        if error is not None and require_result:
            raise error
        return result


def _check_report_path(path: Path) -> None:
    """Refuse, before anything is stored, a report file that cannot be written."""
    if path.is_dir():
        raise SpecError.single("--report", f"{path} is a folder; name the HTML file to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SpecError.single("--report", f"cannot create the folder of {path}: {err.strerror or err}") from None
    if not os.access(path.parent, os.W_OK):
        raise SpecError.single("--report", f"cannot write in {path.parent}")


def _listing(paths: Sequence[str | os.PathLike[str]]) -> str:
    return ", ".join(str(p) for p in paths)


def _check_runnable(experiment: Experiment) -> None:
    """Refuse, before anything is stored, a trial that cannot be one local process."""
    template = experiment.spec.trial_template
    if template is None or template.trial_spec is None:
        raise SpecError.single(
            "spec.trialTemplate.configMap",
            f"the trial template is in a ConfigMap ({source_of(experiment)}) and no kubeconfig is there to read it "
            "from a cluster: give katib-flow run the folder or the ConfigMap manifest that holds it with "
            "--trial-templates PATH",
        )
    refusal = local_refusal(template.trial_spec, template.primary_container_name)
    if refusal is not None:
        raise SpecError.single("spec.trialTemplate.trialSpec.kind", refusal)
    mc = experiment.spec.metrics_collector_spec
    if mc is not None and mc.collector is not None and mc.collector.kind == c.COLLECTOR_CUSTOM:
        raise SpecError.single(
            "spec.metricsCollectorSpec.collector.kind",
            "the Custom collector runs its own image beside the trial's container (a sidecar in its pod): it runs "
            "on a cluster (katib-flow compile), not locally; report with katib_flow.report_metrics (Push) instead",
        )


@contextlib.contextmanager
def _stop_on_signals(runner: LocalRunner, received: list[int]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        runner.stop()  # a second signal kills the trials at once

    previous = {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
