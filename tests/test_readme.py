"""The README's examples run as written: its validate sessions, its DSL snippet and its tune() snippet."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)
CONSOLE = [body for kind, body in BLOCKS if kind == "console" and body.startswith("$ katib-flow validate")]
PYTHON = {body.split("\n", 1)[0]: body for kind, body in BLOCKS if kind == "python"}


@pytest.mark.parametrize("session", CONSOLE, ids=lambda s: s.split("\n", 1)[0])
def test_validate_sessions_print_what_the_readme_shows(session: str) -> None:
    command, *expected = session.strip("\n").splitlines()
    result = subprocess.run(
        [sys.executable, "-m", "katib_flow.cli", *command.removeprefix("$ katib-flow ").split()],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert (result.stdout + result.stderr).splitlines() == expected
    assert result.returncode == (2 if "broken" in command else 0)


def test_the_dsl_snippet_prints_the_quickstart_yaml() -> None:
    snippet = PYTHON["from katib_flow import Experiment, algorithm, minimize, search"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(snippet, "README.md", "exec"), {})
    assert printed.getvalue() == (PROJECT_ROOT / "examples" / "quickstart" / "experiment.yaml").read_text()


def test_the_tune_snippet_runs_as_written(tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(PYTHON["from katib_flow import search, tune"])
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\{'C': [0-9.e-]+\} 0\.9\d+\n", result.stdout), result.stdout
