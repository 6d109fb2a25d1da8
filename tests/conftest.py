"""Shared fixtures: Katib's own examples live beside the project, in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
KATIB_EXAMPLES = SHARED / "katib-examples"


def katib_example_files() -> list[Path]:
    """Katib's example experiments, or an empty list when ../shared is absent."""
    return sorted(KATIB_EXAMPLES.glob("*.yaml")) if KATIB_EXAMPLES.is_dir() else []


@pytest.fixture
def katib_examples() -> list[Path]:
    files = katib_example_files()
    if not files:
        pytest.skip(f"Katib examples not found at {KATIB_EXAMPLES}")
    return files
