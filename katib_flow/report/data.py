"""What a report shows of an experiment, read from the store in a handful of queries.

Every trial with its parameters and metrics, the objective metric's observation
log of every trial (the learning curves), and the experiment's Katib-shaped
status. Nothing here formats anything: :mod:`.figures` and the Jinja2
templates do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import select

from ..engine import Evaluation, StoredExperiment, Trial, evaluate
from ..engine.clock import now
from ..engine.views import trial_view
from ..history import finite_objective
from ..space import SearchSpace
from ..store import ObservationRow, Store, TrialRow

__all__ = ["Curve", "ReportData", "load_report_data"]


@dataclass(frozen=True)
class Curve:
    """One trial's reported objective values, in report order; ``steps`` where the trial gave them."""

    steps: tuple[float, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class ReportData:
    stored: StoredExperiment
    evaluation: Evaluation
    trials: list[Trial]
    curves: dict[str, Curve] = field(default_factory=dict)
    generated: datetime = field(default_factory=now)
    running: bool = False  # a runner holds the experiment now

    # Derived once per report: the figures, the table and the template each ask for these.
    @cached_property
    def space(self) -> SearchSpace:
        return SearchSpace.from_spec(self.stored.experiment.spec)

    @property
    def metric(self) -> str:
        objective = self.stored.experiment.spec.objective
        return (objective.objective_metric_name if objective else None) or "objective"

    @property
    def minimize(self) -> bool:
        objective = self.stored.experiment.spec.objective
        return objective is None or objective.type != "maximize"

    @property
    def goal(self) -> float | None:
        objective = self.stored.experiment.spec.objective
        return objective.goal if objective else None

    @cached_property
    def scored(self) -> list[Trial]:
        """Trials with a finite objective that algorithms use (Succeeded and EarlyStopped), in creation order."""
        return [t for t in self.trials if finite_objective(t.state, t.objective) is not None]

    @cached_property
    def best(self) -> Trial | None:
        optimal = self.evaluation.status.get("currentOptimalTrial") or {}
        name = optimal.get("bestTrialName")
        return next((t for t in self.trials if t.name == name), None) if name else None


def load_report_data(store: Store, stored: StoredExperiment, *, running: bool = False) -> ReportData:
    """Everything a report shows of ``stored``, as the store holds it now."""
    evaluation = evaluate(store, stored.id)
    objective = stored.experiment.spec.objective
    metric = objective.objective_metric_name if objective else None
    with store.session() as session:
        rows = session.execute(select(TrialRow).where(TrialRow.experiment_id == stored.id).order_by(TrialRow.seq))
        trials = [trial_view(r) for r in rows.scalars()]
        observations = (
            session.execute(
                select(ObservationRow.trial_name, ObservationRow.step, ObservationRow.value)
                .where(ObservationRow.experiment_id == stored.id, ObservationRow.metric_name == metric)
                .order_by(ObservationRow.trial_name, ObservationRow.time, ObservationRow.id)
            ).all()
            if metric
            else []
        )
    points: dict[str, list[tuple[float | None, float]]] = {}
    for trial_name, step, value in observations:
        try:
            number = float(value)
        except ValueError:
            continue  # Katib stores "unavailable" and other text as they came; there is no point to draw
        if math.isfinite(number):
            points.setdefault(trial_name, []).append((step, number))
    curves = {}
    for name, pairs in points.items():
        # Steps only when every point has one; otherwise the report index is the x axis.
        with_steps = all(s is not None for s, _ in pairs)
        curves[name] = Curve(
            steps=tuple(float(s) if with_steps and s is not None else float(i) for i, (s, _) in enumerate(pairs)),
            values=tuple(v for _, v in pairs),
        )
    return ReportData(stored=stored, evaluation=evaluation, trials=trials, curves=curves, running=running)
