"""The cluster driver: the steps a compiled Argo Workflow runs, over the same engine as the local runner."""

from __future__ import annotations

from .steps import Decision, Result, Suggestion, collect_step, decide_step, finish_step, init_step, suggest_step

__all__ = [
    "Decision",
    "Result",
    "Suggestion",
    "collect_step",
    "decide_step",
    "finish_step",
    "init_step",
    "suggest_step",
]
