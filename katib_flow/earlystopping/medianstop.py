"""``medianstop``: the rule Katib's medianstop service actually produces.

For each Succeeded trial, Katib averages the first ``start_step`` reported
values of the objective metric; once at least ``min_trials_required`` trials
have such an average, it emits one rule on the objective metric whose value is
the **mean** of those averages (the service's code sums and divides; despite
its name it never takes a median). The comparison is ``less`` for a maximized
objective and ``greater`` for a minimized one, applied from ``start_step`` on.
katib-flow reproduces this exactly so experiments stop the same trials as on Katib.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..history import TrialRecord, TrialState
from ..spec import constants as c
from . import MedianStopSettings
from .base import Comparison, EarlyStopper, StopRule

__all__ = ["MedianStopper"]


class MedianStopper(EarlyStopper[MedianStopSettings]):
    settings_class = MedianStopSettings

    def rules(self, history: Sequence[TrialRecord]) -> list[StopRule]:
        start = self.settings.start_step
        averages = [
            sum(t.objective_series[:start]) / len(t.objective_series[:start])
            for t in history
            if t.state is TrialState.SUCCEEDED and t.objective_series
        ]
        if len(averages) < self.settings.min_trials_required:
            return []
        comparison = Comparison.LESS if self.objective_type == c.OBJECTIVE_MAXIMIZE else Comparison.GREATER
        return [StopRule(self.objective_metric, sum(averages) / len(averages), comparison, start)]
