"""The templates of a compiled experiment, built inside a Hera Workflow or WorkflowTemplate context.

::

    main(generation)        -> generation -> finish (the best trial, as global outputs)
    generation(generation)  -> init -> lanes in parallel -> decide -> continue (a successor Workflow)
    lane(lane, iteration)   -> suggest -> run-trial + collect | wait-trial -> decide -> lane again

``run-trial`` is an Argo resource template where Argo's selectors say exactly
what Katib's conditions say; otherwise (any other kind, a user-written
condition, early stopping) ``wait-trial`` creates and watches the run object.
A lane recurses at most ``iterations_per_lane`` times (Argo stops at depth
100); with a WorkflowTemplate the generation then creates its successor
Workflow from the template (continue-as-new, no ownerReference between
generations) and the first generation's ``finish`` waits for the experiment
to complete, so whoever runs generation 0 gets the final outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hera.workflows import (
    Container,
    ExistingVolume,
    Parameter,
    RawArtifact,
    Resource,
    RetryStrategy,
    SecretEnv,
    Step,
    Steps,
)
from hera.workflows import models as m

from ..cluster.volume import COLLECT_ROOT, METRICS_VOLUME, metrics_mount_path
from ..spec import constants as c
from ..spec import dump_experiment
from ..spec.models import Experiment
from .conditions import ArgoConditions

__all__ = ["RESULTS", "Layout", "add_templates"]

_OUTPUTS = "/tmp/katib-flow"
_EXPERIMENT_PATH = "/katib-flow/experiment.yaml"
LABEL = "katib-flow/experiment"
GENERATION_LABEL = "katib-flow/generation"
RESULTS = ["best-trial", "best-parameters", "best-objective", "succeeded", "reason"]


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


def add_templates(experiment: Experiment, conditions: ArgoConditions | None, layout: Layout) -> Steps:
    """Add the experiment's templates to the Workflow (or WorkflowTemplate) being built; its entry template."""
    spec = experiment.spec
    name = experiment.name or ""
    p = layout.prefix
    lanes = spec.parallel_trial_count or 1
    who = ["--experiment", name, *(["--namespace", experiment.namespace] if experiment.namespace else [])]
    retry = RetryStrategy(limit=3, retry_policy="Always", backoff=m.Backoff(duration="5s", factor=m.IntOrString(2)))
    env = [SecretEnv(name="KATIB_FLOW_DB_URL", secret_name=layout.db_secret, secret_key="url")]

    # File / TensorFlowEvent: trials write to the claim, collect and wait read it (see cluster/volume.py)
    on_volume = metrics_mount_path(experiment) is not None
    claim = ["--metrics-claim", layout.metrics_claim] if on_volume else []
    root = ["--metrics-root", COLLECT_ROOT] if on_volume else []
    mount = [ExistingVolume(name=METRICS_VOLUME, claim_name=layout.metrics_claim, mount_path=COLLECT_ROOT)]

    def step_container(
        template_name: str,
        args: list[str],
        *,
        inputs: Sequence[Parameter | RawArtifact] = (),
        outputs: Sequence[str] = (),
        global_outputs: bool = False,
        reads_metrics: bool = False,
    ) -> Container:
        return Container(
            name=p + template_name,
            image=layout.image,
            command=["katib-flow", "step"],
            args=[*args, "--outputs", _OUTPUTS],
            env=env,
            inputs=list(inputs),
            outputs=[
                Parameter(
                    name=o, value_from=m.ValueFrom(path=f"{_OUTPUTS}/{o}"), global_name=o if global_outputs else None
                )
                for o in outputs
            ],
            retry_strategy=retry,
            volumes=mount if reads_metrics and on_volume else None,
        )

    poll = f"{layout.poll_seconds:g}"
    init = step_container(
        "init",
        ["init", _EXPERIMENT_PATH],
        inputs=[RawArtifact(name="experiment", path=_EXPERIMENT_PATH, data=dump_experiment(experiment))],
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
            *claim,
        ],
        inputs=[Parameter(name="lane"), Parameter(name="iteration")],
        outputs=["trial", "run-object", "runnable", "completed"],
    )
    trial_arg = ["--trial", "{{inputs.parameters.trial}}", "--run-namespace", "{{workflow.namespace}}"]
    if conditions is not None:
        run_trial = Resource(
            name=p + "run-trial",
            action="create",
            manifest="{{inputs.parameters.manifest}}",
            set_owner_reference=True,
            success_condition=conditions.success,
            failure_condition=conditions.failure,
            inputs=[Parameter(name="manifest")],
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
                *root,
            ],
            inputs=[Parameter(name="trial"), Parameter(name="phase")],
            outputs=["state", "objective"],
            reads_metrics=True,
        )
    else:
        wait_trial = step_container(
            "wait-trial",
            [
                "wait",
                *who,
                *trial_arg,
                "--owner-workflow",
                "{{workflow.name}}",
                "--owner-uid",
                "{{workflow.uid}}",
                "--poll-seconds",
                poll,
                *claim,
                *root,
            ],
            inputs=[Parameter(name="trial")],
            outputs=["state", "objective"],
            reads_metrics=True,
        )
    decide = step_container("decide", ["decide", *who], outputs=["proceed", "reason"])
    continues = layout.successor_template is not None
    finish = step_container(
        "finish",
        ["finish", *who, *(["--wait", "--poll-seconds", poll] if continues else [])],
        outputs=RESULTS,
        global_outputs=not p,
    )
    if not p:  # the Workflow's onExit; an embedding caller's Workflow has its own
        step_container("record-status", ["finish", *who], outputs=["reason"])
    if continues:
        successor = Resource(
            name=p + "continue",
            action="create",
            manifest=_successor_manifest(name, layout.successor_template or ""),
            inputs=[Parameter(name="generation")],
            outputs=[Parameter(name="successor", value_from=m.ValueFrom(json_path="{.metadata.name}"))],
        )

    runnable = "{{steps.suggest.outputs.parameters.runnable}} == true"
    suggested = "{{steps.suggest.outputs.parameters.trial}}"
    last = layout.iterations_per_lane - 1
    with Steps(name=p + "lane", inputs=[Parameter(name="lane"), Parameter(name="iteration"), Parameter(name="depth")]):
        suggest(
            name="suggest",
            arguments={"lane": "{{inputs.parameters.lane}}", "iteration": "{{inputs.parameters.iteration}}"},
        )
        if conditions is not None:
            run_trial(
                name="run-trial",
                arguments={"manifest": "{{steps.suggest.outputs.parameters.run-object}}"},
                when=runnable,
                continue_on=m.ContinueOn(failed=True),
            )
            collect(
                name="collect",
                arguments={"trial": suggested, "phase": "{{steps.run-trial.status}}"},
                when=runnable,
            )
        else:
            wait_trial(name="wait-trial", arguments={"trial": suggested}, when=runnable)
        decide(name="decide")
        Step(
            name="next",
            template=p + "lane",
            arguments={
                "lane": "{{inputs.parameters.lane}}",
                "iteration": "{{=asInt(inputs.parameters.iteration) + 1}}",
                "depth": "{{=asInt(inputs.parameters.depth) + 1}}",
            },
            when=f"{{{{steps.decide.outputs.parameters.proceed}}}} == true && {{{{inputs.parameters.depth}}}} < {last}",
        )

    with Steps(
        name=p + "generation",
        inputs=[Parameter(name="generation")],
        outputs=[
            Parameter(
                name="continued",
                value_from=m.ValueFrom(parameter="{{steps.decide.outputs.parameters.proceed}}"),
            )
        ],
        synchronization=m.Synchronization(mutexes=[m.Mutex(name=f"katib-flow-{name}")]),
    ) as generation:
        init(name="init")
        with generation.parallel():
            for lane in range(lanes):
                Step(
                    name=f"lane-{lane}",
                    template=p + "lane",
                    arguments={
                        "lane": str(lane),
                        "iteration": f"{{{{=asInt(inputs.parameters.generation) * {layout.iterations_per_lane}}}}}",
                        "depth": "0",
                    },
                )
        decide(name="decide")
        if continues:
            successor(
                name="continue",
                arguments={"generation": "{{=asInt(inputs.parameters.generation) + 1}}"},
                when="{{steps.decide.outputs.parameters.proceed}} == true",
            )

    results = [
        Parameter(name=o, value_from=m.ValueFrom(parameter=f"{{{{steps.finish.outputs.parameters.{o}}}}}", default=""))
        for o in RESULTS
    ]  # empty in a generation that continued: its first generation reports the end
    with Steps(name=p + "main", inputs=[Parameter(name="generation", default="0")], outputs=results) as main:
        Step(name="generation", template=p + "generation", arguments={"generation": "{{inputs.parameters.generation}}"})
        finish(
            name="finish",
            when=(
                "{{inputs.parameters.generation}} == 0 || {{steps.generation.outputs.parameters.continued}} == false"
                if continues
                else None
            ),
        )
    return main


def _successor_manifest(name: str, template: str) -> str:
    """The next generation: a Workflow from the WorkflowTemplate, owned by nothing (so it outlives this one)."""
    import json

    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": f"{name}-",
            "namespace": "{{workflow.namespace}}",
            "labels": {LABEL: name, GENERATION_LABEL: "{{inputs.parameters.generation}}"},
        },
        "spec": {
            "workflowTemplateRef": {"name": template},
            "arguments": {"parameters": [{"name": "generation", "value": "{{inputs.parameters.generation}}"}]},
        },
    }
    return json.dumps(manifest, sort_keys=True)
