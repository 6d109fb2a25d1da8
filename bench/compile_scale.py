"""Compiling at scale: compile time, Workflow size and Argo status growth from 12 to 10,000 trials.

    python bench/compile_scale.py                       # Katib's random example shape, 1 to 100 lanes
    python bench/compile_scale.py --trials 12 100 --parallel 2 --repeats 3

For each maxTrialCount and parallelTrialCount the script compiles the
experiment's WorkflowTemplate (the form that continues as new generations)
and reports:

- compile time (median of ``--repeats``) and its ratio to the smallest case,
  measured in the same run: the compiled templates do not grow with
  maxTrialCount, so neither should the time;
- the WorkflowTemplate's size (JSON), against Argo's 1 MiB object limit;
- an estimate of ``status.nodes`` growth per lane iteration: Argo records a
  node per step, step group and recursion, with the step's inputs and
  outputs, a Retry node over every retried step's pod (holding the outputs
  again) and a Skipped node for a branch not taken; the estimate builds those
  node records in Argo's NodeStatus shape with the values the compiled
  templates pass (the rendered run object of a real trial: suggest's output,
  run-trial's input), raw and as Argo stores them once the object would pass
  1 MiB (gzip, then base64: ``status.compressedNodes``);
- the deepest template nesting (Argo refuses 100: ``maxAllowedStackDepth``);
- the iterations each lane runs per generation (90, fewer past 8 lanes so
  that a generation's Workflow object stays under half of 1 MiB), the nodes
  of a whole generation raw, the generation's Workflow object (its spec, the
  WorkflowTemplate spec Argo stores in its status, the compressed nodes), and
  how many Workflow generations the experiment takes.

Nothing here ran on a cluster: sizes are of the objects katib-flow builds and
of status records shaped like Argo's, not read back from a live controller.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from katib_flow import Experiment, algorithm, minimize, search
from katib_flow.argo.compiler import CompileOptions, compile_template, stack_depth
from katib_flow.engine import render_run_object
from katib_flow.spec import Experiment as Wire

MIB = 1024 * 1024


def experiment(trials: int, parallel: int) -> Wire:
    """Katib's random example in shape: three parameters, a Job with one training container."""
    return Experiment(
        "scale",
        namespace="kubeflow",
        objective=minimize("loss", goal=0.001),
        algorithm=algorithm("random"),
        parameters={
            "lr": search.double(0.01, 0.05),
            "momentum": search.double(0.5, 0.9),
            "optimizer": search.categorical(["sgd", "adam", "ftrl"]),
        },
        image="docker.io/kubeflowkatib/pytorch-mnist-cpu:latest",
        command=[
            "python3",
            "/opt/pytorch-mnist/mnist.py",
            "--epochs=1",
            "--batch-size=16",
            "--lr=${trialParameters.lr}",
            "--momentum=${trialParameters.momentum}",
            "--optimizer=${trialParameters.optimizer}",
        ],
        resources={"limits": {"memory": "1Gi", "cpu": "0.5"}},
        max_trial_count=trials,
        parallel_trial_count=parallel,
        max_failed_trial_count=3,
    ).to_model()


def _node(
    rng: random.Random,
    name: str,
    template: str,
    kind: str,
    outputs: dict[str, str] | None = None,
    inputs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One ``status.nodes`` entry as Argo writes it (fields of NodeStatus a finished node carries)."""
    minute = rng.randrange(60 * 24 * 28)
    day = f"2026-11-{1 + minute // 1440:02d}"
    node: dict[str, Any] = {
        "id": f"scale-7x9kq-{rng.randrange(10**10):010d}",
        "name": name,
        "displayName": name.rsplit(".", 1)[-1],
        "type": kind,
        "templateName": template,
        "templateScope": "local/scale-7x9kq",
        "phase": "Skipped" if kind == "Skipped" else "Succeeded",
        "boundaryID": f"scale-7x9kq-{rng.randrange(10**10):010d}",
        "startedAt": f"{day}T{minute // 60 % 24:02d}:{minute % 60:02d}:{rng.randrange(60):02d}Z",
        "finishedAt": f"{day}T{minute // 60 % 24:02d}:{minute % 60:02d}:{rng.randrange(60):02d}Z",
        "progress": "1/1",
        "children": [f"scale-7x9kq-{rng.randrange(10**10):010d}"],
    }
    if kind == "Skipped":
        node["message"] = "when 'true == true && false == true' evaluated false"
    if kind == "Pod":
        node["hostNodeName"] = f"worker-node-{rng.randrange(100)}"
        node["resourcesDuration"] = {"cpu": rng.randrange(1, 600), "memory": rng.randrange(1, 6000)}
    if inputs is not None:
        node["inputs"] = {"parameters": [{"name": k, "value": v} for k, v in inputs.items()]}
    if outputs is not None:
        node["outputs"] = {"parameters": [{"name": k, "value": v} for k, v in outputs.items()], "exitCode": "0"}
    return node


def _retried(
    rng: random.Random, name: str, template: str, outputs: dict[str, str], inputs: dict[str, str]
) -> list[dict[str, Any]]:
    """A step with a retryStrategy: Argo's Retry node (a copy of the outputs) and its pod child ``name(0)``."""
    return [
        _node(rng, name, template, "Retry", outputs, inputs),
        _node(rng, f"{name}(0)", template, "Pod", outputs, inputs),
    ]


def nodes_per_iteration(wire: Wire, rng: random.Random, iteration: int = 4) -> list[dict[str, Any]]:
    """The nodes one lane iteration adds: the lane, its step groups, its steps with their inputs and outputs.

    The resource path (run-trial + collect), Katib's default for a Job: suggest,
    collect and decide are retried steps (a Retry node over each pod, holding
    the outputs again), run-trial's pod records the manifest as its input, and
    the resumed-trial branch (wait-trial) is a Skipped node.
    """
    trial = f"scale-{rng.randrange(16**8):08x}"
    assignments = {
        "lr": f"{rng.uniform(0.01, 0.05):.6f}",
        "momentum": f"{rng.uniform(0.5, 0.9):.6f}",
        "optimizer": rng.choice(["sgd", "adam", "ftrl"]),
    }
    run_object = json.dumps(render_run_object(wire, trial, assignments), sort_keys=True)
    lane = rng.randrange(10)
    prefix = f"scale-7x9kq[0].generation[1].lane-{lane}" + ".next[5]" * (iteration % 8)
    where = {"lane": str(lane), "iteration": str(iteration)}
    nodes = [_node(rng, prefix, "lane", "Steps", inputs={**where, "depth": str(iteration)})]
    nodes += [_node(rng, f"{prefix}[{i}]", "", "StepGroup") for i in range(6)]
    suggested = {
        "trial": trial,
        "display-name": trial,
        "parameters": json.dumps(assignments, indent=1),
        "run-object": run_object,
        "runnable": "true",
        "resumed": "false",
    }
    nodes += _retried(rng, f"{prefix}[0].suggest", "suggest", {**suggested, "completed": "false"}, where)
    shown = {"manifest": run_object, "display-name": trial}
    nodes.append(_node(rng, f"{prefix}[1].run-trial", "run-trial", "Pod", {}, shown))
    objective = f"{rng.uniform(0, 1)!r}"
    collected = {  # the trial's result and the leaderboard (live global outputs)
        "state": "Succeeded",
        "objective": objective,
        "metrics": json.dumps({"loss": objective, "accuracy": f"{rng.uniform(0, 1)!r}"}, sort_keys=True),
        "best-trial": f"scale-{rng.randrange(16**8):08x}",
        "best-parameters": json.dumps(assignments, sort_keys=True),
        "best-objective": f"{rng.uniform(0, 1)!r}",
        "trials": f"{rng.randrange(1000)}/1000",
    }
    nodes += _retried(rng, f"{prefix}[2].collect", "collect", collected, {"trial": trial, "phase": "Succeeded"})
    nodes.append(_node(rng, f"{prefix}[3].wait-trial", "wait-trial", "Skipped"))
    nodes += _retried(rng, f"{prefix}[4].decide", "decide", {"proceed": "true", "reason": "ExperimentRunning"}, {})
    return nodes


def stored(nodes: bytes) -> int:
    """What ``status.compressedNodes`` takes: gzip, then base64 (Argo's ``file.CompressEncodeString``)."""
    return len(base64.b64encode(gzip.compress(nodes)))


def measure(trials: int, parallel: int, repeats: int) -> dict[str, float]:
    """Compile time and sizes of one experiment shape."""
    wire = experiment(trials, parallel)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        template, workflow = compile_template(wire, CompileOptions())
        text = template.to_yaml() + workflow.to_yaml()
        times.append(time.perf_counter() - start)
    spec_bytes = len(json.dumps(template.to_dict()).encode())
    rng = random.Random(0)
    iteration = json.dumps(nodes_per_iteration(wire, rng)).encode()
    iterations = CompileOptions().lane_iterations(parallel)
    per_generation = parallel * min(iterations, math.ceil(trials / parallel))
    whole = json.dumps([n for i in range(per_generation) for n in nodes_per_iteration(wire, rng, i)]).encode()
    # The Workflow object of a generation: its spec, the WorkflowTemplate's spec Argo stores in its status
    # (storedWorkflowTemplateSpec), and the compressed nodes.
    workflow_object = 2 * spec_bytes + stored(whole)
    return {
        "compile": statistics.median(times),
        "yaml": len(text.encode()),
        "spec": spec_bytes,
        "iteration": len(iteration),
        "iteration_stored": stored(iteration),
        "generation_raw": len(whole),
        "generation_object": workflow_object,
        "lane_iterations": iterations,
        "depth": stack_depth(iterations),
        "generations": math.ceil(trials / (parallel * iterations)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[12, 100, 1000, 10000])
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 4, 10, 25, 100])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        "| maxTrialCount | parallel | compile ms | x smallest | template KiB | per iteration KiB (stored) "
        "| iterations per lane | stack depth | generation nodes MiB | generation object MiB (of 1) | generations |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    baseline: float | None = None
    for parallel in args.parallel:
        for trials in args.trials:
            if parallel > trials:
                continue  # Katib refuses parallelTrialCount > maxTrialCount
            r = measure(trials, parallel, args.repeats)
            baseline = baseline or r["compile"]
            print(
                f"| {trials} | {parallel} | {r['compile'] * 1000:.1f} | {r['compile'] / baseline:.2f} "
                f"| {r['spec'] / 1024:.1f} | {r['iteration'] / 1024:.1f} ({r['iteration_stored'] / 1024:.2f}) "
                f"| {r['lane_iterations']} | {r['depth']} | {r['generation_raw'] / MIB:.2f} "
                f"| {r['generation_object'] / MIB:.3f} | {r['generations']} |"
            )


if __name__ == "__main__":
    main()
