"""``katib-flow validate`` as a user runs it: a real process, its exit code, stdout and stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import katib_example_files
from ..spec_tests.base import BASE_YAML, base, set_


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "katib_flow.cli", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.mark.skipif(not katib_example_files(), reason="../shared/katib-examples is absent")
def test_every_katib_example_is_valid() -> None:
    files = [str(p) for p in katib_example_files()]
    result = _run("validate", *files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{f}: valid" for f in files]
    assert result.stderr == ""


def test_one_line_per_problem_with_field_path_and_exit_2(tmp_path: Path) -> None:
    doc = set_(base(), "spec.parameters[1].feasibleSpace", {"min": "5", "max": "1"})
    doc = set_(doc, "spec.maxTrialCount", 0)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = _run("validate", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}: spec.maxTrialCount: must be greater than 0 (got 0)",
        f"{path}: spec.parameters[1].feasibleSpace.min: must be less than or equal to max (got 5 > 1)",
    ]


def test_valid_and_invalid_files_together(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(BASE_YAML)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(set_(base(), "kind", "Suggestion")))
    result = _run("validate", str(good), str(bad))
    assert result.returncode == 2
    assert result.stdout == f"{good}: valid\n"
    assert result.stderr == f"{bad}: kind: must be Experiment (got 'Suggestion')\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "kind: Experiment\nspec: [a\n",
            "invalid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'",
        ),
        ("", "empty file: no experiment found"),
        ("- 1\n- 2\n", "document 1 is a list, expected a mapping (an Experiment)"),
        ("kind: Experiment\nkind: Trial\n", "invalid YAML at line 2, column 1: duplicate key 'kind'"),
    ],
    ids=["malformed", "empty", "list", "duplicate-key"],
)
def test_unreadable_documents_get_one_clear_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(content)
    result = _run("validate", str(path))
    assert result.returncode == 2
    assert result.stderr == f"{path}: {expected}\n"
    assert "Traceback" not in result.stderr


def test_missing_file(tmp_path: Path) -> None:
    result = _run("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert result.stderr == f"{tmp_path / 'nope.yaml'}: no such file\n"


def test_multi_document_file_labels_each_document(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(BASE_YAML + "---\n" + yaml.safe_dump(set_(base(), "metadata.name", "Second")))
    result = _run("validate", str(path))
    assert result.returncode == 2
    assert result.stdout == f"{path}[1]: valid\n"
    assert result.stderr.startswith(f"{path}[2]: metadata.name: must consist of lower case")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("a: [\n")
    quiet = _run("validate", str(path))
    loud = _run("--debug", "validate", str(path))
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr and "SpecError" in loud.stderr
    assert loud.returncode == quiet.returncode == 2


def test_json_output(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(set_(base(), "spec.resumePolicy", "Sometimes")))
    result = _run("validate", "-o", "json", str(path))
    assert result.returncode == 2
    assert json.loads(result.stdout) == [
        {
            "source": str(path),
            "name": "base",
            "valid": False,
            "problems": [
                {
                    "path": "spec.resumePolicy",
                    "message": "invalid resumePolicy 'Sometimes' (one of Never, LongRunning, FromVolume)",
                }
            ],
        }
    ]


def test_help_and_version() -> None:
    help_text = _run("validate", "--help").stdout
    assert "Exit status: 0 when every experiment is valid, 2 otherwise." in help_text
    assert _run("--version").stdout.startswith("katib-flow, version ")


def test_no_arguments_is_a_usage_error() -> None:
    result = _run("validate")
    assert result.returncode == 2
    assert "Missing argument 'FILES...'" in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "katib-flow"
    if not script.exists():
        pytest.skip("katib-flow is not installed in this interpreter's environment")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "validate" in result.stdout


def test_compile_options_for_algorithm_services_reach_the_workflow(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from katib_flow.cli import main

    from ..conftest import PROJECT_ROOT

    args = [
        "compile", str(PROJECT_ROOT / "examples/quickstart/experiment.yaml"), "-o", str(tmp_path / "w.yaml"),
        "--suggestion-service", "random=katib-random:6789",
        "--suggestion-image", "tpe=registry.local/tpe:1",
        "--early-stopping-service", "medianstop=median:6789",
        "--step-cpu", "200m:2",
        "--experiment-deadline", "86400",
        "--template",
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    template_document = next(yaml.safe_load_all((tmp_path / "w.yaml").read_text()))
    templates = {t["name"]: t for t in template_document["spec"]["templates"]}
    assert templates["finish"]["container"]["args"][-4:-2] == ["--deadline-seconds", "86400"]
    (daemon,) = [t for t in templates.values() if t.get("daemon")]
    assert daemon["container"]["image"] == "registry.local/tpe:1"
    env = {e["name"]: e for e in templates["suggest"]["container"]["env"]}
    assert env["KATIB_FLOW_SUGGESTION_SERVICES"]["value"] == "{{inputs.parameters.services}}"
    assert env["KATIB_FLOW_EARLY_STOPPING_SERVICES"]["value"] == "medianstop=median:6789"
    generation = templates["generation"]
    (init,) = [s for group in generation["steps"] for s in group if s["name"] == "init"]
    services = {p["name"]: p["value"] for p in init["arguments"]["parameters"]}["services"]
    assert services == "random=katib-random:6789,tpe={{steps.algorithm-0.ip}}:6789"
    assert templates["init"]["container"]["resources"]["limits"]["cpu"] == "2"


def test_a_malformed_service_on_compile_names_its_own_option() -> None:
    from click.testing import CliRunner

    from katib_flow.cli import main

    from ..conftest import PROJECT_ROOT

    example = str(PROJECT_ROOT / "examples/quickstart/experiment.yaml")
    result = CliRunner().invoke(main, ["compile", example, "--early-stopping-service", "medianstop=median"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "katib-flow: --early-stopping-service: 'medianstop=median': expected NAME=HOST:PORT "
        "(e.g. random=katib-random:6789)"
    )
