"""Katib's own example experiments load, validate, default and round-trip unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from katib_flow.spec import apply_defaults, dump_experiment, load_experiment, parse_experiment, validate
from katib_flow.spec import constants as c

from ..conftest import katib_example_files

EXAMPLES = katib_example_files()
IDS = [p.stem for p in EXAMPLES]
needs_examples = pytest.mark.skipif(not EXAMPLES, reason="../shared/katib-examples is absent")


@needs_examples
@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_katib_example_is_valid(path: Path) -> None:
    assert validate(load_experiment(path)) == []


@needs_examples
@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_load_dump_load_is_identity(path: Path) -> None:
    first = load_experiment(path)
    text = dump_experiment(first)
    assert parse_experiment(text) == first
    # And the dump keeps every key of the original document, value for value.
    assert yaml.safe_load(text) == yaml.safe_load(path.read_text())


@needs_examples
@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_defaulted_example_is_still_valid_and_stable(path: Path) -> None:
    defaulted = apply_defaults(load_experiment(path))
    assert validate(defaulted) == []
    assert apply_defaults(defaulted) == defaulted
    assert parse_experiment(dump_experiment(defaulted)) == defaulted


@needs_examples
def test_defaults_per_trial_kind(katib_examples: list[Path]) -> None:
    by_name = {p.stem: apply_defaults(load_experiment(p)) for p in katib_examples}
    job = by_name["random"].spec.trial_template
    assert job is not None
    assert job.success_condition == c.DEFAULT_JOB_SUCCESS_CONDITION
    assert job.failure_condition == c.DEFAULT_JOB_FAILURE_CONDITION
    assert job.primary_pod_labels is None
    pytorch = by_name["pytorchjob-mnist"].spec.trial_template
    assert pytorch is not None
    assert pytorch.success_condition == c.DEFAULT_KUBEFLOW_JOB_SUCCESS_CONDITION
    assert pytorch.primary_pod_labels == {"training.kubeflow.org/job-role": "master"}
    tfjob = by_name["tfjob-mnist-with-summaries"].spec.trial_template
    assert tfjob is not None
    # A user's primaryPodLabels are kept, not replaced by the default.
    assert tfjob.primary_pod_labels == {"training.kubeflow.org/replica-type": "worker"}


@needs_examples
def test_collector_defaults_of_examples(katib_examples: list[Path]) -> None:
    by_name = {p.stem: apply_defaults(load_experiment(p)) for p in katib_examples}
    stdout = by_name["random"].spec.metrics_collector_spec
    assert stdout is not None and stdout.collector is not None
    assert stdout.collector.kind == "StdOut"
    file_mc = by_name["file-metrics-collector"].spec.metrics_collector_spec
    assert file_mc is not None and file_mc.source is not None and file_mc.source.file_system_path is not None
    assert file_mc.source.file_system_path.path == "/katib/mnist.log"
    assert file_mc.source.file_system_path.format == "TEXT"
    tf = by_name["tfjob-mnist-with-summaries"].spec.metrics_collector_spec
    assert tf is not None and tf.source is not None and tf.source.file_system_path is not None
    assert tf.source.file_system_path.kind == "Directory"
    assert tf.source.file_system_path.format is None
