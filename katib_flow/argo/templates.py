"""The templates of a compiled experiment, built inside a Hera Workflow or WorkflowTemplate context.

::

    lane(lane, iteration)   -> suggest -> run-trial + collect | wait-trial -> decide -> lane again

plus the step containers every template uses; the outer templates (main,
generation, report, continue) are in :mod:`.generations`. ``run-trial`` is an
Argo resource template where Argo's selectors say exactly what Katib's
conditions say; otherwise (any other kind, a user-written condition, early
stopping), and for a trial an earlier attempt started, ``wait-trial`` creates
or finds and watches the run object. A lane recurses at most
``iterations_per_lane`` times (Argo stops at depth 100); with a
WorkflowTemplate the generation then creates its successor Workflow and the
first generation's ``finish`` waits for the experiment to complete, so
whoever runs generation 0 gets the final outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hera.workflows import (
    Artifact,
    Env,
    ExistingVolume,
    FieldEnv,
    Parameter,
    RawArtifact,
    SecretEnv,
    Step,
    Steps,
)
from hera.workflows import models as m

from ..algorithms import SUGGESTION_SERVICES_ENV
from ..cluster.volume import COLLECT_ROOT, METRICS_VOLUME, metrics_mount_path
from ..earlystopping import EARLY_STOPPING_SERVICES_ENV
from ..engine.checkpoints import checkpoint_mount
from ..spec import constants as c
from ..spec import dump_experiment
from ..spec.models import Experiment
from .conditions import ArgoConditions
from .generations import RESULTS, add_outer_templates
from .step_pods import StepResources, pod_security, retry, step_security
from .ui import DisplayedContainer, DisplayedResource, trial_metrics

__all__ = ["LEADERBOARD", "RESULTS", "TRIAL_OUTPUTS", "Layout", "add_templates"]

_OUTPUTS = "/tmp/katib-flow"
_EXPERIMENT_PATH = "/katib-flow/experiment.yaml"
_REPORT_PATH = f"{_OUTPUTS}/report.html"
# What collect and wait-trial output: the trial's result, then the experiment's leaderboard as it stands,
# which is also the Workflow's global outputs (the latest finished trial's word wins: live, not only at the end).
LEADERBOARD = ["best-trial", "best-parameters", "best-objective", "trials"]
TRIAL_OUTPUTS = ["state", "objective", "metrics", *LEADERBOARD]
# Values an output takes when its file is missing (a step that failed before writing): the metrics' ``when``
# clauses compare them, and a missing output would make Argo record a MetricsError instead.
_DEFAULTS = {"objective": "", "best-objective": ""}


@dataclass(frozen=True)
class Layout:
    """How the templates are laid out: names, images, and whether generations continue as new."""

    image: str
    db_secret: str
    poll_seconds: float
    max_wait_seconds: float
    iterations_per_lane: int
    metrics_claim: str = "katib-flow-metrics"  # the File and TensorFlowEvent collectors' shared volume
    prefix: str = ""  # prepended to every template name (embedding in a caller's Workflow)
    successor_template: str | None = None  # the WorkflowTemplate successors are created from
    # Names of finish's outputs as the Workflow's global outputs: "" for a Workflow of its own, a prefix
    # where the templates run inside someone else's Workflow (they must not overwrite the caller's).
    global_prefix: str = ""
    resources: StepResources = field(default_factory=StepResources)
    stall_seconds: float = 900.0  # generation 0's finish --wait: how long no generation may be running
    deadline_seconds: float | None = None  # ... and how long the whole experiment may take
    environment: tuple[tuple[str, str], ...] = ()  # more variables for every step (external algorithm services)
    # Algorithm name -> image of a Katib algorithm service run as a daemoned step of each generation.
    daemons: tuple[tuple[str, str], ...] = ()
    display_names: bool = True  # trial nodes named after their trial (Argo 3.7+ template annotations)
    successor_annotations: dict[str, str] = field(default_factory=dict)  # a continued generation's title
    artifacts: bool = False  # the Workflow has an artifact repository: finish keeps the HTML report there


def add_templates(experiment: Experiment, conditions: ArgoConditions | None, layout: Layout) -> Steps:
    """Add the experiment's templates to the Workflow (or WorkflowTemplate) being built; its entry template."""
    spec = experiment.spec
    name = experiment.name or ""
    p = layout.prefix
    lanes = spec.parallel_trial_count or 1
    who = ["--experiment", name, *(["--namespace", experiment.namespace] if experiment.namespace else [])]
    env: list[SecretEnv | Env | FieldEnv] = [
        SecretEnv(name="KATIB_FLOW_DB_URL", secret_name=layout.db_secret, secret_key="url")
    ]
    # With daemoned algorithm services, the steps that ask them (init, suggest) get every service's address
    # as an input: a daemon's address is only known once it runs ({{steps.<daemon>.ip}}).
    served = bool(layout.daemons)
    env += [Env(name=k, value=v) for k, v in layout.environment if not (served and k == SUGGESTION_SERVICES_ENV)]
    services_env = [Env(name=SUGGESTION_SERVICES_ENV, value="{{inputs.parameters.services}}")] if served else []
    services_input = [Parameter(name="services")] if served else []
    services_arg = {"services": "{{inputs.parameters.services}}"} if served else {}
    if any(k == EARLY_STOPPING_SERVICES_ENV for k, _ in layout.environment):
        # An early-stopping service reads the trials' logs back from the step (katib_api/early_stopping.py)
        env.append(FieldEnv(name="POD_IP", field_path="status.podIP"))
    continues = layout.successor_template is not None

    # File / TensorFlowEvent: trials write to the claim, collect and wait read it (see cluster/volume.py);
    # pbt: each trial's checkpoint folder is on it too, made by suggest (its parent's copied in)
    checkpoints = checkpoint_mount(experiment) is not None
    on_volume = metrics_mount_path(experiment) is not None or checkpoints
    claim = ["--metrics-claim", layout.metrics_claim] if on_volume else []
    root = ["--metrics-root", COLLECT_ROOT] if on_volume else []
    mount = [ExistingVolume(name=METRICS_VOLUME, claim_name=layout.metrics_claim, mount_path=COLLECT_ROOT)]
    # Run objects live in the Workflow's namespace (cluster/placement.py); Push trials get the DB Secret.
    placement = ["--run-namespace", "{{workflow.namespace}}", "--db-secret", layout.db_secret, *claim]
    owner = ["--owner-workflow", "{{workflow.name}}", "--owner-uid", "{{workflow.uid}}"]

    def step_container(
        template_name: str,
        args: list[str],
        *,
        inputs: Sequence[Parameter | RawArtifact] = (),
        outputs: Sequence[str] = (),
        global_outputs: Sequence[str] = (),
        reads_metrics: bool = False,
        retried: bool = True,
        asks_services: bool = False,
        display_name: str | None = None,
        metrics: m.Metrics | None = None,
        artifacts: Sequence[Artifact] = (),
    ) -> DisplayedContainer:
        return DisplayedContainer(
            name=p + template_name,
            display_name=display_name if layout.display_names else None,
            metrics=metrics,
            image=layout.image,
            command=["katib-flow", "step"],
            args=[*args, "--outputs", _OUTPUTS],
            env=[*env, *(services_env if asks_services else [])],
            inputs=[*inputs, *(services_input if asks_services else [])],
            outputs=[
                *(
                    Parameter(
                        name=o,
                        value_from=m.ValueFrom(path=f"{_OUTPUTS}/{o}", default=_DEFAULTS.get(o)),
                        global_name=layout.global_prefix + o if o in global_outputs else None,
                    )
                    for o in outputs
                ),
                *artifacts,
            ],
            retry_strategy=retry() if retried else None,
            volumes=mount if reads_metrics and on_volume else None,
            resources=layout.resources.requirements(),
            security_context=step_security(),
            pod_security_context=pod_security(),
        )

    poll = f"{layout.poll_seconds:g}"
    init = step_container(
        "init",
        [
            "init",
            _EXPERIMENT_PATH,
            "--generation",
            "{{inputs.parameters.generation}}",
            "--workflow",
            "{{workflow.name}}",
            "--chain",
            "{{inputs.parameters.chain}}",
            *(["--iterations-per-lane", str(layout.iterations_per_lane)] if continues else []),
        ],
        inputs=[
            RawArtifact(name="experiment", path=_EXPERIMENT_PATH, data=dump_experiment(experiment)),
            Parameter(name="generation"),
            Parameter(name="chain"),
        ],
        outputs=["generation", "chain"],
        asks_services=True,
    )
    suggest = step_container(
        "suggest",
        [
            "suggest",
            *who,
            "--lane",
            "{{inputs.parameters.lane}}",
            "--iteration",
            "{{inputs.parameters.iteration}}",
            "--poll-seconds",
            poll,
            "--max-wait-seconds",
            f"{layout.max_wait_seconds:g}",
            *placement,
            *(root if checkpoints else []),
        ],
        inputs=[Parameter(name="lane"), Parameter(name="iteration")],
        reads_metrics=checkpoints,
        outputs=["trial", "display-name", "parameters", "run-object", "runnable", "resumed", "completed"],
        asks_services=True,
    )
    metrics = trial_metrics(experiment)
    trial_arg = ["--trial", "{{inputs.parameters.trial}}"]
    # A trial that an earlier attempt started (a retried lane, a resubmitted Workflow) may have its run
    # object already: only the wait step tolerates that (it finds the object instead of creating it).
    wait_trial = step_container(
        "wait-trial",
        ["wait", *who, *trial_arg, *owner, "--poll-seconds", poll, *placement, *root],
        inputs=[Parameter(name="trial"), Parameter(name="display-name")],
        outputs=TRIAL_OUTPUTS,
        global_outputs=LEADERBOARD,
        reads_metrics=True,
        display_name="{{inputs.parameters.display-name}}",
        metrics=metrics,
    )
    if conditions is not None:
        run_trial = DisplayedResource(
            name=p + "run-trial",
            display_name="{{inputs.parameters.display-name}}" if layout.display_names else None,
            action="create",
            manifest="{{inputs.parameters.manifest}}",
            set_owner_reference=True,
            success_condition=conditions.success,
            failure_condition=conditions.failure,
            inputs=[Parameter(name="manifest"), Parameter(name="display-name")],
            pod_security_context=pod_security(),
        )
        mc = spec.metrics_collector_spec
        from_logs = mc is not None and mc.collector is not None and mc.collector.kind == c.COLLECTOR_STDOUT
        collect = step_container(
            "collect",
            [
                "collect",
                *who,
                *trial_arg,
                "--phase",
                "{{inputs.parameters.phase}}",
                *(["--from-pod-logs"] if from_logs else []),
                "--release",
                *owner,
                "--poll-seconds",
                poll,
                *placement,
                *root,
            ],
            inputs=[Parameter(name="trial"), Parameter(name="phase")],
            outputs=TRIAL_OUTPUTS,
            global_outputs=LEADERBOARD,
            reads_metrics=True,
            metrics=metrics,
        )
    decide = step_container("decide", ["decide", *who], outputs=["proceed", "reason"])
    waits = (
        [
            "--wait",
            "--poll-seconds",
            poll,
            "--chain",
            "{{inputs.parameters.chain}}",
            "--run-namespace",
            "{{workflow.namespace}}",
            "--stall-seconds",
            f"{layout.stall_seconds:g}",
            *(["--deadline-seconds", f"{layout.deadline_seconds:g}"] if layout.deadline_seconds else []),
        ]
        if continues
        else []
    )
    report = ["--report", _REPORT_PATH] if layout.artifacts else []
    finish = step_container(
        "finish",
        ["finish", *who, *waits, *report],
        inputs=[Parameter(name="chain")],
        outputs=RESULTS,
        global_outputs=RESULTS,
        # no compression: the Argo UI shows an HTML artifact stored as is (docs/cluster.md)
        artifacts=[Artifact(name="report", path=_REPORT_PATH, archive=m.ArchiveStrategy(none=m.NoneStrategy()))]
        if layout.artifacts
        else (),
    )
    fail = step_container(
        "fail",
        ["fail", "--experiment", name, "--reason", "{{inputs.parameters.reason}}"],
        inputs=[Parameter(name="reason")],
        retried=False,
    )
    if not p:  # the Workflow's onExit; an embedding caller's Workflow has its own
        step_container("record-status", ["finish", *who], outputs=["reason"])

    runnable = "{{steps.suggest.outputs.parameters.runnable}} == true"
    resumed = "{{steps.suggest.outputs.parameters.resumed}} == true"
    fresh = "{{steps.suggest.outputs.parameters.resumed}} == false"
    suggested = "{{steps.suggest.outputs.parameters.trial}}"
    shown = "{{steps.suggest.outputs.parameters.display-name}}"
    last = layout.iterations_per_lane - 1
    lane_inputs = [Parameter(name="lane"), Parameter(name="iteration"), Parameter(name="depth"), *services_input]
    with Steps(name=p + "lane", inputs=lane_inputs):
        suggest(
            name="suggest",
            arguments={
                "lane": "{{inputs.parameters.lane}}",
                "iteration": "{{inputs.parameters.iteration}}",
                **services_arg,
            },
        )
        if conditions is not None:
            run_trial(
                name="run-trial",
                arguments={"manifest": "{{steps.suggest.outputs.parameters.run-object}}", "display-name": shown},
                when=f"{runnable} && {fresh}",
                # Failed: the failure condition held. Error: the step's pod ended without a verdict (evicted,
                # deleted, node lost) while the trial may still run: collect then looks at the object itself.
                continue_on=m.ContinueOn(failed=True, error=True),
            )
            collect(
                name="collect",
                arguments={"trial": suggested, "phase": "{{steps.run-trial.status}}"},
                when=f"{runnable} && {fresh}",
            )
            wait_trial(
                name="wait-trial",
                arguments={"trial": suggested, "display-name": shown},
                when=f"{runnable} && {resumed}",
            )
        else:
            wait_trial(name="wait-trial", arguments={"trial": suggested, "display-name": shown}, when=runnable)
        decide(name="decide")
        Step(
            name="next",
            template=p + "lane",
            arguments={
                "lane": "{{inputs.parameters.lane}}",
                "iteration": "{{=asInt(inputs.parameters.iteration) + 1}}",
                "depth": "{{=asInt(inputs.parameters.depth) + 1}}",
                **services_arg,
            },
            when=f"{{{{steps.decide.outputs.parameters.proceed}}}} == true && {{{{inputs.parameters.depth}}}} < {last}",
        )

    return add_outer_templates(name, lanes, layout, init=init, decide=decide, finish=finish, fail=fail)
