"""The local runner: ``katib-flow run`` and :func:`run_experiment`."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Literal

from ..engine import Evaluation, init_experiment
from ..spec import constants as c
from ..spec import load_experiment
from ..spec.models import Experiment
from ..store import Store
from .local import LocalRunner
from .report import LiveReporter, PlainReporter, SilentReporter, print_summary

__all__ = ["LocalRunner", "run_experiment"]


def run_experiment(
    experiment: Experiment | str | os.PathLike[str],
    *,
    db: str | None = None,
    resume: bool = False,
    workdir: str | os.PathLike[str] | None = None,
    progress: Literal["none", "lines", "live"] = "none",
    summary: bool = False,
) -> Evaluation:
    """Run an experiment (a model or a YAML path) locally to completion and return its final evaluation.

    Trials run in ``<workdir>/runs/<experiment>/<trial>/`` (default workdir
    ``./.katib-flow``); relative paths in the trial command resolve against the
    YAML file's folder (the current folder for a model). ``progress`` prints
    nothing, one line per trial event, or the live view; ``summary`` prints the
    final summary. SIGINT and SIGTERM stop the running trials (Killed) and leave
    the experiment resumable.
    """
    base = Path.cwd()
    if not isinstance(experiment, Experiment):
        path = Path(experiment)
        base = path.resolve().parent
        experiment = load_experiment(path)
    root = Path(workdir) if workdir is not None else Path.cwd() / ".katib-flow"
    with Store(db) as store:
        stored = init_experiment(store, experiment, existing="resume" if resume else "error")
        spec = stored.experiment.spec
        assert spec.objective is not None
        metric = spec.objective.objective_metric_name or "objective"
        reporter: PlainReporter | LiveReporter | SilentReporter
        context: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        if progress == "none":
            reporter = SilentReporter()
        elif progress == "lines":
            reporter = PlainReporter(metric)
        else:
            reporter = LiveReporter(metric, spec.objective.type != c.OBJECTIVE_MAXIMIZE, spec.max_trial_count)
            context = reporter
        runner = LocalRunner(store, stored.id, stored.experiment, workdir=root, base_dir=base, reporter=reporter)
        with _stop_on_signals(runner), context:
            result = runner.run()
        if summary:
            print_summary(result, str(root / "runs" / stored.experiment.name))
        return result


@contextlib.contextmanager
def _stop_on_signals(runner: LocalRunner) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        runner.stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
