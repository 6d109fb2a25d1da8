"""The experiment state machine shared by the local runner and the Argo steps.

Every function here is one transaction against the Store and safe to call
twice: a retried Argo step or a restarted local slot changes nothing the second
time.
"""

from __future__ import annotations

from .claim import Claim, claim_trial, finish_and_claim
from .evaluate import Evaluation, evaluate, experiment_status
from .lifecycle import delete_experiment, find_experiment, init_experiment, list_experiments, set_workdir
from .outcome import first_failures, has_result, result_error
from .render import LocalCommand, RenderedTrial, render_run_object, render_trial
from .reserve import Slot, reserve_trials, trial_name
from .trials import EARLY_STOPPED_MESSAGE, Outcome, finish_trial, mark_running, record_observations, stop_rules
from .views import StoredExperiment, Trial, load_history

__all__ = [
    "EARLY_STOPPED_MESSAGE",
    "Claim",
    "Evaluation",
    "LocalCommand",
    "Outcome",
    "RenderedTrial",
    "Slot",
    "StoredExperiment",
    "Trial",
    "claim_trial",
    "delete_experiment",
    "evaluate",
    "experiment_status",
    "find_experiment",
    "finish_and_claim",
    "finish_trial",
    "first_failures",
    "has_result",
    "init_experiment",
    "list_experiments",
    "load_history",
    "mark_running",
    "record_observations",
    "render_run_object",
    "render_trial",
    "reserve_trials",
    "result_error",
    "set_workdir",
    "stop_rules",
    "trial_name",
]
