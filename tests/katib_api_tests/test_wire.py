"""katib-flow's description of Katib's messages is Katib's, field for field (compiled from Katib's api.proto)."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor

from katib_flow.katib_api.messages import METHODS, message

from .katib_proto import katib_modules


def _fields(descriptor: Descriptor) -> list[tuple[Any, ...]]:
    return sorted(
        (
            f.name,
            f.number,
            f.type,
            f.is_repeated,
            f.message_type.full_name if f.message_type else "",
            f.enum_type.full_name if f.enum_type else "",
        )
        for f in descriptor.fields
    )


def _enum(descriptor: EnumDescriptor) -> list[tuple[str, int]]:
    return [(v.name, v.number) for v in descriptor.values]


def _walk(descriptor: Descriptor) -> dict[str, Descriptor]:
    found = {descriptor.full_name: descriptor}
    for nested in descriptor.nested_types:
        found.update(_walk(nested))
    return found


def test_every_katib_message_enum_and_service_has_katib_flows_exact_shape() -> None:
    api_pb2, _ = katib_modules()
    katib = api_pb2.DESCRIPTOR
    theirs: dict[str, Descriptor] = {}
    for top in katib.message_types_by_name.values():
        theirs.update(_walk(top))
    ours: dict[str, Descriptor] = {}
    for name in katib.message_types_by_name:
        ours.update(_walk(message(name).DESCRIPTOR))
    assert sorted(ours) == sorted(theirs)  # every message Katib has, nested and map entries included
    for name, descriptor in theirs.items():
        assert _fields(ours[name]) == _fields(descriptor), name
        assert [_enum(e) for e in ours[name].enum_types] == [_enum(e) for e in descriptor.enum_types], name
    for name, enum in katib.enum_types_by_name.items():
        ours_enum = message("Experiment").DESCRIPTOR.file.enum_types_by_name[name]
        assert _enum(ours_enum) == _enum(enum), name
    services = {
        s.name: {m.name: (m.input_type.name, m.output_type.name) for m in s.methods}
        for s in katib.services_by_name.values()
    }
    assert services == METHODS


def test_a_message_katib_serializes_parses_into_katib_flows_and_back_unchanged() -> None:
    api_pb2, _ = katib_modules()
    request = api_pb2.GetSuggestionsRequest(current_request_number=2, total_request_number=5)
    request.experiment.name = "random"
    parameter = request.experiment.spec.parameter_specs.parameters.add(name="lr", parameter_type=api_pb2.DOUBLE)
    parameter.feasible_space.min, parameter.feasible_space.max = "0.01", "0.05"
    parameter.feasible_space.distribution = api_pb2.LOG_UNIFORM
    trial = request.trials.add(name="random-1")
    trial.spec.labels["pbt.suggestion.katib.kubeflow.org/generation"] = "0"
    trial.status.condition = api_pb2.TrialStatus.METRICSUNAVAILABLE
    wire = request.SerializeToString()
    ours = message("GetSuggestionsRequest").FromString(wire)
    assert ours.experiment.spec.parameter_specs.parameters[0].feasible_space.distribution == 2  # LOG_UNIFORM
    assert dict(ours.trials[0].spec.labels) == {"pbt.suggestion.katib.kubeflow.org/generation": "0"}
    assert ours.SerializeToString(deterministic=True) == request.SerializeToString(deterministic=True)


def test_a_proposals_labels_become_the_trials_labels_in_the_reply() -> None:
    from katib_flow.algorithms.pbt import GENERATION_LABEL, PARENT_LABEL
    from katib_flow.history import Proposal
    from katib_flow.katib_api.convert import proposals_reply
    from katib_flow.spec import Experiment

    experiment = Experiment.model_validate(
        {"metadata": {"name": "p"}, "spec": {"algorithm": {"algorithmName": "pbt", "algorithmSettings": []}}}
    )
    labels = {GENERATION_LABEL: "1", PARENT_LABEL: "p-0a1b2c3d"}
    reply = proposals_reply([Proposal({"lr": "0.01"}, {"labels": labels})], ["p-9f8e7d6c"], experiment, {})
    assert dict(reply.parameter_assignments[0].labels) == labels  # what Katib's controller puts on the Trial
