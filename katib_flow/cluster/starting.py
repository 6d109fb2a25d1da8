"""How a Workflow starts: the experiment stored or continued, and the generation its lanes run.

``init`` is the first step of every generation. It stores the experiment (or
finds the stored one: a retried init, a successor Workflow, a resubmission),
reads a ConfigMap trial template once, and, with successors, answers where
the lanes start, so that a resubmitted experiment does not replay its
finished generations slot by slot.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..engine import StoredExperiment, find_experiment, init_experiment
from ..engine.claim import resume_iterations
from ..exceptions import SpecError, StorageError
from ..spec.models import Experiment
from ..spec.template_source import SOURCE_ANNOTATION, TemplateLookup, resolve_trial_template, source_of
from ..store import Store

__all__ = ["init_step", "resume_generation"]


def resume_generation(store: Store, stored: StoredExperiment, generation: int, iterations_per_lane: int) -> int:
    """The generation a (re)started Workflow's lanes should run: ``generation``, or a later one whose slots
    every lane still has to go through (a resubmitted experiment does not replay finished generations)."""
    lanes = stored.experiment.spec.parallel_trial_count or 1
    first = resume_iterations(store, stored.id, lanes)
    return max(generation, min(first.values(), default=0) // iterations_per_lane)


def init_step(
    store: Store, experiment: Experiment, templates: Callable[[], TemplateLookup] | None = None
) -> StoredExperiment:
    """Store the experiment, or continue the stored one (a retried init, a successor Workflow).

    A ConfigMap trial template is read once: from the stored experiment when an
    earlier init stored it from the same ConfigMap (so a successor generation
    keeps the template even if the ConfigMap was edited since), otherwise
    through ``templates()`` (the Kubernetes API in a step pod).
    """
    source = source_of(experiment)
    if source is not None:
        stored = _stored_template(store, experiment, source)
        if stored is not None:
            experiment = resolve_trial_template(experiment, stored, "the stored experiment")
        elif templates is not None:
            experiment = resolve_trial_template(experiment, templates(), "the cluster")
        else:
            raise SpecError.single("spec.trialTemplate.configMap", f"{source}: nothing to read it from")
    return init_experiment(store, experiment, existing="reuse")


def _stored_template(store: Store, experiment: Experiment, source: str) -> TemplateLookup | None:
    try:
        stored = find_experiment(store, experiment.name, experiment.namespace)
    except StorageError:
        return None
    annotations = stored.experiment.metadata.annotations or {}
    template = stored.experiment.spec.trial_template
    if annotations.get(SOURCE_ANNOTATION) != source or template is None or template.trial_spec is None:
        return None
    text = json.dumps(template.trial_spec)  # YAML reads JSON
    return lambda _namespace, _name, _key: text
