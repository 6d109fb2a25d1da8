"""``katib-flow run --report FILE``: the HTML report rewritten while trials finish.

Rendering reads the store and takes from ~0.1 s (a few trials) to ~2 s (1,000
trials, fANOVA included), so it runs in a thread of its own, never in a trial
slot: after a trial starts or finishes the report is due, and it is rendered
at most every ``interval`` seconds, and never more than a fifth of the time
(the wait after a render is at least four times the render). The file is
replaced atomically, and the page reloads itself while the run goes on.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType

import click

from ..engine import StoredExperiment, Trial
from ..report import REFRESH_SECONDS, load_report_data, render_report, write_report
from ..store import Store

__all__ = ["ReportRefresher"]


class ReportRefresher:
    """A reporter (``trial_started``/``trial_finished``) that keeps ``path`` current; a context manager."""

    def __init__(self, store: Store, stored: StoredExperiment, path: Path, interval: float = 2.0) -> None:
        self.store, self.stored, self.path, self.interval = store, stored, path, interval
        self._due = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="katib-flow-report", daemon=True)
        self.renders = 0
        self.error: BaseException | None = None

    def trial_started(self, trial: Trial) -> None:
        self._due.set()

    def trial_finished(self, trial: Trial, seconds: float) -> None:
        self._due.set()

    def __enter__(self) -> ReportRefresher:
        self.write(running=True)  # the file exists (and says Running) before the first trial ends
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._done.set()
        self._due.set()
        self._thread.join()
        # The last word: the run is over (completed, failed or interrupted), so the page stops reloading.
        try:
            self.write(running=False)
        except Exception as err:
            click.echo(f"katib-flow: the report {self.path} could not be written: {err}", err=True)
            return
        click.echo(f"report: {self.path}", err=True)

    def write(self, *, running: bool) -> None:
        data = load_report_data(self.store, self.stored, running=running)
        write_report(self.path, render_report(data, refresh=REFRESH_SECONDS if running else None))
        self.renders += 1

    def _loop(self) -> None:
        while not self._done.is_set():
            self._due.wait()
            if self._done.is_set():
                return
            self._due.clear()
            started = time.monotonic()
            try:
                self.write(running=True)
            except Exception as err:
                if self.error is None:
                    click.echo(f"katib-flow: the report {self.path} could not be written: {err}", err=True)
                self.error = err
            spent = time.monotonic() - started
            self._done.wait(max(self.interval, 4 * spent))
