"""What the Argo UI shows of an experiment: node names, titles, live outputs, Prometheus metrics.

Each item is an Argo feature, read in Argo's source:

* A trial's node is named after the trial with the template annotation
  ``workflows.argoproj.io/display-name`` (Argo 3.7+: ``Template.GetDisplayName``,
  applied in ``workflow/controller/operator.go`` ``executeTemplate``; a value not
  matching ``displayNameRegex`` errors the node, so the suggest step outputs a
  name that matches). Argo 3.6 has no ``annotations`` field on templates: its
  controller ignores it, but a strict ``argo lint``/``argo submit`` refuses the
  unknown field, so ``compile --argo-version 3.6`` leaves it out.
* ``workflows.argoproj.io/title`` and ``workflows.argoproj.io/description``
  on every Workflow (Argo 3.4.4+, ``docs/title-and-description.md``).
* Template metrics (``metrics.prometheus``): ``help`` is required and names
  are Prometheus names (``workflow/validate/validate.go``); the metric is
  emitted when the step node completes, with ``inputs.parameters.*``,
  ``outputs.parameters.*`` and ``status`` in scope (``prepareMetricScope``,
  ``workflow/controller/steps.go``) and the ``when`` clause evaluated by
  govaluate (``shouldExecute``). Argo also emits the metrics of each retried
  attempt (``operator.go``), so only gauges are used: a counter would count a
  retried trial twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import Container, Resource
from hera.workflows import models as m

from ..spec.models import Experiment

__all__ = [
    "DISPLAY_NAME",
    "DisplayedContainer",
    "DisplayedResource",
    "description",
    "title",
    "title_annotations",
    "trial_metrics",
]

DISPLAY_NAME = "workflows.argoproj.io/display-name"
TITLE = "workflows.argoproj.io/title"
DESCRIPTION = "workflows.argoproj.io/description"


@dataclass(kw_only=True)  # Hera 7's templates are keyword-only dataclasses
class DisplayedContainer(Container):
    """A container template whose nodes carry ``display_name`` (Argo 3.7+) instead of the step's name."""

    display_name: str | None = None

    def _build_template(self) -> m.Template:
        return _displayed(super()._build_template(), self.display_name)


@dataclass(kw_only=True)
class DisplayedResource(Resource):
    """A resource template whose nodes carry ``display_name`` (Argo 3.7+)."""

    display_name: str | None = None

    def _build_template(self) -> m.Template:
        return _displayed(super()._build_template(), self.display_name)


def _displayed(template: m.Template, display_name: str | None) -> m.Template:
    if display_name:  # template-level annotations (Template.annotations), not the pod's metadata
        template.annotations = {DISPLAY_NAME: display_name}
    return template


# ASCII only: Hera's YAML escapes anything else ("\u2192"), which nobody wants to read in a compiled Workflow.
def title(experiment: Experiment, generation: str | None = None) -> str:
    """``mnist (tpe)``, and ``mnist (tpe), generation 3`` for a continued generation."""
    algorithm = experiment.spec.algorithm
    name = (algorithm.algorithm_name if algorithm else None) or ""
    text = f"{experiment.name} ({name})"
    return f"{text}, generation {generation}" if generation is not None else text


def description(experiment: Experiment) -> str:
    """``minimize loss to 0.001; 12 trials, 3 at a time``: the objective and the budget."""
    spec = experiment.spec
    objective = spec.objective
    parts = []
    if objective is not None:
        goal = f" to {objective.goal:g}" if objective.goal is not None else ""
        parts.append(f"{objective.type} {objective.objective_metric_name}{goal}")
    trials = f"{spec.max_trial_count} trials" if spec.max_trial_count else "no trial limit"
    parts.append(f"{trials}, {spec.parallel_trial_count or 1} at a time")
    return "; ".join(parts)


def title_annotations(experiment: Experiment, generation: str | None = None) -> dict[str, str]:
    return {TITLE: title(experiment, generation), DESCRIPTION: description(experiment)}


def trial_metrics(experiment: Experiment) -> m.Metrics | None:
    """Gauges of each finished trial's objective and of the best objective so far (None without an objective)."""
    objective = experiment.spec.objective
    metric = objective.objective_metric_name if objective else None
    if not metric:
        return None
    labels = [m.MetricLabel(key="experiment", value=experiment.name or "")]
    if experiment.namespace:
        labels.append(m.MetricLabel(key="experiment_namespace", value=experiment.namespace))
    labels.append(m.MetricLabel(key="metric", value=metric))

    def gauge(name: str, help_text: str, value: str, extra: list[m.MetricLabel]) -> m.Prometheus:
        return m.Prometheus(
            name=name,
            help=help_text,
            labels=[*labels, *extra],
            # quoted: an empty value (no objective) must compare as '' rather than break the expression
            when=f"{{{{status}}}} == Succeeded && '{{{{outputs.parameters.{value}}}}}' != ''",
            gauge=m.Gauge(value=f"{{{{outputs.parameters.{value}}}}}", realtime=False),
        )

    return m.Metrics(
        prometheus=[
            gauge(
                "katib_flow_trial_objective",
                "The objective metric of a finished katib-flow trial (after its metric strategy)",
                "objective",
                [m.MetricLabel(key="trial", value="{{inputs.parameters.trial}}")],
            ),
            gauge(
                "katib_flow_best_objective",
                "The best objective of a katib-flow experiment so far",
                "best-objective",
                [],
            ),
        ]
    )
