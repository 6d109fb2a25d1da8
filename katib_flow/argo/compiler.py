"""An experiment as an Argo Workflow, built with Hera: the public compile API and what it refuses.

The templates themselves are in :mod:`katib_flow.argo.templates`. Every
katib-flow step runs ``katib-flow step ...`` against the database whose URL the
``--db-secret`` Secret holds (key ``url``). A Workflow runs at most
``parallelTrialCount x iterations_per_lane`` trials (Argo stops recursion at
depth 100: :func:`stack_depth`); more need the WorkflowTemplate form, whose generations continue as
new Workflows.

Not built (refused with the field that needs it): the PrometheusMetric
collector. A
configMap trial template is read by the ``init`` step (stored with the
experiment), so its trials always go through the wait step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from hera.workflows import Parameter, Workflow, WorkflowTemplate
from hera.workflows import models as m

from .. import __version__
from ..exceptions import CompileError, Problem
from ..spec import check
from ..spec import constants as c
from ..spec.models import Experiment
from .conditions import ArgoConditions, translate
from .generations import LABEL
from .step_pods import StepResources
from .templates import Layout, add_templates
from .ui import title_annotations

__all__ = [
    "CALLER_DEPTH",
    "DEFAULT_IMAGE",
    "GENERATION_ITERATIONS",
    "ITERATIONS_PER_LANE",
    "MAX_LANES",
    "MIN_ARGO",
    "CompileOptions",
    "argo_conditions",
    "compile_template",
    "compile_workflow",
    "single_generation_problems",
    "stack_depth",
    "template_name",
    "unsupported",
]

W = TypeVar("W", bound=Workflow)

# Argo refuses a template nested 100 deep (maxAllowedStackDepth, workflow/controller/controller.go; every
# executeTemplate call nests once). A lane nests once per iteration: main -> generation -> lane x N -> step
# is N + 3 deep (stack_depth). 80 iterations leave 17 levels to callers that nest the HPO template.
ITERATIONS_PER_LANE = 80
CALLER_DEPTH = 15  # levels kept free for a pipeline around the experiment's templates
# Lane iterations per generation, from bench/compile_scale.py: Argo keeps ~11 KiB of node records per
# lane iteration (steps, step groups, retry nodes with copies of the outputs, the run object as run-trial's
# input, the live leaderboard collect outputs), which it stores gzip+base64 encoded past 1 MiB
# (status.compressedNodes); 360 iterations keep a generation's Workflow object under half of the 1 MiB
# limit at every lane count up to MAX_LANES, without node status offloading.
GENERATION_ITERATIONS = 360
# The generation template holds one step per lane and Argo stores the template spec in every Workflow's
# status: past 100 lanes the object of a generation would leave less than half of 1 MiB free.
MAX_LANES = 100


def stack_depth(iterations_per_lane: int) -> int:
    """The deepest template nesting of a compiled experiment, as Argo counts it (the entry template is 1)."""
    return iterations_per_lane + 3


MIN_ARGO = (3, 6)  # mutex lists, podGC.deleteDelayDuration as a string (docs/cluster.md)

# The image algorithms/katib-flow/Dockerfile builds (docs/cluster.md: build it, then load or push it).
DEFAULT_IMAGE = f"katib-flow:{__version__}"


@dataclass(frozen=True)
class CompileOptions:
    image: str = DEFAULT_IMAGE
    namespace: str | None = None
    db_secret: str = "katib-flow-db"
    service_account: str = "katib-flow"
    poll_seconds: float = 5.0
    max_wait_seconds: float = 300.0
    ttl_seconds: int = 7 * 24 * 3600
    # Default: 80, fewer with many lanes (GENERATION_ITERATIONS); fewer still for a pipeline that nests the
    # templates deeper than CALLER_DEPTH levels (each level it adds costs one iteration per lane).
    iterations_per_lane: int | None = None
    metrics_claim: str = "katib-flow-metrics"  # ReadWriteMany claim for the File and TensorFlowEvent collectors
    resources: StepResources = field(default_factory=StepResources)
    # Succeeded step pods stay this long before Argo deletes them, so their logs can be read in the UI.
    pod_gc_delay: str = "30m"
    stall_seconds: float = 900.0  # generation 0's finish --wait fails when no generation ran this long
    deadline_seconds: float | None = None  # ... or when the experiment is not completed by then
    # Algorithm name -> HOST:PORT of a Katib algorithm service the suggest step calls (in the cluster).
    suggestion_services: tuple[tuple[str, str], ...] = ()
    # Algorithm name -> image of a Katib algorithm service each generation runs as a daemoned step.
    suggestion_images: tuple[tuple[str, str], ...] = ()
    # Early-stopping algorithm name -> HOST:PORT of a Katib early-stopping service in the cluster.
    early_stopping_services: tuple[tuple[str, str], ...] = ()
    # The oldest Argo the Workflow must run on: 3.6 has no template annotations (trial node names).
    argo_version: tuple[int, int] = (3, 7)
    # The Workflow's namespace has an artifact repository: finish keeps the HTML report, step logs are archived.
    artifacts: bool = False

    def __post_init__(self) -> None:
        if self.iterations_per_lane is not None and not 1 <= self.iterations_per_lane <= ITERATIONS_PER_LANE:
            raise ValueError(f"iterations_per_lane must be between 1 and {ITERATIONS_PER_LANE}")
        if self.argo_version < MIN_ARGO:
            raise ValueError(f"Argo Workflows {MIN_ARGO[0]}.{MIN_ARGO[1]} or later is needed")

    def lane_iterations(self, lanes: int) -> int:
        """How many iterations each of ``lanes`` lanes runs in one Workflow generation."""
        if self.iterations_per_lane is not None:
            return self.iterations_per_lane
        return max(1, min(ITERATIONS_PER_LANE, GENERATION_ITERATIONS // lanes))

    def layout(
        self, experiment: Experiment, *, prefix: str = "", successor: str | None = None, global_prefix: str = ""
    ) -> Layout:
        return Layout(
            image=self.image,
            db_secret=self.db_secret,
            poll_seconds=self.poll_seconds,
            max_wait_seconds=self.max_wait_seconds,
            iterations_per_lane=self.lane_iterations(experiment.spec.parallel_trial_count or 1),
            metrics_claim=self.metrics_claim,
            prefix=prefix,
            successor_template=successor,
            global_prefix=global_prefix,
            resources=self.resources,
            stall_seconds=self.stall_seconds,
            deadline_seconds=self.deadline_seconds,
            environment=self._environment(),
            daemons=self.suggestion_images,
            display_names=self.argo_version >= (3, 7),
            successor_annotations=title_annotations(experiment, generation="{{inputs.parameters.generation}}"),
            artifacts=self.artifacts,
        )

    def check(self, experiment: Experiment) -> Experiment:
        """Katib's defaults and validation; the settings of an algorithm served in the cluster are left to
        its service (the init step asks it there)."""
        from ..algorithms import deferred_algorithms

        served = (*self.suggestion_services, *self.suggestion_images, *self.early_stopping_services)
        with deferred_algorithms(name for name, _ in served):
            return check(experiment)

    def _environment(self) -> tuple[tuple[str, str], ...]:
        from ..algorithms import SUGGESTION_SERVICES_ENV
        from ..earlystopping import EARLY_STOPPING_SERVICES_ENV

        found = []
        for variable, pairs in (
            (SUGGESTION_SERVICES_ENV, self.suggestion_services),
            (EARLY_STOPPING_SERVICES_ENV, self.early_stopping_services),
        ):
            if pairs:
                found.append((variable, ",".join(f"{name}={address}" for name, address in sorted(pairs))))
        return tuple(found)


def compile_workflow(experiment: Experiment, options: CompileOptions | None = None) -> Workflow:
    """The self-contained Workflow of an experiment that fits one generation; raises :class:`CompileError`."""
    options = options or CompileOptions()
    experiment = options.check(experiment)
    problems = [*unsupported(experiment), *single_generation_problems(experiment, options)]
    if problems:
        raise CompileError(problems)
    return _build(Workflow, experiment, options, successor=None)


def compile_template(
    experiment: Experiment, options: CompileOptions | None = None
) -> tuple[WorkflowTemplate, Workflow]:
    """A WorkflowTemplate holding the experiment's templates, and the small Workflow that runs it.

    The template is what a pipeline references with ``templateRef`` (its ``main``
    template runs the whole experiment) and what each generation's successor is
    created from; the Workflow only names it (``workflowTemplateRef``).
    """
    options = options or CompileOptions()
    experiment = options.check(experiment)
    problems = unsupported(experiment)
    if problems:
        raise CompileError(problems)
    name = template_name(experiment)
    template = _build(WorkflowTemplate, experiment, options, successor=name)
    workflow = Workflow(
        generate_name=f"{experiment.name}-",
        namespace=template.namespace,
        labels={LABEL: experiment.name or ""},
        annotations=title_annotations(experiment),
        workflow_template_ref=m.WorkflowTemplateRef(name=name),
    )
    return template, workflow


def template_name(experiment: Experiment) -> str:
    """The WorkflowTemplate's name: ``katib-flow-<experiment>``."""
    return f"katib-flow-{experiment.name}"


def argo_conditions(experiment: Experiment) -> ArgoConditions | None:
    """Argo selectors for the trial's run object, or None when the wait step must judge it."""
    template = experiment.spec.trial_template
    assert template is not None
    if template.trial_spec is None:
        return None  # a ConfigMap template is read by the init step: its kind is not known here
    if experiment.spec.early_stopping is not None:
        return None  # the wait step follows the log and stops the trial
    return translate(template.trial_spec, template.success_condition, template.failure_condition)


def _build(cls: type[W], experiment: Experiment, options: CompileOptions, successor: str | None) -> W:
    name = experiment.name or ""
    is_template = cls is WorkflowTemplate
    # A WorkflowTemplate's templates also run inside callers' Workflows (templateRef): its global outputs
    # carry the experiment's name so they never overwrite the caller's own (reason, succeeded, ...).
    layout = options.layout(experiment, successor=successor, global_prefix=f"{name}-" if is_template else "")
    with cls(
        name=template_name(experiment) if is_template else None,
        generate_name=None if is_template else f"{name}-",
        namespace=options.namespace or experiment.namespace,
        labels={LABEL: name},
        annotations=title_annotations(experiment),
        entrypoint="main",
        arguments=[Parameter(name="generation", value="0"), Parameter(name="chain", value="")],
        service_account_name=options.service_account,
        on_exit="record-status",
        pod_gc=m.PodGC(strategy="OnPodSuccess", delete_delay_duration=options.pod_gc_delay),
        # with an artifact repository, every step's log outlives its pod (spec.archiveLogs)
        archive_logs=True if options.artifacts else None,
        ttl_strategy=m.TTLStrategy(secondsAfterCompletion=options.ttl_seconds),
    ) as workflow:
        add_templates(experiment, argo_conditions(experiment), layout)
    return workflow


def single_generation_problems(
    experiment: Experiment, options: CompileOptions, embedded: bool = False
) -> list[Problem]:
    """Why the experiment may not fit one Workflow (no continue-as-new without the WorkflowTemplate)."""
    spec = experiment.spec
    lanes = spec.parallel_trial_count or 1
    iterations = options.lane_iterations(lanes)
    bound = lanes * iterations
    if spec.max_trial_count is not None and spec.max_trial_count <= bound:
        return []
    instead = (
        "reference the experiment's WorkflowTemplate (hpo_template_ref)"
        if embedded
        else "compile with --template, whose Workflows continue as new generations"
    )
    return [
        Problem(
            "spec.maxTrialCount",
            f"a single Workflow runs at most {bound} trials ({lanes} lanes x {iterations} iterations); {instead}",
        )
    ]


def unsupported(experiment: Experiment) -> list[Problem]:
    """What the compiler cannot build yet, with field paths."""
    spec = experiment.spec
    mc = spec.metrics_collector_spec
    problems: list[Problem] = []
    kind = mc.collector.kind if mc is not None and mc.collector is not None else None
    if kind not in c.SUPPORTED_COLLECTORS:
        problems.append(
            Problem(
                "spec.metricsCollectorSpec.collector.kind",
                f"the {kind} collector is not compiled ({', '.join(c.SUPPORTED_COLLECTORS)} are)",
            )
        )
    lanes = spec.parallel_trial_count or 1
    if lanes > MAX_LANES:
        problems.append(
            Problem(
                "spec.parallelTrialCount",
                f"a Workflow runs at most {MAX_LANES} trials at once (got {lanes}): each lane is a step of the "
                "generation template, and past that a generation's Workflow object nears Argo's 1 MiB limit",
            )
        )
    return problems
