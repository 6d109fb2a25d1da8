"""Katib's gRPC messages (package ``api.v1.beta1``), built at import time from a table, without protoc.

Katib's ``api.proto`` is the wire contract its controllers, its SDK and every
algorithm service speak. katib-flow describes the same messages here (names,
field numbers, types, nested types, enums, maps) and builds their descriptors
with protobuf's own ``descriptor_pb2``, in a private descriptor pool: no
generated code to keep in step with a protobuf runtime, and no clash with a
process that also loads Katib's generated ``api_pb2``. The services' method
paths (``/api.v1.beta1.Suggestion/GetSuggestions``, ...) are in
:data:`METHODS`. ``tests/katib_api_tests`` compiles Katib's own ``api.proto``
(from ``../shared/katib-api``) and checks that every message here has exactly
Katib's fields.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["METHODS", "PACKAGE", "enum_name", "enum_value", "message"]

PACKAGE = "api.v1.beta1"
_F = descriptor_pb2.FieldDescriptorProto

# Field kinds: a scalar name, a message or enum type name (relative to the package, "Outer.Inner" for a
# nested one), "map" (map<string, string>). "*" in front means repeated.
_SCALARS = {"string": _F.TYPE_STRING, "int32": _F.TYPE_INT32, "double": _F.TYPE_DOUBLE}
_ENUMS: dict[str, list[str]] = {
    "ParameterType": ["UNKNOWN_TYPE", "DOUBLE", "INT", "DISCRETE", "CATEGORICAL"],
    "Distribution": ["DISTRIBUTION_UNSPECIFIED", "UNIFORM", "LOG_UNIFORM", "NORMAL", "LOG_NORMAL"],
    "ObjectiveType": ["UNKNOWN", "MINIMIZE", "MAXIMIZE"],
    "ComparisonType": ["UNKNOWN_COMPARISON", "EQUAL", "LESS", "GREATER"],
    "TrialStatus.TrialConditionType": [
        "CREATED",
        "RUNNING",
        "SUCCEEDED",
        "KILLED",
        "FAILED",
        "METRICSUNAVAILABLE",
        "EARLYSTOPPED",
        "UNKNOWN",
    ],
}
# message -> [(field, number, kind)]; nested messages are written "Outer.Inner".
_MESSAGES: dict[str, list[tuple[str, int, str]]] = {
    "Experiment": [("name", 1, "string"), ("spec", 2, "ExperimentSpec")],
    "ExperimentSpec": [
        ("parameter_specs", 1, "ExperimentSpec.ParameterSpecs"),
        ("objective", 2, "ObjectiveSpec"),
        ("algorithm", 3, "AlgorithmSpec"),
        ("early_stopping", 4, "EarlyStoppingSpec"),
        ("parallel_trial_count", 5, "int32"),
        ("max_trial_count", 6, "int32"),
        ("nas_config", 7, "NasConfig"),
    ],
    "ExperimentSpec.ParameterSpecs": [("parameters", 1, "*ParameterSpec")],
    "ParameterSpec": [
        ("name", 1, "string"),
        ("parameter_type", 2, "ParameterType"),
        ("feasible_space", 3, "FeasibleSpace"),
    ],
    "FeasibleSpace": [
        ("max", 1, "string"),
        ("min", 2, "string"),
        ("list", 3, "*string"),
        ("step", 4, "string"),
        ("distribution", 5, "Distribution"),
    ],
    "ObjectiveSpec": [
        ("type", 1, "ObjectiveType"),
        ("goal", 2, "double"),
        ("objective_metric_name", 3, "string"),
        ("additional_metric_names", 4, "*string"),
    ],
    "AlgorithmSpec": [("algorithm_name", 1, "string"), ("algorithm_settings", 2, "*AlgorithmSetting")],
    "AlgorithmSetting": [("name", 1, "string"), ("value", 2, "string")],
    "EarlyStoppingSpec": [("algorithm_name", 1, "string"), ("algorithm_settings", 2, "*EarlyStoppingSetting")],
    "EarlyStoppingSetting": [("name", 1, "string"), ("value", 2, "string")],
    "NasConfig": [("graph_config", 1, "GraphConfig"), ("operations", 2, "NasConfig.Operations")],
    "NasConfig.Operations": [("operation", 1, "*Operation")],
    "GraphConfig": [("num_layers", 1, "int32"), ("input_sizes", 2, "*int32"), ("output_sizes", 3, "*int32")],
    "Operation": [("operation_type", 1, "string"), ("parameter_specs", 2, "Operation.ParameterSpecs")],
    "Operation.ParameterSpecs": [("parameters", 1, "*ParameterSpec")],
    "Trial": [("name", 1, "string"), ("spec", 2, "TrialSpec"), ("status", 3, "TrialStatus")],
    "TrialSpec": [
        ("objective", 2, "ObjectiveSpec"),
        ("parameter_assignments", 3, "TrialSpec.ParameterAssignments"),
        ("labels", 4, "map"),
    ],
    "TrialSpec.ParameterAssignments": [("assignments", 1, "*ParameterAssignment")],
    "ParameterAssignment": [("name", 1, "string"), ("value", 2, "string")],
    "TrialStatus": [
        ("start_time", 1, "string"),
        ("completion_time", 2, "string"),
        ("condition", 3, "TrialStatus.TrialConditionType"),
        ("observation", 4, "Observation"),
    ],
    "Observation": [("metrics", 1, "*Metric")],
    "Metric": [("name", 1, "string"), ("value", 2, "string")],
    "ReportObservationLogRequest": [("trial_name", 1, "string"), ("observation_log", 2, "ObservationLog")],
    "ReportObservationLogReply": [],
    "ObservationLog": [("metric_logs", 1, "*MetricLog")],
    "MetricLog": [("time_stamp", 1, "string"), ("metric", 2, "Metric")],
    "GetObservationLogRequest": [
        ("trial_name", 1, "string"),
        ("metric_name", 2, "string"),
        ("start_time", 3, "string"),
        ("end_time", 4, "string"),
    ],
    "GetObservationLogReply": [("observation_log", 1, "ObservationLog")],
    "DeleteObservationLogRequest": [("trial_name", 1, "string")],
    "DeleteObservationLogReply": [],
    "GetSuggestionsRequest": [
        ("experiment", 1, "Experiment"),
        ("trials", 2, "*Trial"),
        ("current_request_number", 4, "int32"),
        ("total_request_number", 5, "int32"),
    ],
    "GetSuggestionsReply": [
        ("parameter_assignments", 1, "*GetSuggestionsReply.ParameterAssignments"),
        ("algorithm", 2, "AlgorithmSpec"),
        ("early_stopping_rules", 3, "*EarlyStoppingRule"),
    ],
    "GetSuggestionsReply.ParameterAssignments": [
        ("assignments", 1, "*ParameterAssignment"),
        ("trial_name", 2, "string"),
        ("labels", 3, "map"),
    ],
    "ValidateAlgorithmSettingsRequest": [("experiment", 1, "Experiment")],
    "ValidateAlgorithmSettingsReply": [],
    "GetEarlyStoppingRulesRequest": [
        ("experiment", 1, "Experiment"),
        ("trials", 2, "*Trial"),
        ("db_manager_address", 3, "string"),
    ],
    "GetEarlyStoppingRulesReply": [("early_stopping_rules", 1, "*EarlyStoppingRule")],
    "EarlyStoppingRule": [
        ("name", 1, "string"),
        ("value", 2, "string"),
        ("comparison", 3, "ComparisonType"),
        ("start_step", 4, "int32"),
    ],
    "ValidateEarlyStoppingSettingsRequest": [("early_stopping", 1, "EarlyStoppingSpec")],
    "ValidateEarlyStoppingSettingsReply": [],
    "SetTrialStatusRequest": [("trial_name", 1, "string")],
    "SetTrialStatusReply": [],
}
# service -> method -> (request, reply)
METHODS: dict[str, dict[str, tuple[str, str]]] = {
    "DBManager": {
        "ReportObservationLog": ("ReportObservationLogRequest", "ReportObservationLogReply"),
        "GetObservationLog": ("GetObservationLogRequest", "GetObservationLogReply"),
        "DeleteObservationLog": ("DeleteObservationLogRequest", "DeleteObservationLogReply"),
    },
    "Suggestion": {
        "GetSuggestions": ("GetSuggestionsRequest", "GetSuggestionsReply"),
        "ValidateAlgorithmSettings": ("ValidateAlgorithmSettingsRequest", "ValidateAlgorithmSettingsReply"),
    },
    "EarlyStopping": {
        "GetEarlyStoppingRules": ("GetEarlyStoppingRulesRequest", "GetEarlyStoppingRulesReply"),
        "SetTrialStatus": ("SetTrialStatusRequest", "SetTrialStatusReply"),
        "ValidateEarlyStoppingSettings": (
            "ValidateEarlyStoppingSettingsRequest",
            "ValidateEarlyStoppingSettingsReply",
        ),
    },
}


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name="katib_flow/katib_api.proto", package=PACKAGE, syntax="proto3")
    built: dict[str, descriptor_pb2.DescriptorProto] = {}
    for name in sorted(_MESSAGES, key=lambda n: n.count(".")):  # outer messages before their nested ones
        outer, _, short = name.rpartition(".")
        built[name] = (built[outer].nested_type if outer else proto.message_type).add(name=short)
    for name, values in _ENUMS.items():
        outer, _, short = name.rpartition(".")
        enum = (built[outer].enum_type if outer else proto.enum_type).add(name=short)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    for name, fields in _MESSAGES.items():
        message_proto = built[name]
        for field_name, number, kind in fields:
            _add_field(message_proto, name, field_name, number, kind)
    for service, methods in METHODS.items():
        service_proto = proto.service.add(name=service)
        for method, (request, reply) in methods.items():
            service_proto.method.add(name=method, input_type=f".{PACKAGE}.{request}", output_type=f".{PACKAGE}.{reply}")
    return proto


def _add_field(message_proto: descriptor_pb2.DescriptorProto, owner: str, name: str, number: int, kind: str) -> None:
    repeated = kind.startswith("*")
    kind = kind.lstrip("*")
    field = message_proto.field.add(name=name, number=number, json_name=_camel(name))
    field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
    if kind == "map":  # map<string, string>: a nested XxxEntry message with the map_entry option
        entry_name = "".join(part.capitalize() for part in name.split("_")) + "Entry"
        entry = message_proto.nested_type.add(name=entry_name)
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL, json_name="key")
        entry.field.add(name="value", number=2, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL, json_name="value")
        field.label = _F.LABEL_REPEATED
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{owner}.{entry_name}"
    elif kind in _SCALARS:
        field.type = _SCALARS[kind]
    elif kind in _ENUMS:
        field.type = _F.TYPE_ENUM
        field.type_name = f".{PACKAGE}.{kind}"
    else:
        assert kind in _MESSAGES, kind
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}.{kind}"


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())
_CLASSES: dict[str, Any] = {}


def message(name: str) -> Any:
    """The message class of ``name`` (``"GetSuggestionsRequest"``, ``"TrialStatus"``, ...)."""
    if name not in _CLASSES:
        _CLASSES[name] = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))
    return _CLASSES[name]


def enum_value(enum: str, name: str) -> int:
    """The number of value ``name`` of enum ``enum`` (``"ParameterType"``, ``"DOUBLE"``)."""
    return int(_POOL.FindEnumTypeByName(f"{PACKAGE}.{enum}").values_by_name[name].number)


def enum_name(enum: str, number: int) -> str:
    """The name of value ``number`` of enum ``enum``."""
    return str(_POOL.FindEnumTypeByName(f"{PACKAGE}.{enum}").values_by_number[number].name)
