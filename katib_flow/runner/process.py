"""Running one trial's command as a local process group.

The command is an argv list (no shell). stdout and stderr go, merged and in
order, to the trial's log file and, line by line, to a callback (the StdOut
collector, which feeds early stopping). The process gets its own session so
that stopping it stops everything it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import TrialExecutionError

__all__ = ["ProcessResult", "TrialProcess"]

# How long a stopped process group gets between SIGTERM and SIGKILL.
GRACE_SECONDS = 5.0
_TAIL_LINES = 20


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    timed_out: bool
    stopped: bool
    tail: list[str]

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.stopped


class TrialProcess:
    """One run of a trial command; :meth:`stop` may be called from any thread."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
        on_line: Callable[[str], None] | None = None,
        timeout: float | None = None,
    ) -> None:
        if not argv:
            raise TrialExecutionError("the primary container has neither command nor args: nothing to run")
        self.argv, self.cwd, self.env, self.log_path = list(argv), cwd, dict(env), log_path
        self.on_line, self.timeout = on_line, timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stop_requested = threading.Event()
        self._timed_out = False
        self._lock = threading.Lock()

    def run(self) -> ProcessResult:
        """Start the process, pump its output until it exits, and return how it ended."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        tail: deque[str] = deque(maxlen=_TAIL_LINES)
        with self.log_path.open("ab") as log:
            with self._lock:
                if self._stop_requested.is_set():
                    return ProcessResult(-signal.SIGTERM, False, True, [])
                try:
                    self._process = subprocess.Popen(
                        self.argv,
                        cwd=self.cwd,
                        env=self.env,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                except OSError as err:
                    raise TrialExecutionError(f"cannot start {self.argv[0]!r}: {err.strerror or err}") from err
            process = self._process
            timer = threading.Timer(self.timeout, self._time_out) if self.timeout else None
            if timer is not None:
                timer.daemon = True
                timer.start()
            assert process.stdout is not None
            try:
                for raw in iter(process.stdout.readline, b""):
                    log.write(raw)
                    log.flush()
                    line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                    tail.append(line)
                    if self.on_line is not None:
                        self.on_line(line)
            finally:
                returncode = process.wait()
                if timer is not None:
                    timer.cancel()
        return ProcessResult(returncode, self._timed_out, self._stop_requested.is_set(), list(tail))

    def stop(self) -> None:
        """Terminate the whole process group (SIGTERM, then SIGKILL after a grace period)."""
        with self._lock:
            self._stop_requested.set()
            process = self._process
        if process is not None:
            _terminate_group(process)

    def _time_out(self) -> None:
        self._timed_out = True
        if self._process is not None:
            _terminate_group(self._process)


def _terminate_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
