"""An experiment as an Argo Workflow, built with Hera: init, ``parallelTrialCount`` lanes, finish.

Each lane is a recursive steps template, the local runner's slot on Argo::

    suggest -> run-trial (the run object, created by Argo) -> collect -> decide -> lane again

Every katib-flow step runs ``katib-flow step ...`` against the database whose
URL the ``--db-secret`` Secret holds (key ``url``). Argo stops recursion at
depth 100, so a lane runs at most :data:`ITERATIONS_PER_LANE` iterations; an
experiment that could need more is refused until Workflows continue as new
generations.

Not built yet (refused with a clear message): the ``wait`` step for run
objects whose conditions Argo cannot express, the shared volume for the File
and TensorFlowEvent collectors, continue-as-new, early stopping on the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from hera.workflows import (
    Container,
    Parameter,
    RawArtifact,
    Resource,
    RetryStrategy,
    SecretEnv,
    Step,
    Steps,
    Workflow,
    WorkflowTemplate,
)
from hera.workflows import models as m

from ..exceptions import CompileError, Problem
from ..spec import check, dump_experiment
from ..spec import constants as c
from ..spec.models import Experiment
from .conditions import translate

__all__ = ["ITERATIONS_PER_LANE", "CompileOptions", "compile_template", "compile_workflow"]

W = TypeVar("W", bound=Workflow)

# Argo refuses a template nested deeper than 100; a lane recurses once per iteration from main.
ITERATIONS_PER_LANE = 90
_OUTPUTS = "/tmp/katib-flow"
_EXPERIMENT_PATH = "/katib-flow/experiment.yaml"
_LABEL = "katib-flow/experiment"


@dataclass(frozen=True)
class CompileOptions:
    image: str = "ghcr.io/katib-flow/katib-flow:0.1.0"
    namespace: str | None = None
    db_secret: str = "katib-flow-db"
    service_account: str = "katib-flow"
    poll_seconds: float = 5.0
    max_wait_seconds: float = 300.0
    ttl_seconds: int = 7 * 24 * 3600


def compile_workflow(experiment: Experiment, options: CompileOptions | None = None) -> Workflow:
    """The Workflow of a (validated) experiment; raises :class:`CompileError` listing what cannot run yet."""
    return _build(Workflow, experiment, options or CompileOptions())


def compile_template(
    experiment: Experiment, options: CompileOptions | None = None
) -> tuple[WorkflowTemplate, Workflow]:
    """A WorkflowTemplate holding the experiment's templates, and the small Workflow that runs it.

    The template is what a pipeline references with ``templateRef`` (its ``main``
    template runs the whole experiment) and what a user resubmits: the Workflow
    only names it (``workflowTemplateRef``).
    """
    options = options or CompileOptions()
    template = _build(WorkflowTemplate, experiment, options)
    name = template.name or ""
    workflow = Workflow(
        generate_name=f"{experiment.name}-",
        namespace=template.namespace,
        labels={_LABEL: experiment.name or ""},
        workflow_template_ref=m.WorkflowTemplateRef(name=name),
    )
    return template, workflow


def _build(cls: type[W], experiment: Experiment, options: CompileOptions) -> W:
    experiment = check(experiment)
    _check_supported(experiment)
    spec = experiment.spec
    template = spec.trial_template
    assert template is not None and template.trial_spec is not None and spec.objective is not None
    conditions = translate(template.trial_spec, template.success_condition, template.failure_condition)
    assert conditions is not None  # _check_supported
    name = experiment.name or ""
    lanes = spec.parallel_trial_count or 1
    who = ["--experiment", name, *(["--namespace", experiment.namespace] if experiment.namespace else [])]
    retry = RetryStrategy(limit=3, retry_policy="Always", backoff=m.Backoff(duration="5s", factor=m.IntOrString(2)))
    env = [SecretEnv(name="KATIB_FLOW_DB_URL", secret_name=options.db_secret, secret_key="url")]

    def step_container(
        template_name: str,
        args: list[str],
        *,
        inputs: Sequence[Parameter | RawArtifact] = (),
        outputs: Sequence[str] = (),
        global_outputs: bool = False,
    ) -> Container:
        return Container(
            name=template_name,
            image=options.image,
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
        )

    is_template = cls is WorkflowTemplate
    with cls(
        name=f"katib-flow-{name}" if is_template else None,
        generate_name=None if is_template else f"{name}-",
        namespace=options.namespace or experiment.namespace,
        labels={_LABEL: name},
        entrypoint="main",
        service_account_name=options.service_account,
        on_exit="record-status",
        pod_gc=m.PodGC(strategy="OnPodSuccess"),
        ttl_strategy=m.TTLStrategy(secondsAfterCompletion=options.ttl_seconds),
        synchronization=m.Synchronization(mutexes=[m.Mutex(name=f"katib-flow-{name}")]),
    ) as workflow:
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
                f"{options.poll_seconds:g}",
                "--max-wait-seconds",
                f"{options.max_wait_seconds:g}",
            ],
            inputs=[Parameter(name="lane"), Parameter(name="iteration")],
            outputs=["trial", "run-object", "runnable", "completed"],
        )
        run_trial = Resource(
            name="run-trial",
            action="create",
            manifest="{{inputs.parameters.manifest}}",
            set_owner_reference=True,
            success_condition=conditions.success,
            failure_condition=conditions.failure,
            inputs=[Parameter(name="manifest")],
        )
        collect_args = [
            "collect",
            *who,
            "--trial",
            "{{inputs.parameters.trial}}",
            "--phase",
            "{{inputs.parameters.phase}}",
        ]
        mc = spec.metrics_collector_spec
        if mc is not None and mc.collector is not None and mc.collector.kind == c.COLLECTOR_STDOUT:
            collect_args.append("--from-pod-logs")
        collect = step_container(
            "collect",
            collect_args,
            inputs=[Parameter(name="trial"), Parameter(name="phase")],
            outputs=["state", "objective"],
        )
        decide = step_container("decide", ["decide", *who], outputs=["proceed", "reason"])
        finish_outputs = ["best-trial", "best-parameters", "best-objective", "succeeded", "reason"]
        finish = step_container("finish", ["finish", *who], outputs=finish_outputs, global_outputs=True)
        step_container("record-status", ["finish", *who], outputs=["reason"])

        runnable = "{{steps.suggest.outputs.parameters.runnable}} == true"
        with Steps(
            name="lane",
            inputs=[Parameter(name="lane"), Parameter(name="iteration"), Parameter(name="depth")],
        ):
            suggest(
                name="suggest",
                arguments={"lane": "{{inputs.parameters.lane}}", "iteration": "{{inputs.parameters.iteration}}"},
            )
            run_trial(
                name="run-trial",
                arguments={"manifest": "{{steps.suggest.outputs.parameters.run-object}}"},
                when=runnable,
                continue_on=m.ContinueOn(failed=True),
            )
            collect(
                name="collect",
                arguments={
                    "trial": "{{steps.suggest.outputs.parameters.trial}}",
                    "phase": "{{steps.run-trial.status}}",
                },
                when=runnable,
            )
            decide(name="decide")
            Step(
                name="next",
                template="lane",
                arguments={
                    "lane": "{{inputs.parameters.lane}}",
                    "iteration": "{{=asInt(inputs.parameters.iteration) + 1}}",
                    "depth": "{{=asInt(inputs.parameters.depth) + 1}}",
                },
                when=(
                    "{{steps.decide.outputs.parameters.proceed}} == true"
                    f" && {{{{inputs.parameters.depth}}}} < {ITERATIONS_PER_LANE - 1}"
                ),
            )

        with Steps(name="main") as main:
            init(name="init")
            with main.parallel():
                for lane in range(lanes):
                    Step(
                        name=f"lane-{lane}",
                        template="lane",
                        arguments={"lane": str(lane), "iteration": "0", "depth": "0"},
                    )
            finish(name="finish")
    return workflow


def _check_supported(experiment: Experiment) -> None:
    spec = experiment.spec
    template, mc = spec.trial_template, spec.metrics_collector_spec
    problems: list[Problem] = []
    if template is None or template.trial_spec is None:
        problems.append(
            Problem(
                "spec.trialTemplate.trialSpec",
                "compile needs an inline trialSpec (configMap templates are not read yet)",
            )
        )
    elif translate(template.trial_spec, template.success_condition, template.failure_condition) is None:
        problems.append(
            Problem(
                "spec.trialTemplate",
                f"a {template.trial_spec.get('kind')} with these conditions and settings needs the wait step, which"
                " compile does not build yet (see docs/cluster-steps.md)",
            )
        )
    kind = mc.collector.kind if mc is not None and mc.collector is not None else None
    if kind not in (c.COLLECTOR_STDOUT, c.COLLECTOR_PUSH):
        problems.append(
            Problem(
                "spec.metricsCollectorSpec.collector.kind",
                f"the {kind} collector is not compiled yet (StdOut and Push are)",
            )
        )
    if spec.early_stopping is not None:
        problems.append(Problem("spec.earlyStopping", "early stopping is not compiled yet"))
    lanes = spec.parallel_trial_count or 1
    bound = lanes * ITERATIONS_PER_LANE
    if spec.max_trial_count is None or spec.max_trial_count > bound:
        problems.append(
            Problem(
                "spec.maxTrialCount",
                f"should be at most {bound} ({lanes} lanes x {ITERATIONS_PER_LANE} iterations) until Workflows continue"
                " as new generations",
            )
        )
    if problems:
        raise CompileError(problems)
