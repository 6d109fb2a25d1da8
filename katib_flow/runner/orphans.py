"""Trial processes left behind by a runner that was killed (``kill -9``, a crash).

The trial's own process dies with its runner (parent-death signal), but what
it started lives on. When a new runner takes the experiment over, it kills
those processes before anything else runs, so no orphan keeps writing a trial
folder or pushing metrics. A process is taken for an orphan only when its
environment names the trial, the experiment and the database, exactly as the
runner set them (a process of another experiment or database is never hit).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["kill_orphans"]


def kill_orphans(markers: Mapping[str, str], trial_env: str, trials: Iterable[str]) -> list[int]:
    """SIGKILL every process of this host whose environment holds all of ``markers`` and one of ``trials``.

    One pass over ``/proc`` for all the trials a lost runner left; returns the pids killed.
    """
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: the parent-death signal is not there either
        return []
    wanted = {f"{key}={value}".encode() for key, value in markers.items()}
    names = {f"{trial_env}={trial}".encode() for trial in trials}
    killed = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:  # gone, or another user's
            continue
        if wanted <= environ and names & environ:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
    return killed
