"""Running one trial's command as a local process group.

The command is an argv list (no shell). stdout and stderr go, merged and in
order, to the trial's log file and, line by line, to a callback (the StdOut
collector, which feeds early stopping). The process gets its own session so
that stopping it stops everything it started, and on Linux a parent-death
signal, so that it dies with its runner even when the runner is killed with
``kill -9`` (its children are found and killed on resume: :mod:`.orphans`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import TrialExecutionError

__all__ = ["GRACE_SECONDS", "ProcessResult", "TrialProcess"]

# How long a stopped process group gets between SIGTERM and SIGKILL.
GRACE_SECONDS = 5.0
_TAIL_LINES = 20
_PR_SET_PDEATHSIG = 1


@functools.cache
def _setpriv() -> str | None:
    """util-linux's ``setpriv`` when it can set a parent-death signal (util-linux >= 2.33; always on Debian).

    Starting the trial through it keeps Python's fast spawn path: a ``preexec_fn``
    makes every start a full fork of the runner, about 10 ms per trial here.
    """
    if not sys.platform.startswith("linux"):
        return None
    path = shutil.which("setpriv")
    if path is None:
        return None
    usage = subprocess.run([path, "--help"], capture_output=True, text=True, check=False).stdout
    return path if "--pdeathsig" in usage else None


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up once (find_library runs ldconfig: far too slow for every trial)."""
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    function: Callable[..., int] = ctypes.CDLL(libc_name, use_errno=True).prctl
    return function


def _parent_death_hook() -> Callable[[], None] | None:
    """A preexec function asking Linux to SIGKILL the child when the thread that started it dies."""
    prctl = _prctl()  # resolved here, not in the forked child
    if prctl is None:
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the runner died between fork and prctl
            os._exit(137)

    return hook


def _launch(argv: list[str], cwd: Path, env: Mapping[str, str]) -> tuple[list[str], Callable[[], None] | None]:
    """The argv to start and the preexec function: the trial dies with the thread that started it."""
    program = argv[0]
    found = (cwd / program).is_file() if "/" in program else shutil.which(program, path=env.get("PATH")) is not None
    if not found:  # checked here: through setpriv a missing program would look like a failed trial
        raise TrialExecutionError(f"cannot start {program!r}: No such file or directory")
    setpriv = _setpriv()
    if setpriv is not None:
        return [setpriv, "--pdeathsig", "KILL", "--", *argv], None
    return argv, _parent_death_hook()


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    timed_out: bool
    stopped: bool
    tail: list[str]
    io_error: str | None = None  # the runner could not write the trial's log (a full disk)

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.stopped and self.io_error is None


class TrialProcess:
    """One run of a trial command; :meth:`stop` and :meth:`kill` may be called from any thread."""

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
        io_error: str | None = None
        log = self.log_path.open("ab")
        try:
            with self._lock:
                if self._stop_requested.is_set():
                    return ProcessResult(-signal.SIGTERM, False, True, [])
                argv, preexec = _launch(self.argv, self.cwd, self.env)
                try:
                    self._process = subprocess.Popen(
                        argv,
                        cwd=self.cwd,
                        env=self.env,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        preexec_fn=preexec,
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
                    tail.append(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
                    try:
                        log.write(raw)
                        log.flush()
                    except OSError as err:
                        # Nobody would read the pipe any more: the trial would block on it forever.
                        io_error = f"could not write {self.log_path}: {err.strerror or err}"
                        _signal_group(process, signal.SIGKILL)
                        break
                    if self.on_line is not None:
                        self.on_line(tail[-1])
            finally:
                returncode = process.wait()
                if timer is not None:
                    timer.cancel()
                process.stdout.close()
        finally:
            # Closing flushes what is buffered; on a full disk that fails again, already reported.
            with contextlib.suppress(OSError):
                log.close()
        return ProcessResult(returncode, self._timed_out, self._stop_requested.is_set(), list(tail), io_error)

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM to the whole process group now, SIGKILL after ``grace`` seconds; returns at once."""
        with self._lock:
            self._stop_requested.set()
            process = self._process
        if process is not None:
            _terminate_group(process, grace)

    def kill(self) -> None:
        """SIGKILL to the whole process group now (a second Ctrl-C)."""
        with self._lock:
            self._stop_requested.set()
            process = self._process
        if process is not None:
            _signal_group(process, signal.SIGKILL)

    def _time_out(self) -> None:
        self._timed_out = True
        if self._process is not None:
            _terminate_group(self._process, GRACE_SECONDS)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.returncode is not None:
        return  # reaped: its group id may belong to someone else by now
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _terminate_group(process: subprocess.Popen[bytes], grace: float) -> None:
    _signal_group(process, signal.SIGTERM)
    timer = threading.Timer(grace, _signal_group, args=(process, signal.SIGKILL))
    timer.daemon = True
    timer.start()
