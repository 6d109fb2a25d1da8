"""The Argo driver: experiments compiled into Argo Workflows with Hera (see docs/cluster.md)."""

from __future__ import annotations

from .compiler import CompileOptions, compile_template, compile_workflow
from .conditions import ArgoConditions, translate
from .embed import hpo_template_ref, hpo_templates

__all__ = [
    "ArgoConditions",
    "CompileOptions",
    "compile_template",
    "compile_workflow",
    "hpo_template_ref",
    "hpo_templates",
    "translate",
]
