"""The local runner's folders: the workdir, and one experiment folder owned by one stored experiment.

Trial names are derived from the experiment's seed, so the same experiment
run again against a new (or deleted) database asks for the same trial
folders. A trial must never append to an old ``trial.log`` or read an old
metrics file, so an experiment folder carries the identity of the stored
experiment it belongs to; a folder left by another one is moved aside (never
deleted) before the first trial starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..exceptions import SpecError

__all__ = ["MARKER", "ExperimentFolder", "experiment_folder", "prepare_workdir", "remove_experiment_folder"]

MARKER = ".katib-flow-experiment"


def prepare_workdir(path: Path, option: str) -> Path:
    """``path`` made absolute, created, and checked writable; a clear error names ``option`` otherwise."""
    root = path.expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise SpecError.single(option, f"cannot use {str(path)!r} for trial folders: it is not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as err:
        detail = err.strerror or str(err)
        raise SpecError.single(option, f"cannot use {str(path)!r} for trial folders: {detail}") from None
    return root


def experiment_folder(workdir: Path, name: str, namespace: str = "") -> Path:
    """``<workdir>/runs/<name>``, or ``<namespace>.<name>`` (Kubernetes names have no dots, so no two collide)."""
    return workdir / "runs" / (f"{namespace}.{name}" if namespace else name)


@dataclass(frozen=True)
class ExperimentFolder:
    """``<workdir>/runs/<experiment>``: where one stored experiment's trial folders live."""

    path: Path
    moved_aside: Path | None = None

    @classmethod
    def claim(cls, workdir: Path, name: str, namespace: str, identity: str) -> ExperimentFolder:
        """The experiment's folder, created or reused; another experiment's folder is moved aside first."""
        path = experiment_folder(workdir, name, namespace)
        moved: Path | None = None
        if path.exists():
            owner = _owner(path)
            if owner == identity:
                return cls(path)
            if owner is not None or any(path.iterdir()):
                stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
                moved = path.with_name(f"{path.name}.replaced-{stamp}")
                os.replace(path, moved)
        path.mkdir(parents=True, exist_ok=True)
        (path / MARKER).write_text(identity + "\n", encoding="utf-8")
        return cls(path, moved)

    def trial(self, trial: str) -> Path:
        return self.path / trial

    @property
    def checkpoints(self) -> Path:
        """PBT's checkpoint folders, one per trial (``suggestion_trial_dir``): deleted and moved with the rest."""
        return self.path / "checkpoints"


def remove_experiment_folder(workdir: Path, name: str, namespace: str, identity: str) -> Path | None:
    """Delete the experiment's trial folders if they are this stored experiment's; returns what was removed."""
    path = experiment_folder(workdir, name, namespace)
    if _owner(path) != identity:
        return None
    shutil.rmtree(path)
    return path


def _owner(path: Path) -> str | None:
    """The identity an experiment folder carries, or None when it carries none."""
    marker = path / MARKER
    return marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
