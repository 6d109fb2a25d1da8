"""Imports: every package imports on its own (no hidden cycles), and the command line starts light."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import click
import pytest

import katib_flow

PACKAGES = sorted(
    name for _, name, is_package in pkgutil.walk_packages(katib_flow.__path__, "katib_flow.") if is_package
)


@pytest.mark.parametrize("package", ["katib_flow", *PACKAGES, "katib_flow.space", "katib_flow.settings"])
def test_each_package_imports_first(package: str) -> None:
    # A fresh interpreter: with `import katib_flow` no longer importing everything, an import
    # cycle shows up only when its package is the first thing imported.
    result = subprocess.run([sys.executable, "-c", f"import {package}"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_command_line_and_the_package_import_nothing_heavy() -> None:
    probe = (
        "import sys, katib_flow.cli, katib_flow; "
        "print(sorted(m for m in ('sqlalchemy', 'pydantic', 'numpy', 'hera', 'kubernetes', 'optuna', 'rich') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_public_names_resolve_lazily() -> None:
    probe = "import katib_flow as k; print(all(getattr(k, n) is not None for n in k.__all__))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        katib_flow.nope  # noqa: B018


def test_the_command_lines_service_variables_are_the_packages() -> None:
    from katib_flow.algorithms import SUGGESTION_SERVICES_ENV
    from katib_flow.cli import run_command
    from katib_flow.earlystopping import EARLY_STOPPING_SERVICES_ENV

    helps = " ".join(p.help or "" for p in run_command.params if isinstance(p, click.Option))
    assert f"${SUGGESTION_SERVICES_ENV} " in helps and f"${EARLY_STOPPING_SERVICES_ENV} " in helps
