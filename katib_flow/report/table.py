"""The report's trial table: one row per trial, every value exact, with keys to sort by in the page."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import Trial
from ..engine.clock import rfc3339
from .data import ReportData

__all__ = ["TrialRow", "trial_rows"]


@dataclass(frozen=True)
class TrialRow:
    number: int
    name: str
    state: str
    reason: str
    objective: str  # as stored (repr of the float), "" without one
    metrics: tuple[str, ...]  # each additional metric's latest value, in the spec's order
    seconds: str
    started: str
    parameters: tuple[str, ...]  # in the spec's order
    message: str
    best: bool


def trial_rows(data: ReportData) -> list[TrialRow]:
    """Every trial in creation order."""
    objective = data.stored.experiment.spec.objective
    additional = list((objective.additional_metric_names if objective else None) or [])
    names = data.space.names
    best = data.best.name if data.best else None
    return [
        TrialRow(
            number=i + 1,
            name=t.name,
            state=t.state.value,
            reason=t.reason,
            objective="" if t.objective is None else repr(t.objective),
            metrics=tuple(_latest(t, m) for m in additional),
            seconds=_seconds(t),
            started=rfc3339(t.start_time) or "",
            parameters=tuple(t.assignments.get(n, "") for n in names),
            message=t.message,
            best=t.name == best,
        )
        for i, t in enumerate(data.trials)
    ]


def _latest(trial: Trial, metric: str) -> str:
    return next((m.get("latest", "") for m in trial.metrics if m.get("name") == metric), "")


def _seconds(trial: Trial) -> str:
    if trial.start_time is None or trial.completion_time is None:
        return ""
    return f"{(trial.completion_time - trial.start_time).total_seconds():.1f}"
