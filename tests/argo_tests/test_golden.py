"""Golden Workflows: compiled YAML checked in, so any change of the compiler's output shows in review.

Regenerate with ``KATIB_FLOW_UPDATE_GOLDEN=1 python -m pytest tests/argo_tests/test_golden.py``.
The project's examples are stored as YAML. Katib's own examples are data from ../shared that the
project must not copy, and a compiled Workflow embeds its experiment, so for those only the
SHA-256 of the compiled YAML is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from katib_flow.argo.compiler import compile_workflow
from katib_flow.exceptions import CompileError
from katib_flow.spec import load_experiment

from ..conftest import PROJECT_ROOT, katib_example_files
from .workflow_checks import schema_errors, semantic_errors

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("KATIB_FLOW_UPDATE_GOLDEN") == "1"
PROJECT_EXAMPLES = {
    "quickstart": PROJECT_ROOT / "examples" / "quickstart" / "experiment.yaml",
    "digits-grid": PROJECT_ROOT / "examples" / "digits" / "grid.yaml",
    "digits-hyperband": PROJECT_ROOT / "examples" / "digits" / "hyperband.yaml",
}
DIGESTS = GOLDEN / "katib-examples.sha256.json"


@pytest.mark.parametrize("name", sorted(PROJECT_EXAMPLES))
def test_project_examples_match_their_golden_workflow(name: str) -> None:
    _matches_golden(name, compile_workflow(load_experiment(PROJECT_EXAMPLES[name])).to_yaml())


def _matches_golden(name: str, text: str) -> dict[str, Any]:
    """Check ``text`` against ``golden/<name>.yaml`` (rewritten with KATIB_FLOW_UPDATE_GOLDEN=1), and Argo's rules."""
    import yaml

    golden = GOLDEN / f"{name}.yaml"
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text(), f"{golden.name} differs: regenerate with KATIB_FLOW_UPDATE_GOLDEN=1"
    document: dict[str, Any] = yaml.safe_load(text)
    assert schema_errors(document) == [] and semantic_errors(document) == []
    return document


def test_katib_examples_match_their_golden_digests() -> None:
    files = katib_example_files()
    if not files:
        pytest.skip("../shared/katib-examples is absent")
    digests: dict[str, str] = {}
    for path in files:
        try:
            text = compile_workflow(load_experiment(path)).to_yaml()
        except CompileError as err:
            text = "refused:\n" + str(err)
        digests[path.name] = hashlib.sha256(text.encode()).hexdigest()
    if UPDATE:
        DIGESTS.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    stored = json.loads(DIGESTS.read_text())
    changed = sorted(name for name in digests if stored.get(name) != digests[name])
    assert changed == [], f"compiled output changed for {changed}: regenerate with KATIB_FLOW_UPDATE_GOLDEN=1"


def _trial_kind_experiments() -> dict[str, dict[str, object]]:
    from ..spec_tests.test_template_source import configmap_experiment
    from ..trial_kinds import ARGO_WORKFLOW, TRAIN_JOB, experiment_with

    return {
        "trial-argo-workflow": experiment_with(ARGO_WORKFLOW, "argo-trials"),
        "trial-trainjob": experiment_with(TRAIN_JOB, "trainjob-trials"),
        "trial-configmap": configmap_experiment("configmap-trials")[0],
    }


@pytest.mark.parametrize("name", ["trial-argo-workflow", "trial-trainjob", "trial-configmap"])
def test_trial_kinds_match_their_golden_workflow(name: str) -> None:
    import yaml

    from katib_flow.spec import parse_experiment

    experiment = parse_experiment(yaml.safe_dump(_trial_kind_experiments()[name]))
    document = _matches_golden(name, compile_workflow(experiment).to_yaml())
    assert "wait-trial" in {t["name"] for t in document["spec"]["templates"]}
