"""Wire models of Katib's ``kubeflow.org/v1beta1`` Experiment.

These mirror Katib's Go types field for field: camelCase on the wire, snake_case
in Python, every field optional (defaults are applied by :mod:`.defaults`, as
Katib's mutating webhook does), unknown keys rejected. Friendly builders live in
:mod:`katib_flow.dsl`; these classes only describe the document.

Katib insists on strings for ``feasibleSpace`` bounds, lists and setting values.
A bare YAML number there is the most common mistake in hand-written experiments,
so katib-flow accepts numbers and always writes strings back.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt
from pydantic.alias_generators import to_camel

__all__ = [
    "AlgorithmSetting",
    "AlgorithmSpec",
    "CollectorSpec",
    "ConfigMapSource",
    "EarlyStoppingSetting",
    "EarlyStoppingSpec",
    "Experiment",
    "ExperimentSpec",
    "FeasibleSpace",
    "FileSystemPath",
    "FilterSpec",
    "GraphConfig",
    "HTTPGetAction",
    "HTTPHeader",
    "MetricStrategy",
    "MetricsCollectorSpec",
    "NasConfig",
    "ObjectMeta",
    "ObjectiveSpec",
    "Operation",
    "ParameterSpec",
    "SourceSpec",
    "TrialParameterSpec",
    "TrialTemplate",
]


def _number_to_str(value: object) -> object:
    # bool is an int subclass; "true" as a bound is a mistake worth reporting.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value) if isinstance(value, float) else str(value)
    return value


KubeString = Annotated[str, BeforeValidator(_number_to_str)]
"""A string field of Katib's API that also accepts a YAML number."""


class WireModel(BaseModel):
    """Base of every wire model: camelCase aliases, unknown keys forbidden."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_assignment=True,
    )


class ObjectMeta(WireModel):
    """The subset of Kubernetes ObjectMeta an Experiment document can carry."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: StrictInt | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: StrictInt | None = None
    finalizers: list[str] | None = None
    owner_references: list[dict[str, Any]] | None = None
    managed_fields: list[dict[str, Any]] | None = None
    self_link: str | None = None


class MetricStrategy(WireModel):
    name: str | None = None
    value: str | None = None


class ObjectiveSpec(WireModel):
    type: str | None = None
    goal: float | None = None
    objective_metric_name: str | None = None
    additional_metric_names: list[str] | None = None
    metric_strategies: list[MetricStrategy] | None = None


class AlgorithmSetting(WireModel):
    name: str | None = None
    value: KubeString | None = None


class AlgorithmSpec(WireModel):
    algorithm_name: str | None = None
    algorithm_settings: list[AlgorithmSetting] | None = None


class EarlyStoppingSetting(WireModel):
    name: str | None = None
    value: KubeString | None = None


class EarlyStoppingSpec(WireModel):
    algorithm_name: str | None = None
    algorithm_settings: list[EarlyStoppingSetting] | None = None


class FeasibleSpace(WireModel):
    # Field order is the order YAML is written in (min before max, as people write it).
    min: KubeString | None = None
    max: KubeString | None = None
    step: KubeString | None = None
    # "list" on the wire; not a Python attribute name that shadows the builtin.
    values: list[KubeString] | None = Field(default=None, alias="list")
    distribution: str | None = None


class ParameterSpec(WireModel):
    name: str | None = None
    parameter_type: str | None = None
    feasible_space: FeasibleSpace | None = None


class TrialParameterSpec(WireModel):
    name: str | None = None
    description: str | None = None
    reference: str | None = None


class ConfigMapSource(WireModel):
    config_map_name: str | None = None
    config_map_namespace: str | None = None
    template_path: str | None = None


class TrialTemplate(WireModel):
    primary_container_name: str | None = None
    primary_pod_labels: dict[str, str] | None = None
    success_condition: str | None = None
    failure_condition: str | None = None
    retain: StrictBool | None = None
    trial_parameters: list[TrialParameterSpec] | None = None
    trial_spec: dict[str, Any] | None = None
    config_map: ConfigMapSource | None = None


class HTTPHeader(WireModel):
    name: str | None = None
    value: str | None = None


class HTTPGetAction(WireModel):
    path: str | None = None
    port: StrictInt | str | None = None
    host: str | None = None
    scheme: str | None = None
    http_headers: list[HTTPHeader] | None = None


class FileSystemPath(WireModel):
    path: str | None = None
    kind: str | None = None
    format: str | None = None


class FilterSpec(WireModel):
    metrics_format: list[str] | None = None


class SourceSpec(WireModel):
    http_get: HTTPGetAction | None = None
    file_system_path: FileSystemPath | None = None
    filter: FilterSpec | None = None


class CollectorSpec(WireModel):
    kind: str | None = None
    custom_collector: dict[str, Any] | None = None


class MetricsCollectorSpec(WireModel):
    source: SourceSpec | None = None
    collector: CollectorSpec | None = None


class GraphConfig(WireModel):
    num_layers: StrictInt | None = None
    input_sizes: list[StrictInt] | None = None
    output_sizes: list[StrictInt] | None = None


class Operation(WireModel):
    operation_type: str | None = None
    parameters: list[ParameterSpec] | None = None


class NasConfig(WireModel):
    graph_config: GraphConfig | None = None
    operations: list[Operation] | None = None


class ExperimentSpec(WireModel):
    objective: ObjectiveSpec | None = None
    algorithm: AlgorithmSpec | None = None
    early_stopping: EarlyStoppingSpec | None = None
    parallel_trial_count: StrictInt | None = None
    max_trial_count: StrictInt | None = None
    max_failed_trial_count: StrictInt | None = None
    resume_policy: str | None = None
    metrics_collector_spec: MetricsCollectorSpec | None = None
    parameters: list[ParameterSpec] | None = None
    nas_config: NasConfig | None = None
    trial_template: TrialTemplate | None = None


class Experiment(WireModel):
    """A whole Experiment document (``apiVersion``, ``kind``, ``metadata``, ``spec``).

    ``status`` is carried through untouched so that ``kubectl get -o yaml``
    output loads; katib-flow computes its own status and never reads this one.
    """

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ExperimentSpec = Field(default_factory=ExperimentSpec)
    status: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.metadata.name or ""

    @property
    def namespace(self) -> str | None:
        return self.metadata.namespace

    def to_dict(self) -> dict[str, Any]:
        """The document as plain data with Katib's keys, omitting unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")
