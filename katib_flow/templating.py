"""The Jinja2 environment of every text katib-flow renders from a template (the report, tune()'s wrapper).

The templates live in the repository's top-level ``templates/`` folder, which
pyproject.toml ships inside the wheel as ``katib_flow/templates``; a source
checkout (or an editable install) reads them from the repository.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

__all__ = ["environment", "template_folder"]


def template_folder() -> Path:
    """Where the templates are: inside the installed package, else the repository's ``templates/``."""
    package = Path(__file__).resolve().parent
    for folder in (package / "templates", package.parent / "templates"):
        if (folder / "report.html.j2").is_file():
            return folder
    raise FileNotFoundError(f"katib-flow's templates are missing (looked in {package / 'templates'})")


@cache
def environment() -> jinja2.Environment:
    """HTML templates autoescaped, others verbatim; an undefined name is an error, never an empty string."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_folder()),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
