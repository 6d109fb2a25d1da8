"""What serving an algorithm over Katib's gRPC API costs, against calling it in-process, in the same run.

    python bench/grpc_latency.py                          # random, tpe, sobol; 0/50/200 finished trials
    python bench/grpc_latency.py --algorithms random --history 0 500 --repeats 20

For each algorithm and history size the script measures one suggestion:

- in-process: ``suggester.suggest(history, 1)``, the suggester rebuilt for the
  call as the engine rebuilds it (the baseline);
- over gRPC: ``GetSuggestions`` to ``katib-flow serve`` on loopback, the
  request carrying the same history as Katib's controller would (every trial,
  its assignments and objective), the reply parsed: conversion, serialization,
  HTTP/2 and the rebuild on the server side.

It prints the medians and their ratio (gRPC / in-process); the difference is
the API's overhead per call. Both run in this process on this machine.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grpc

from katib_flow import Experiment, algorithm, minimize, search
from katib_flow.algorithms import suggester_for
from katib_flow.history import TrialRecord, TrialState
from katib_flow.katib_api.convert import experiment_message, trial_messages
from katib_flow.katib_api.messages import message
from katib_flow.katib_api.server import start
from katib_flow.spec import Experiment as Wire


def experiment(name: str) -> Wire:
    return Experiment(
        "latency",
        objective=minimize("loss"),
        algorithm=algorithm(name),
        parameters={
            "lr": search.double(0.001, 0.1, distribution="logUniform"),
            "momentum": search.double(0.5, 0.99),
            "layers": search.int(1, 8),
            "optimizer": search.categorical(["sgd", "adam", "ftrl"]),
        },
        image="python:3.11",
        command=["python3", "-c", "print(1)", "${trialParameters.lr}"],
        max_trial_count=10_000,
        parallel_trial_count=4,
    ).to_model()


def history(wire: Wire, size: int, rng: random.Random) -> list[TrialRecord]:
    """``size`` finished trials at the algorithm's own points (so its data, where it keeps any, is real)."""
    records: list[TrialRecord] = []
    suggester = suggester_for(wire, 7)
    while len(records) < size:
        for proposal in suggester.suggest(records, min(20, size - len(records))):
            value = rng.random()
            name = f"latency-{len(records):05d}"
            records.append(
                TrialRecord(name, proposal.assignments, TrialState.SUCCEEDED, value, (value,), proposal.data)
            )
    return records


def suggest_once(wire: Wire, past: list[TrialRecord]) -> object:
    """One in-process suggestion, the suggester rebuilt for it as the engine does."""
    return suggester_for(wire, 7).suggest(past, 1)


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start_time = time.perf_counter()
        call()
        times.append(time.perf_counter() - start_time)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algorithms", nargs="+", default=["random", "tpe", "sobol"])
    parser.add_argument("--history", type=int, nargs="+", default=[0, 50, 200])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    server = start("127.0.0.1", 0, None, workers=2)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    get = channel.unary_unary(
        "/api.v1.beta1.Suggestion/GetSuggestions",
        request_serializer=message("GetSuggestionsRequest").SerializeToString,
        response_deserializer=message("GetSuggestionsReply").FromString,
    )
    print("| algorithm | finished trials | in-process ms | gRPC ms | gRPC / in-process | request KiB |")
    print("|---|---:|---:|---:|---:|---:|")
    try:
        for name in args.algorithms:
            wire = experiment(name)
            for size in args.history:
                past = history(wire, size, random.Random(size))
                local = median_seconds(functools.partial(suggest_once, wire, past), args.repeats)
                request = message("GetSuggestionsRequest")(
                    experiment=experiment_message(wire),
                    trials=trial_messages(past, "loss"),
                    current_request_number=1,
                    total_request_number=size + 1,
                )
                remote = median_seconds(functools.partial(get, request, timeout=60), args.repeats)
                kib = len(request.SerializeToString()) / 1024
                print(
                    f"| {name} | {size} | {local * 1000:.1f} | {remote * 1000:.1f} | {remote / local:.2f} | {kib:.1f} |"
                )
    finally:
        channel.close()
        server.stop(0)


if __name__ == "__main__":
    main()
