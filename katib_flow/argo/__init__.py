"""The Argo driver: experiments compiled into Argo Workflows (in progress; see docs/cluster-steps.md)."""

from __future__ import annotations

from .conditions import ArgoConditions, translate

__all__ = ["ArgoConditions", "translate"]
