"""Progress output of ``katib-flow run``: plain log lines (``--quiet``) or a live rich view."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..engine import Evaluation, Trial
from ..exceptions import TrialFailure
from ..history import TrialState

if TYPE_CHECKING:
    from .local import Reporter

__all__ = ["LiveReporter", "PlainReporter", "Reporters", "SilentReporter", "print_summary"]


_FAILED_STATES = (TrialState.FAILED, TrialState.METRICS_UNAVAILABLE)


def _assignments(trial: Trial) -> str:
    return " ".join(f"{k}={v}" for k, v in trial.assignments.items())


def _objective(trial: Trial) -> str:
    return "-" if trial.objective is None else f"{trial.objective:.6g}"


class SilentReporter:
    """Reports nothing (the Python API's default)."""

    def trial_started(self, trial: Trial) -> None:
        pass

    def trial_finished(self, trial: Trial, seconds: float) -> None:
        pass


class Reporters:
    """Several reporters as one (the progress view and ``--report``'s file)."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = reporters

    def trial_started(self, trial: Trial) -> None:
        for reporter in self.reporters:
            reporter.trial_started(trial)

    def trial_finished(self, trial: Trial, seconds: float) -> None:
        for reporter in self.reporters:
            reporter.trial_finished(trial, seconds)


class PlainReporter:
    """One line per event, for logs and CI."""

    def __init__(self, metric: str) -> None:
        self.metric = metric

    def trial_started(self, trial: Trial) -> None:
        click.echo(f"trial {trial.name} started: {_assignments(trial)}")

    def trial_finished(self, trial: Trial, seconds: float) -> None:
        click.echo(f"trial {trial.name} {trial.state.value}: {self.metric}={_objective(trial)} ({seconds:.1f} s)")
        if trial.state in _FAILED_STATES and trial.message:
            for line in trial.message.splitlines():
                click.echo(f"  {line}")


class LiveReporter:
    """A live panel: counts, best so far, elapsed time and ETA, the latest results."""

    def __init__(self, metric: str, minimize: bool, max_trials: int | None, console: Console | None = None) -> None:
        self.metric, self.minimize, self.max_trials = metric, minimize, max_trials
        self.console = console or Console(stderr=True)
        self.counts: dict[TrialState, int] = {}
        self.running: dict[str, tuple[Trial, float]] = {}
        self.recent: deque[tuple[Trial, float]] = deque(maxlen=6)
        self.best: Trial | None = None
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveReporter:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.update(self._render())
        self._live.__exit__(*exc)

    def trial_started(self, trial: Trial) -> None:
        with self._lock:
            self.running[trial.name] = (trial, time.monotonic())
        self._live.update(self._render())

    def trial_finished(self, trial: Trial, seconds: float) -> None:
        with self._lock:
            self.running.pop(trial.name, None)
            self.counts[trial.state] = self.counts.get(trial.state, 0) + 1
            self.recent.appendleft((trial, seconds))
            if trial.objective is not None and trial.state.has_objective:
                better = (
                    self.best is None
                    or self.best.objective is None
                    or (
                        trial.objective < self.best.objective
                        if self.minimize
                        else trial.objective > self.best.objective
                    )
                )
                if better:
                    self.best = trial
        self._live.update(self._render())

    def _render(self) -> Group:
        elapsed = time.monotonic() - self.started
        done = sum(self.counts.values()) - self.counts.get(TrialState.KILLED, 0)
        eta = ""
        if self.max_trials and done:
            remaining = max(self.max_trials - done, 0) * elapsed / done
            eta = f"  ETA {remaining:.0f} s"
        head = Text.assemble(
            ("done ", "bold"),
            str(done),
            f"/{self.max_trials or '?'}  ",
            ("running ", "bold"),
            str(len(self.running)),
            "  ",
            ("failed ", "bold"),
            str(self.counts.get(TrialState.FAILED, 0) + self.counts.get(TrialState.METRICS_UNAVAILABLE, 0)),
            "  ",
            ("early-stopped ", "bold"),
            str(self.counts.get(TrialState.EARLY_STOPPED, 0)),
            f"  elapsed {elapsed:.0f} s{eta}",
        )
        best = Text(f"best {self.metric}: -")
        if self.best is not None:
            best = Text.assemble(
                ("best ", "bold green"),
                f"{self.metric}={_objective(self.best)} ",
                f"({self.best.name}: {_assignments(self.best)})",
            )
        table = Table(show_header=True, header_style="bold", expand=False)
        for column in ("trial", "state", self.metric, "seconds", "parameters"):
            table.add_column(column)
        now = time.monotonic()
        with self._lock:
            running = sorted(self.running.values(), key=lambda item: item[1])
            recent = list(self.recent)
        for trial, started in running:
            table.add_row(trial.name, "Running", "-", f"{now - started:.1f}", _assignments(trial), style="cyan")
        for trial, seconds in recent:
            table.add_row(trial.name, trial.state.value, _objective(trial), f"{seconds:.1f}", _assignments(trial))
        return Group(head, best, table)


def print_summary(
    evaluation: Evaluation, logs: str | None, failures: Sequence[TrialFailure] = (), *, runner_alive: bool = False
) -> None:
    """How an experiment stands or ended, the best trial, the first failures, where the logs are."""
    status = evaluation.status
    if evaluation.completed or runner_alive:
        click.echo(f"experiment {_standing(evaluation, runner_alive)}: {evaluation.reason}")
    else:
        click.echo(
            "experiment interrupted: no runner holds it; continue with katib-flow run FILE --resume "
            f"(Katib's condition: {evaluation.reason})"
        )
    click.echo(
        f"trials: {status.get('trials', 0)} (succeeded {status.get('trialsSucceeded', 0)}, failed "
        f"{status.get('trialsFailed', 0)}, metrics unavailable {status.get('trialMetricsUnavailable', 0)}, "
        f"early stopped {status.get('trialsEarlyStopped', 0)}, killed {status.get('trialsKilled', 0)})"
    )
    optimal = status.get("currentOptimalTrial")
    if optimal:
        click.echo(f"best trial: {optimal['bestTrialName']}")
        for assignment in optimal["parameterAssignments"]:
            click.echo(f"  {assignment['name']} = {assignment['value']}")
        for metric in optimal["observation"]["metrics"]:
            click.echo(f"  {metric['name']}: min {metric['min']}, max {metric['max']}, latest {metric['latest']}")
    for failure in failures:
        first, *rest = failure.message.splitlines() or [""]
        click.echo(f"failed trial {failure.name} ({failure.state}): {first}")
        for line in rest:
            click.echo(f"  {line}")
    click.echo(f"logs: {logs or '(no local trial folders recorded)'}")


def _standing(evaluation: Evaluation, runner_alive: bool) -> str:
    if not evaluation.completed:
        return "running"
    if not evaluation.succeeded:
        return "failed"
    if not evaluation.status.get("currentOptimalTrial"):
        return "ended without a successful trial"
    return "succeeded"
