"""Exit codes and error reporting shared by every ``katib-flow`` command.

Exit codes are a contract: 0 success, 2 bad input (one line per problem, each
with its field path), 1 anything else. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .exceptions import KatibFlowError

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "guarded"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2

F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Turn katib-flow errors into one line per problem and exit code 2."""

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
            sys.exit(EXIT_INVALID)

    return wrapper  # type: ignore[return-value]
