"""Watching an experiment's generations from generation 0's ``finish --wait``, so it never waits forever.

Generation 0 waits in ``finish --wait`` while its successors (Workflows
labelled ``katib-flow/chain=<generation 0's name>``) run the rest of the
experiment. Two ways that wait could hang are detected here:

- **No generation is alive.** A generation failed (a step out of retries, a
  deleted Workflow) and created no successor: nothing will complete the
  experiment. ``finish`` fails with the last generation's phase and message;
  resubmitting the Workflow continues the experiment.
- **The newest generation never starts.** Argo's controller ``parallelism``
  (or a namespace's) holds a successor Pending while generation 0 occupies a
  slot waiting for it: a deadlock. After ``stall_seconds`` without a running
  generation, ``finish`` fails and says so.

An overall deadline bounds the wait too. The Workflow's phase is the one the
controller writes (``status.phase``: Pending, Running, Succeeded, Failed,
Error; empty before the controller has seen it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ExperimentStalledError
from .kube import KubernetesApi

__all__ = ["CHAIN_LABEL", "GenerationWatch"]

CHAIN_LABEL = "katib-flow/chain"
_ALIVE = ("", "Pending", "Running")


@dataclass
class GenerationWatch:
    """Called between two polls of ``finish --wait``; raises :class:`ExperimentStalledError` when waiting is futile."""

    api: KubernetesApi | None  # None: only the deadline is watched
    namespace: str
    chain: str
    experiment: str
    stall_seconds: float = 900.0
    deadline_seconds: float | None = None
    clock: Callable[[], float] = time.monotonic
    _started: float | None = field(default=None, init=False)
    _last_running: float | None = field(default=None, init=False)
    _dead_polls: int = field(default=0, init=False)

    def __call__(self) -> None:
        now = self.clock()
        if self._started is None:
            self._started = self._last_running = now
        assert self._last_running is not None
        if self.deadline_seconds is not None and now - self._started > self.deadline_seconds:
            raise ExperimentStalledError(
                f"experiment {self.experiment!r} did not complete within {self.deadline_seconds:g} s"
            )
        if self.api is None:
            return
        generations = self._generations()
        phases = [str(w.get("status", {}).get("phase") or "") for w in generations]
        if "Running" in phases:
            self._last_running, self._dead_polls = now, 0
            return
        if any(phase in _ALIVE for phase in phases):
            self._dead_polls = 0
            if now - self._last_running > self.stall_seconds:
                newest = generations[-1]
                raise ExperimentStalledError(
                    f"generation {_name(newest)} of experiment {self.experiment!r} has not started in "
                    f"{self.stall_seconds:g} s ({_message(newest) or 'Pending'}); a controller or namespace "
                    "parallelism limit counts this waiting generation 0 too: raise the limit, or run the "
                    "experiment's WorkflowTemplate from a Workflow that does not wait"
                )
            return
        # Two polls in a row, so a successor being created right now is not missed.
        self._dead_polls += 1
        if self._dead_polls < 2:
            return
        last = f"; the last, {_name(generations[-1])}, ended {phases[-1]}" if generations else ""
        detail = f": {_message(generations[-1])}" if generations and _message(generations[-1]) else ""
        raise ExperimentStalledError(
            f"no generation of experiment {self.experiment!r} is running and it is not completed{last}{detail}; "
            "resubmit the Workflow to continue it"
        )

    def _generations(self) -> list[dict[str, Any]]:
        from ..kubeapi import retrying

        path = f"/apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/workflows"
        query = {"labelSelector": f"{CHAIN_LABEL}={self.chain}"}
        api = self.api
        assert api is not None
        answer = retrying(lambda: api.request("GET", path, query=query))
        items = list((answer or {}).get("items", []))
        return sorted(items, key=lambda w: int(w.get("metadata", {}).get("labels", {}).get(_GENERATION, "0") or 0))


_GENERATION = "katib-flow/generation"


def _name(workflow: dict[str, Any]) -> str:
    return str(workflow.get("metadata", {}).get("name", "?"))


def _message(workflow: dict[str, Any]) -> str:
    return str(workflow.get("status", {}).get("message") or "")
