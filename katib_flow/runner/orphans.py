"""Trial processes left behind by a runner that was killed (``kill -9``, a crash).

The trial's own process dies with its runner (parent-death signal), but what
it started lives on in the trial's process group. When a new runner takes the
experiment over, it kills those processes before anything else runs, so no
orphan keeps writing a trial folder or pushing metrics. A process is only
taken for an orphan when it is in the recorded process group *and* its
environment names the trial (a recycled group id is never hit).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from pathlib import Path

__all__ = ["PGID_FILE", "kill_orphans", "record_group"]

PGID_FILE = ".katib-flow-pgid"


def record_group(trial_folder: Path, pgid: int) -> None:
    """Remember the trial's process group, where a later runner on this host can find it."""
    (trial_folder / PGID_FILE).write_text(f"{socket.gethostname()} {pgid}\n", encoding="utf-8")


def kill_orphans(trial_folder: Path, trial_env: str, trial: str) -> list[int]:
    """SIGKILL the processes of ``trial``'s recorded group still running on this host; returns their pids."""
    record = trial_folder / PGID_FILE
    if not record.is_file():
        return []
    host, _, group = record.read_text(encoding="utf-8").strip().partition(" ")
    if host != socket.gethostname() or not group.isdigit() or not Path("/proc").is_dir():
        return []
    killed = []
    marker = f"{trial_env}={trial}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if os.getpgid(pid) != int(group) or marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
        except (OSError, ProcessLookupError):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed
