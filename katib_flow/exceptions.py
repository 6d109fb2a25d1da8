"""The katib-flow exception tree.

Every error katib-flow raises on purpose derives from :class:`KatibFlowError`.
Subclasses also inherit the builtin that matches their meaning (as Optuna's
exceptions do), so ``except ValueError`` keeps working for callers that do not
know katib-flow.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ClusterError",
    "CollectorError",
    "CompileError",
    "ExperimentExistsError",
    "ExperimentFailedError",
    "ExperimentInterrupted",
    "ExperimentStalledError",
    "InvalidSettingsError",
    "KatibFlowError",
    "MetricsGoneError",
    "Problem",
    "SpecError",
    "StorageError",
    "TrialExecutionError",
    "TrialFailure",
    "UnknownAlgorithmError",
]


@dataclass(frozen=True, order=True)
class Problem:
    """One defect in an experiment: where it is and what is wrong.

    ``path`` is a Kubernetes-style field path such as
    ``spec.parameters[1].feasibleSpace.min``; an empty path means the document
    as a whole.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """A "; did you mean 'x'?" suffix for an unknown name, or an empty string."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not found and len(word) >= 3:
        # A truncated name ("bayesian") is too short for a similarity ratio but unambiguous as a prefix.
        found = [c for c in candidates if c.lower().startswith(word.lower())][:1]
    return f"; did you mean {found[0]!r}?" if found else ""


def check_choice(option: str, value: object, allowed: Sequence[str]) -> None:
    """Raise :class:`SpecError` naming ``option`` unless ``value`` is one of ``allowed`` (with a "did you mean")."""
    if value in allowed:
        return
    listing = ", ".join(repr(a) for a in allowed)
    raise SpecError.single(option, f"must be one of {listing} (got {value!r}){did_you_mean(str(value), allowed)}")


class KatibFlowError(Exception):
    """Root of every error katib-flow raises on purpose."""


class SpecError(KatibFlowError, ValueError):
    """An experiment (or a part of it) is invalid.

    Carries every problem found, not only the first one, so a user can fix a
    file in one pass.
    """

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        if not self.problems:
            return f"{prefix}invalid experiment"
        return "\n".join(f"{prefix}{p}" for p in self.problems)

    @classmethod
    def single(cls, path: str, message: str) -> SpecError:
        """An error with one problem."""
        return cls([Problem(path, message)])

    @property
    def path(self) -> str:
        """Field path of the first problem (convenient when there is one)."""
        return self.problems[0].path if self.problems else ""


class CompileError(SpecError):
    """A valid experiment that cannot be compiled into an Argo Workflow (yet); one problem per field."""


class UnknownAlgorithmError(SpecError, KeyError):
    """An algorithm or early-stopping name that no registered plugin serves."""

    def __str__(self) -> str:
        # KeyError would otherwise quote the message.
        return self._render()


class InvalidSettingsError(SpecError):
    """Algorithm or early-stopping settings that the chosen plugin rejects."""


class CollectorError(KatibFlowError, ValueError):
    """A metrics collector could not be configured or could not read its source."""


class MetricsGoneError(CollectorError):
    """The trial's metrics source no longer exists (its pod or its log is gone): MetricsUnavailable, not a crash."""


class StorageError(KatibFlowError, RuntimeError):
    """The experiment store failed (connection, schema version, lock)."""


class ExperimentExistsError(StorageError):
    """A new experiment was asked for under a name the database already holds."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class TrialExecutionError(KatibFlowError, RuntimeError):
    """A trial could not be started or supervised."""


@dataclass(frozen=True)
class TrialFailure:
    """One trial that ended without a result, and why."""

    name: str
    state: str
    message: str


class ExperimentFailedError(KatibFlowError, RuntimeError):
    """An experiment ended Failed, or ended with no trial that succeeded: there is no result to use.

    ``status`` is the experiment's Katib-shaped status; ``failures`` the first
    trials that ended Failed or MetricsUnavailable, with their messages.
    """

    def __init__(self, experiment: str, reason: str, status: dict[str, Any], failures: Sequence[TrialFailure]) -> None:
        self.experiment, self.reason, self.status = experiment, reason, status
        self.failures = list(failures)
        super().__init__(describe_failure(experiment, reason, status, self.failures))


def describe_failure(experiment: str, reason: str, status: dict[str, Any], failures: Sequence[TrialFailure]) -> str:
    """Why an experiment has no result, with the first failures' messages (one indented line each)."""
    if reason == "ExperimentFailed":
        head = f"experiment {experiment!r} failed ({reason})"
    else:
        head = f"experiment {experiment!r} ended ({reason}) but no trial succeeded"
    counts = (
        f"{status.get('trials', 0)} trials: {status.get('trialsFailed', 0)} failed, "
        f"{status.get('trialMetricsUnavailable', 0)} without metrics, {status.get('trialsSucceeded', 0)} succeeded"
    )
    lines = [f"{head}; {counts}"]
    for failure in failures:
        first, *rest = failure.message.splitlines() or [""]
        lines.append(f"  {failure.name} {failure.state}: {first}")
        lines.extend(f"    {line}" for line in rest)
    return "\n".join(lines)


class ExperimentInterrupted(KeyboardInterrupt):
    """A local run was stopped by a signal (Ctrl-C, SIGTERM, SIGHUP) after its trials were recorded Killed.

    A ``KeyboardInterrupt`` rather than a :class:`KatibFlowError`, so that
    ``except Exception`` in a script does not swallow the user's Ctrl-C. The
    experiment stays resumable.
    """

    def __init__(self, experiment: str, signum: int) -> None:
        self.experiment, self.signum = experiment, signum
        super().__init__(f"experiment {experiment!r} interrupted; it is resumable")


class ClusterError(KatibFlowError, RuntimeError):
    """The Kubernetes API refused or could not serve a request about a trial's run object."""


class ExperimentStalledError(ClusterError):
    """An experiment on the cluster cannot complete any more (no generation alive, a deadline passed).

    The Workflow steps exit with code 3 for it: retrying the step cannot help.
    """
