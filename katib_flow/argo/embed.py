"""An experiment as one step of a caller's own Hera pipeline.

Two ways, both giving a step whose output parameters are the experiment's
result (``best-trial``, ``best-parameters`` as a JSON object,
``best-objective``, ``succeeded``, ``reason``):

- :func:`hpo_templates` adds the experiment's templates to the Workflow being
  built, every name prefixed (no collision with the caller's templates), and
  returns the entry template to invoke from the caller's DAG or steps. The
  experiment must fit one generation (``parallelTrialCount x 80`` trials, fewer
  lanes' iterations past 8 lanes: ``CompileOptions().lane_iterations(lanes)``).
  Argo refuses templates nested 100 deep; the experiment's templates nest
  ``iterations + 3`` deep (:func:`~katib_flow.argo.compiler.stack_depth`), which
  leaves 17 levels to the caller. A pipeline that nests it deeper passes
  ``CompileOptions(iterations_per_lane=...)`` with fewer iterations.
- :func:`hpo_template_ref` points at the experiment's WorkflowTemplate
  (``katib-flow compile --template``, applied to the cluster), for a
  ``templateRef`` task or step: any size, as its generations continue as new
  Workflows and the referenced ``main`` waits for the end.

Usage::

    with Workflow(generate_name="pipeline-", entrypoint="pipeline") as workflow:
        hpo = hpo_templates(experiment, prefix="hpo-")
        with DAG(name="pipeline"):
            tuned = hpo(name="tune")
            train(arguments={"params": tuned.get_parameter("best-parameters")})
"""

from __future__ import annotations

import re

from hera.workflows import Steps
from hera.workflows import models as m

from ..exceptions import CompileError
from ..spec.models import Experiment
from .compiler import CompileOptions, argo_conditions, single_generation_problems, template_name, unsupported
from .templates import add_templates

__all__ = ["hpo_template_ref", "hpo_templates"]

_PREFIX = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")


def hpo_templates(experiment: Experiment, options: CompileOptions | None = None, *, prefix: str = "hpo-") -> Steps:
    """Add the experiment's templates to the Hera Workflow being built; its entry template, to invoke.

    Call it in the ``with Workflow(...)`` block, outside any DAG or Steps (the
    templates belong to the Workflow); invoke the returned template inside one.
    """
    if not _PREFIX.match(prefix):
        raise ValueError(f"prefix {prefix!r} must start with a letter or digit and hold only letters, digits and '-'")
    options = options or CompileOptions()
    experiment = options.check(experiment)
    problems = [*unsupported(experiment), *single_generation_problems(experiment, options, embedded=True)]
    if problems:
        raise CompileError(problems)
    layout = options.layout(experiment, prefix=prefix, global_prefix=prefix)
    return add_templates(experiment, argo_conditions(experiment), layout)


def hpo_template_ref(experiment: Experiment) -> m.TemplateRef:
    """The ``templateRef`` of the experiment's WorkflowTemplate entry (``katib-flow-<name>``, template ``main``)."""
    return m.TemplateRef(name=template_name(experiment), template="main")
