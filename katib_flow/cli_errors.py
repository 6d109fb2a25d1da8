"""Exit codes and error reporting shared by every ``katib-flow`` command.

Exit codes are a contract: 0 success, 2 bad input (one line per problem, each
with its field path), 1 anything else. Tracebacks only with ``--debug``. The
user-facing commands report every katib-flow error with 2 (the user must act);
the Workflow steps keep 2 for bad input only, so Argo retries the rest.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .exceptions import ExperimentStalledError, KatibFlowError, SpecError

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "EXIT_STALLED", "guarded", "step_guarded"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_STALLED = 3  # a Workflow step that a retry cannot help (ExperimentStalledError)

F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Turn katib-flow errors into one line per problem and exit code 2."""
    return _reporting(fn, KatibFlowError)


def step_guarded(fn: F) -> F:
    """For the Workflow's steps: exit code 2 for bad input (SpecError), 3 for a stalled experiment, else 1.

    Argo retries a step unless it exited 2 or 3 (``argo/step_pods.py``): an
    unreachable database or Kubernetes API is worth a retry, a wrong experiment is not.
    """
    return _reporting(fn, SpecError)


def _reporting(fn: F, invalid: type[KatibFlowError]) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            return fn(*args, **kwargs)
        except KatibFlowError as err:
            if debug:
                traceback.print_exc()
            for line in str(err).splitlines():
                click.echo(f"katib-flow: {line}", err=True)
            if isinstance(err, invalid):
                sys.exit(EXIT_INVALID)
            sys.exit(EXIT_STALLED if isinstance(err, ExperimentStalledError) else EXIT_FAILED)

    return wrapper  # type: ignore[return-value]
