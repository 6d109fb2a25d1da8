"""The wheel: every package of katib_flow/ is listed, and the top-level templates/ ship as katib_flow/templates."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_in_pyproject() -> None:
    # [tool.setuptools] packages = [...] read as text: tomllib is Python 3.11's and 3.10 is supported
    block = (ROOT / "pyproject.toml").read_text().split("\npackages = [", 1)[1].split("]", 1)[0]
    listed = set(re.findall(r'"([\w.]+)"', block))
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "katib_flow").rglob("__init__.py")}
    assert found | {"katib_flow.templates"} == listed


def test_the_wheel_carries_the_templates_and_renders_from_them(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("katib_flow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    templates = sorted(p.name for p in (ROOT / "templates").iterdir())
    assert sorted(n.removeprefix("katib_flow/templates/") for n in names if n.startswith("katib_flow/templates/")) == (
        templates
    )
    # Installed from the wheel (here: unpacked), the package finds the templates inside itself.
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    where = subprocess.run(
        [sys.executable, "-c", "from katib_flow.templating import template_folder; print(template_folder())"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == unpacked / "katib_flow" / "templates"
