"""PBT checkpoint folders, Katib's layout: one folder per trial, a child's starting as a copy of its parent's.

Katib's webhook mounts ``<experiment>/<trial>`` of the suggestion volume at the
algorithm setting ``suggestion_trial_dir`` in the trial's primary container
(``pkg/webhook/v1beta1/pod/inject_webhook.go``, ``mutateSuggestionVolume``), and
its pbt service copies the parent's folder to the child's when it proposes the
child (``pkg/suggestion/v1beta1/pbt/service.py``). In katib-flow the driver that
starts the trial makes the folder, right before the start: locally under the
experiment's run folder, on a cluster on the shared metrics claim.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import TrialExecutionError
from ..spec.models import Experiment

__all__ = ["SUGGESTION_TRIAL_DIR", "CheckpointMissingError", "checkpoint_mount", "parent_of", "prepare_checkpoint"]

SUGGESTION_TRIAL_DIR = "suggestion_trial_dir"  # Katib's consts.SuggestionVolumeMountKey


class CheckpointMissingError(TrialExecutionError):
    """A trial's parent checkpoint folder is gone: the trial would silently train from scratch."""


def checkpoint_mount(experiment: Experiment) -> str | None:
    """Where the trial's container sees its checkpoint folder (``suggestion_trial_dir``), or None."""
    algorithm = experiment.spec.algorithm
    for setting in (algorithm.algorithm_settings if algorithm else None) or []:
        if setting.name == SUGGESTION_TRIAL_DIR and setting.value:
            return str(setting.value)
    return None


def parent_of(data: Mapping[str, Any]) -> str | None:
    """The trial whose checkpoint a trial starts from: PBT's record in the trial's data, else Katib's parent
    label (a trial an external algorithm service proposed)."""
    from ..algorithms.pbt import PARENT_LABEL, pbt_data

    record = pbt_data(dict(data))
    labels = data.get("labels")
    parent = record.get("parent") if record else labels.get(PARENT_LABEL) if isinstance(labels, dict) else None
    return str(parent) if parent else None


def prepare_checkpoint(root: Path, trial: str, parent: str | None) -> Path:
    """``root/trial``, made afresh: a copy of ``root/parent``, or empty without a parent.

    Safe to repeat: what an interrupted earlier start of the trial wrote is
    thrown away and the parent's folder copied again, into a temporary folder
    renamed into place, so a crash mid-copy never leaves a half copy that
    looks whole. The parent's own folder is never written.
    """
    target = root / trial
    if target.exists():
        shutil.rmtree(target)
    if parent is None:
        target.mkdir(parents=True)
        return target
    source = root / parent
    if not source.is_dir():
        raise CheckpointMissingError(
            f"the checkpoint folder of its parent trial {parent} is missing ({source}): the trial would start "
            "from scratch instead of from its parent's model"
        )
    partial = root / f".{trial}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    shutil.copytree(source, partial, symlinks=True)
    os.replace(partial, target)
    return target
