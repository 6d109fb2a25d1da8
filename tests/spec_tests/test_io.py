"""Loading and dumping Experiment YAML: errors with positions, multi-document files, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from katib_flow.exceptions import KatibFlowError, SpecError
from katib_flow.spec import (
    dump_experiment,
    dump_experiments,
    load_experiment,
    load_experiments,
    parse_documents,
    parse_experiment,
    parse_experiments,
)

from .base import BASE_YAML, base, set_


def _messages(err: SpecError) -> list[str]:
    return [str(p) for p in err.problems]


def test_malformed_yaml_reports_line_and_column() -> None:
    with pytest.raises(SpecError) as info:
        parse_experiment("apiVersion: kubeflow.org/v1beta1\nkind: Experiment\nmetadata:\n  name: [unclosed\n")
    (message,) = _messages(info.value)
    assert message.startswith("invalid YAML at line 5, column 1:")


def test_duplicate_keys_are_refused_with_their_line() -> None:
    with pytest.raises(SpecError) as info:
        parse_experiment("kind: Experiment\nspec:\n  maxTrialCount: 3\n  maxTrialCount: 4\n")
    assert _messages(info.value) == ["invalid YAML at line 4, column 3: duplicate key 'maxTrialCount'"]


def test_empty_text_is_an_error() -> None:
    with pytest.raises(SpecError, match="empty file: no experiment found"):
        parse_experiments("# only a comment\n---\n")


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("just text\n", "string"), ("42\n", "number")])
def test_non_mapping_document(text: str, kind: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_experiment(text)
    assert _messages(info.value) == [f"document 1 is a {kind}, expected a mapping (an Experiment)"]


def test_multi_document_file_yields_one_experiment_per_document() -> None:
    second = set_(base(), "metadata.name", "second")
    text = BASE_YAML + "---\n" + yaml.safe_dump(second)
    names = [e.name for e in parse_experiments(text)]
    assert names == ["base", "second"]
    with pytest.raises(SpecError, match="expected one experiment, found 2"):
        parse_experiment(text)


def test_multi_document_problems_keep_their_document_index() -> None:
    bad = set_(base(), "spec.bogus", 1)
    docs = parse_documents(BASE_YAML + "---\n" + yaml.safe_dump(bad))
    assert [d.index for d in docs] == [1, 2]
    assert docs[0].problems == []
    assert [str(p) for p in docs[1].problems] == ["spec.bogus: unknown field"]


def test_numbers_are_accepted_where_katib_wants_strings_and_written_back_as_strings() -> None:
    doc = set_(base(), "spec.parameters[0].feasibleSpace", {"min": 0.01, "max": 1, "step": 1e-05})
    doc = set_(doc, "spec.parameters[3].feasibleSpace.list", [16, 32.5])
    doc = set_(doc, "spec.algorithm.algorithmSettings", [{"name": "random_state", "value": 7}])
    exp = parse_experiment(yaml.safe_dump(doc))
    fs = exp.spec.parameters[0].feasible_space if exp.spec.parameters else None
    assert fs is not None and (fs.min, fs.max, fs.step) == ("0.01", "1", "1e-05")
    dumped = yaml.safe_load(dump_experiment(exp))
    assert dumped["spec"]["parameters"][0]["feasibleSpace"] == {"min": "0.01", "max": "1", "step": "1e-05"}
    assert dumped["spec"]["parameters"][3]["feasibleSpace"]["list"] == ["16", "32.5"]
    assert dumped["spec"]["algorithm"]["algorithmSettings"] == [{"name": "random_state", "value": "7"}]


def test_dump_quotes_number_like_strings_so_katib_reads_strings() -> None:
    text = dump_experiment(parse_experiment(BASE_YAML))
    assert "min: '0.01'" in text
    assert "- '16'" in text


def test_yaml_model_yaml_is_stable() -> None:
    once = dump_experiment(parse_experiment(BASE_YAML))
    assert dump_experiment(parse_experiment(once)) == once
    assert dump_experiments([parse_experiment(once)] * 2) == f"---\n{once}---\n{once}"


def test_unknown_field_suggests_the_close_name() -> None:
    doc = set_(base(), "spec.trialTemplate.primaryContainer", "training")
    with pytest.raises(SpecError) as info:
        parse_experiment(yaml.safe_dump(doc))
    assert "spec.trialTemplate.primaryContainer: unknown field; did you mean 'primaryContainerName'?" in _messages(
        info.value
    )


def test_kubectl_output_with_status_and_server_metadata_loads(tmp_path: Path) -> None:
    doc = base()
    doc["metadata"].update(uid="1234", resourceVersion="99", generation=2, creationTimestamp="2026-01-01T00:00:00Z")
    doc["status"] = {"conditions": [{"type": "Created", "status": "True"}], "trials": 3}
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(doc))
    exp = load_experiment(path)
    assert exp.status == doc["status"]
    assert exp.metadata.uid == "1234"


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_experiments(tmp_path / "missing.yaml")
    assert str(info.value) == f"{tmp_path / 'missing.yaml'}: no such file"
    with pytest.raises(SpecError, match="is a directory"):
        load_experiment(tmp_path)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_experiment(binary)


def test_spec_error_is_a_value_error_and_a_katib_flow_error() -> None:
    with pytest.raises(ValueError, match="empty file") as info:
        parse_experiment("")
    assert isinstance(info.value, KatibFlowError)
