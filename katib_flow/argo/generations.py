"""The outer templates of a compiled experiment: a generation, its report, ``main``, and continue-as-new.

::

    main(generation, chain) -> generation -> report (when it is the end to report)
    report                  -> finish (the outputs) -> fail (when the experiment failed)
    generation(generation)  -> init -> lanes in parallel -> decide -> continue (a successor Workflow)

A generation's successor is applied from the WorkflowTemplate with a name
fixed by the chain (generation 0's Workflow name) and the generation, so a
retried ``continue`` finds what its first attempt created. With successors,
``init`` says which generation the lanes run: a resubmitted experiment skips
the generations whose slots are all gone through.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hera.workflows import Container, Parameter, Resource, Step, Steps
from hera.workflows import models as m

from ..cluster.generations import CHAIN_LABEL
from .step_pods import pod_security, retry

if TYPE_CHECKING:
    from .templates import Layout

__all__ = ["GENERATION_LABEL", "LABEL", "RESULTS", "add_outer_templates"]

LABEL = "katib-flow/experiment"
GENERATION_LABEL = "katib-flow/generation"
RESULTS = ["best-trial", "best-parameters", "best-objective", "succeeded", "reason"]


def add_outer_templates(
    name: str, lanes: int, layout: Layout, *, init: Container, decide: Container, finish: Container, fail: Container
) -> Steps:
    """Add generation, report and main (and continue, with a successor template); the entry template, main."""
    p = layout.prefix
    continues = layout.successor_template is not None
    successor = None
    if continues:
        successor = Resource(
            name=p + "continue",
            action="apply",  # idempotent: a retried step finds the successor it created (its name is fixed)
            manifest=_successor_manifest(name, layout.successor_template or "", layout.successor_annotations),
            inputs=[Parameter(name="generation"), Parameter(name="chain")],
            outputs=[Parameter(name="successor", value_from=m.ValueFrom(json_path="{.metadata.name}"))],
            retry_strategy=retry(),
            pod_security_context=pod_security(),
        )

    start = "steps.init.outputs.parameters.generation" if continues else "inputs.parameters.generation"
    daemons = _daemon_templates(layout)
    services = _services_value(layout)
    services_arg = {"services": services} if daemons else {}
    with Steps(
        name=p + "generation",
        inputs=[Parameter(name="generation"), Parameter(name="chain")],
        outputs=[
            Parameter(
                name="continued",
                value_from=m.ValueFrom(parameter="{{steps.decide.outputs.parameters.proceed}}"),
            ),
            Parameter(name="chain", value_from=m.ValueFrom(parameter="{{steps.init.outputs.parameters.chain}}")),
        ],
        synchronization=m.Synchronization(mutexes=[m.Mutex(name=f"katib-flow-{name}")]),
    ) as generation:
        if daemons:  # the algorithm services first: init asks them to validate the settings
            with generation.parallel():
                for i, daemon in enumerate(daemons):
                    daemon(name=f"algorithm-{i}")
        init(
            name="init",
            arguments={
                "generation": "{{inputs.parameters.generation}}",
                "chain": "{{inputs.parameters.chain}}",
                **services_arg,
            },
        )
        with generation.parallel():
            for lane in range(lanes):
                Step(
                    name=f"lane-{lane}",
                    template=p + "lane",
                    arguments={
                        "lane": str(lane),
                        "iteration": f"{{{{=asInt({start}) * {layout.iterations_per_lane}}}}}",
                        "depth": "0",
                        **services_arg,
                    },
                )
        decide(name="decide")
        if successor is not None:
            successor(
                name="continue",
                arguments={
                    "generation": f"{{{{=asInt({start}) + 1}}}}",
                    "chain": "{{steps.init.outputs.parameters.chain}}",
                },
                when="{{steps.decide.outputs.parameters.proceed}} == true",
            )

    # finish sets the outputs; then fail makes the node (and the Workflow) fail when the experiment failed.
    # (A failed steps node has no outputs of its own: workflow/controller/steps.go sets them on success only.)
    with Steps(
        name=p + "report",
        inputs=[Parameter(name="chain")],
        outputs=[
            Parameter(name=o, value_from=m.ValueFrom(parameter=f"{{{{steps.finish.outputs.parameters.{o}}}}}"))
            for o in RESULTS
        ],
    ):
        finish(name="finish", arguments={"chain": "{{inputs.parameters.chain}}"})
        fail(
            name="fail",
            arguments={"reason": "{{steps.finish.outputs.parameters.reason}}"},
            when="{{steps.finish.outputs.parameters.succeeded}} == false",
        )

    results = [
        Parameter(name=o, value_from=m.ValueFrom(parameter=f"{{{{steps.report.outputs.parameters.{o}}}}}", default=""))
        for o in RESULTS
    ]  # empty in a generation that continued: its first generation reports the end
    with Steps(
        name=p + "main",
        inputs=[Parameter(name="generation", default="0"), Parameter(name="chain", default="")],
        outputs=results,
    ) as main:
        Step(
            name="generation",
            template=p + "generation",
            arguments={"generation": "{{inputs.parameters.generation}}", "chain": "{{inputs.parameters.chain}}"},
        )
        Step(
            name="report",
            template=p + "report",
            arguments={"chain": "{{steps.generation.outputs.parameters.chain}}"},
            when=(
                "{{inputs.parameters.generation}} == 0 || {{steps.generation.outputs.parameters.continued}} == false"
                if continues
                else None
            ),
        )
    return main


KATIB_ALGORITHM_PORT = 6789  # where a Katib algorithm service listens (Katib's DefaultSuggestionPort)


def _daemon_templates(layout: Layout) -> list[Container]:
    """One daemoned container per algorithm image, alive while its generation runs, ready once it is SERVING.

    As Katib deploys one suggestion Deployment per experiment, with the gRPC
    probe Katib gives it (``manager.v1beta1.Suggestion`` on port 6789,
    ``suggestion/composer/composer.go``). Argo starts the next steps once a
    daemoned step is ready and stops it when the template that started it ends.
    The image is a third party's: its own user and security context are kept.
    """
    probe = m.Probe(
        grpc=m.GRPCAction(port=KATIB_ALGORITHM_PORT, service="manager.v1beta1.Suggestion"),
        initial_delay_seconds=2,
        period_seconds=5,
    )
    return [
        Container(
            name=f"{layout.prefix}algorithm-{i}",
            image=image,
            daemon=True,
            ports=[m.ContainerPort(container_port=KATIB_ALGORITHM_PORT, name="api")],
            readiness_probe=probe,
            resources=layout.resources.requirements(),
        )
        for i, (_, image) in enumerate(layout.daemons)
    ]


def _services_value(layout: Layout) -> str:
    """``NAME=HOST:PORT,...``: the services named at compile time, then the daemons' ({{steps.X.ip}})."""
    from ..algorithms import SUGGESTION_SERVICES_ENV

    static = [value for key, value in layout.environment if key == SUGGESTION_SERVICES_ENV]
    dynamic = [
        f"{name}={{{{steps.algorithm-{i}.ip}}}}:{KATIB_ALGORITHM_PORT}" for i, (name, _) in enumerate(layout.daemons)
    ]
    return ",".join([*static, *dynamic])


def _successor_manifest(name: str, template: str, annotations: dict[str, str]) -> str:
    """The next generation: a Workflow from the WorkflowTemplate, owned by nothing (so it outlives this one)."""
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "name": "{{inputs.parameters.chain}}-g{{inputs.parameters.generation}}",
            "namespace": "{{workflow.namespace}}",
            "labels": {
                LABEL: name,
                GENERATION_LABEL: "{{inputs.parameters.generation}}",
                CHAIN_LABEL: "{{inputs.parameters.chain}}",
            },
            "annotations": annotations,
        },
        "spec": {
            "workflowTemplateRef": {"name": template},
            "arguments": {
                "parameters": [
                    {"name": "generation", "value": "{{inputs.parameters.generation}}"},
                    {"name": "chain", "value": "{{inputs.parameters.chain}}"},
                ]
            },
        },
    }
    return json.dumps(manifest, sort_keys=True)
