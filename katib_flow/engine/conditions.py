"""Katib's experiment conditions: types, reasons and messages, as Katib writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .clock import rfc3339

__all__ = ["Reason", "current_condition", "final_condition", "set_condition"]

# The condition types in the order that says where an experiment stands: an end first, then running.
_STANDING = ("Succeeded", "Failed", "Running", "Restarting", "Created")


class Reason:
    CREATED = ("Created", "ExperimentCreated", "Experiment is created")
    RUNNING = ("Running", "ExperimentRunning", "Experiment is running")
    RESTARTING = ("Restarting", "ExperimentRestarting", "Experiment is restarting")
    GOAL_REACHED = ("Succeeded", "ExperimentGoalReached", "Experiment has succeeded because Objective goal has reached")
    MAX_TRIALS = (
        "Succeeded",
        "ExperimentMaxTrialsReached",
        "Experiment has succeeded because max trial count has reached",
    )
    SUGGESTION_END = (
        "Succeeded",
        "ExperimentSuggestionEndReached",
        "Experiment has succeeded because suggestion service has reached the end",
    )
    FAILED = ("Failed", "ExperimentFailed", "Experiment has failed because max failed count has reached")


def set_condition(
    conditions: list[dict[str, Any]], reason: tuple[str, str, str], at: datetime, status: str = "True"
) -> list[dict[str, Any]]:
    """A new conditions list with ``reason``'s type set (Katib keeps one entry per type).

    Setting Succeeded or Failed turns Running off; setting Running turns Restarting off.
    """
    ctype, why, message = reason
    stamp = rfc3339(at)
    out = []
    for cond in conditions:
        cond = dict(cond)
        off = (ctype in ("Succeeded", "Failed") and cond["type"] == "Running") or (
            ctype == "Running" and cond["type"] == "Restarting"
        )
        if off and cond["status"] == "True":
            cond.update(status="False", lastUpdateTime=stamp, lastTransitionTime=stamp)
        if cond["type"] != ctype:
            out.append(cond)
    out.append(
        {
            "type": ctype,
            "status": status,
            "reason": why,
            "message": message,
            "lastUpdateTime": stamp,
            "lastTransitionTime": stamp,
        }
    )
    return out


def current_condition(conditions: list[dict[str, Any]], types: tuple[str, ...] = _STANDING) -> dict[str, Any] | None:
    """The first condition of ``types`` (in that order) whose status is True."""
    for ctype in types:
        for cond in conditions:
            if cond.get("type") == ctype and cond.get("status") == "True":
                return cond
    return None


def final_condition(conditions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Succeeded or Failed condition that holds, if the experiment has ended."""
    return current_condition(conditions, ("Succeeded", "Failed"))
