"""What every katib-flow step pod carries: resources, a restricted security context, a bounded retry.

- **Resources**: requests and limits on each step container (``--step-cpu``,
  ``--step-memory``), so a namespace with a LimitRange or a ResourceQuota that
  demands them admits the pods.
- **Security**: Pod Security "restricted" (runAsNonRoot, no privilege
  escalation, all capabilities dropped, seccomp RuntimeDefault) on the step's
  container and, as the template's pod security context, on the pod. Argo's
  own ``init``/``wait`` containers take theirs from the controller's
  ``executor.securityContext`` setting; a resource template's executor gets
  Argo's minimal restricted context by itself (``workflow/controller/workflowpod.go``).
- **Retries**: three, backing off from 5 s, but not after exit code 2 (bad
  input: the same input fails the same way) or 3 (an experiment that cannot
  complete any more, :class:`~katib_flow.exceptions.ExperimentStalledError`).
  Argo evaluates ``retryStrategy.expression`` with ``lastRetry.exitCode``
  after the retry policy (``workflow/controller/operator.go``, ``processNodeRetries``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hera.workflows import RetryStrategy
from hera.workflows import models as m

__all__ = ["NO_RETRY_EXIT_CODES", "StepResources", "parse_quantity_pair", "pod_security", "retry", "step_security"]

NO_RETRY_EXIT_CODES = (2, 3)  # bad input, a stalled experiment (cli_errors.step_guarded)
_QUANTITY = re.compile(r"^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e\d+)?$")
STEP_USER = 1000  # the image's USER (algorithms/katib-flow/Dockerfile)


@dataclass(frozen=True)
class StepResources:
    """Requests and limits of each step container (Kubernetes quantities)."""

    cpu_request: str = "100m"
    cpu_limit: str = "1"
    memory_request: str = "256Mi"
    memory_limit: str = "1Gi"

    def __post_init__(self) -> None:
        for field, value in vars(self).items():
            if not _QUANTITY.match(value):
                raise ValueError(f"{field.replace('_', ' ')} {value!r} is not a Kubernetes quantity (e.g. 500m, 1Gi)")

    def requirements(self) -> m.ResourceRequirements:
        return m.ResourceRequirements(
            requests={"cpu": m.Quantity(self.cpu_request), "memory": m.Quantity(self.memory_request)},
            limits={"cpu": m.Quantity(self.cpu_limit), "memory": m.Quantity(self.memory_limit)},
        )


def parse_quantity_pair(text: str, what: str) -> tuple[str, str]:
    """``REQUEST[:LIMIT]`` (a limit defaults to the request); ValueError naming ``what`` when malformed."""
    request, _, limit = text.partition(":")
    limit = limit or request
    for value in (request, limit):
        if not _QUANTITY.match(value):
            raise ValueError(f"{what} {value!r} is not a Kubernetes quantity (e.g. 500m, 1Gi)")
    return request, limit


def step_security() -> m.SecurityContext:
    """The container security context Pod Security "restricted" asks for."""
    return m.SecurityContext(
        run_as_non_root=True,
        run_as_user=STEP_USER,
        allow_privilege_escalation=False,
        capabilities=m.Capabilities(drop=["ALL"]),
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )


def pod_security() -> m.PodSecurityContext:
    """The pod security context of every katib-flow template (also the resource templates' pods)."""
    return m.PodSecurityContext(
        run_as_non_root=True,
        run_as_user=STEP_USER,
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )


def retry() -> RetryStrategy:
    """Three retries of anything but bad input, backing off 5 s, 10 s, 20 s."""
    return RetryStrategy(
        limit=3,
        retry_policy="Always",
        backoff=m.Backoff(duration="5s", factor=m.IntOrString(2)),
        expression=" && ".join(f"asInt(lastRetry.exitCode) != {code}" for code in NO_RETRY_EXIT_CODES),
    )
