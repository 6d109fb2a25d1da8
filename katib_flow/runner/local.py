"""The local driver: ``parallelTrialCount`` slots, each a loop claim -> run -> collect -> finish.

A slot refills as soon as its trial ends (there is no barrier between
"rounds"). Every state change goes through the engine, in its own transaction,
so a crash or Ctrl-C loses no finished trial and a resumed run reruns none.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..collectors import TensorFlowEventCollector, line_collector, metric_names
from ..collectors.push import EXPERIMENT_ENV, KATIB_TRIAL_ENV, TRIAL_ENV
from ..engine import (
    EARLY_STOPPED_MESSAGE,
    Claim,
    Evaluation,
    Outcome,
    RenderedTrial,
    Slot,
    Trial,
    claim_trial,
    evaluate,
    finish_and_claim,
    finish_trial,
    record_observations,
)
from ..engine.checkpoints import CheckpointMissingError, checkpoint_mount, parent_of, prepare_checkpoint
from ..engine.feed import MetricsFeed, follow_events, follow_pushed, tail_file
from ..exceptions import TrialExecutionError
from ..spec import constants as c
from ..spec.models import Experiment
from ..store import ENV_URL, Store
from .folders import ExperimentFolder
from .lease import Lease
from .orphans import kill_orphans
from .process import GRACE_SECONDS, ProcessResult, TrialProcess
from .workspace import Workspace, resolve_relative

__all__ = ["LocalRunner", "Reporter"]

_WAIT = 0.2


class Reporter(Protocol):
    def trial_started(self, trial: Trial) -> None: ...
    def trial_finished(self, trial: Trial, seconds: float) -> None: ...


@dataclass
class _Running:
    """A trial's current process (retries replace it) and whether a stop rule ended it."""

    launch: Callable[[], TrialProcess]
    process: TrialProcess = field(init=False)
    early_stopped: bool = False

    def __post_init__(self) -> None:
        self.process = self.launch()


class LocalRunner:
    """Runs one stored experiment to completion (or until :meth:`stop`)."""

    def __init__(
        self,
        store: Store,
        experiment_id: int,
        experiment: Experiment,
        *,
        folder: ExperimentFolder,
        base_dir: Path,
        reporter: Reporter,
        grace: float = GRACE_SECONDS,
    ) -> None:
        self.store, self.experiment_id, self.experiment = store, experiment_id, experiment
        self.folder, self.base_dir, self.reporter, self.grace = folder, base_dir, reporter, grace
        self._stop = threading.Event()
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._errors: list[BaseException] = []

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Stop every running trial at once (they end Killed) and let the slots return.

        The trials get one grace period together between SIGTERM and SIGKILL; a
        second call (a second Ctrl-C) kills them at once.
        """
        force = self._stop.is_set()
        self._stop.set()
        with self._lock:
            running = list(self._running.values())
        for r in running:
            if force:
                r.process.kill()
            else:
                r.process.stop(self.grace)

    def run(self) -> Evaluation:
        lease = Lease(self.store, self.experiment_id, self.experiment.name)
        orphans = lease.acquire()
        if orphans:
            kill_orphans({EXPERIMENT_ENV: str(self.experiment_id), ENV_URL: self.store.url}, TRIAL_ENV, orphans)
        try:
            slots = self.experiment.spec.parallel_trial_count or 1
            threads = [
                threading.Thread(target=self._guarded_slot, args=(lane,), name=f"slot-{lane}") for lane in range(slots)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.2)
            if self._errors:
                error = self._errors[0]
                raise error
            return evaluate(self.store, self.experiment_id)
        finally:
            lease.release(quiet=bool(self._errors))

    def _guarded_slot(self, lane: int) -> None:
        try:
            self._slot(lane)
        except BaseException as err:
            self._errors.append(err)
            self.stop()

    def _slot(self, lane: int) -> None:
        iteration = 0
        claim: Claim | None = None  # claimed when the previous trial finished, in the same transaction
        while not self._stop.is_set():
            if claim is None:
                claim = claim_trial(self.store, self.experiment_id, (lane, iteration), start=True)
            if claim.trial is None:
                if claim.completed:
                    return
                claim = None
                self._stop.wait(_WAIT)
                continue
            iteration += 1
            trial, rendered, claim = claim.trial, claim.rendered, None
            if rendered is not None:  # None: finished in an earlier run of this slot
                claim = self._run_trial(trial, rendered, (lane, iteration))

    def _run_trial(self, trial: Trial, rendered: RenderedTrial, next_slot: Slot) -> Claim | None:
        """Run the trial and finish it; the next slot's claim when it was made with the finish."""
        try:
            return self._run_process(trial, rendered, next_slot)
        except CheckpointMissingError as err:  # PBT: the trial cannot start from its parent's model
            failed = finish_trial(self.store, self.experiment_id, trial.name, Outcome.FAILED, f"Trial failed: {err}")
            self.reporter.trial_finished(failed, 0.0)
            return None
        except OSError as err:  # the trial folder could not be written: the run cannot go on
            message = f"Trial is killed: the runner could not prepare its folder: {err.strerror or err}"
            finish_trial(self.store, self.experiment_id, trial.name, Outcome.KILLED, message)
            where = f" ({err.filename})" if err.filename else ""
            raise TrialExecutionError(f"trial {trial.name}: {err.strerror or err}{where}") from err

    def _run_process(self, trial: Trial, rendered: RenderedTrial, next_slot: Slot) -> Claim | None:
        started = time.monotonic()
        workspace = Workspace(self.folder.trial(trial.name))
        workspace.root.mkdir(parents=True, exist_ok=True)
        spec = self.experiment.spec
        mc = spec.metrics_collector_spec
        assert mc is not None and mc.collector is not None and spec.objective is not None
        kind = mc.collector.kind
        fs_path = mc.source.file_system_path.path if mc.source and mc.source.file_system_path else None
        collector_dirs = []
        local_source: Path | None = None
        if kind in (c.COLLECTOR_FILE, c.COLLECTOR_TFEVENT) and fs_path:
            folder = os.path.dirname(fs_path) if kind == c.COLLECTOR_FILE else fs_path
            collector_dirs.append(folder)
            local_source = workspace.local(fs_path)
            (local_source.parent if kind == c.COLLECTOR_FILE else local_source).mkdir(parents=True, exist_ok=True)
        command = rendered.command
        argv, command_env = list(command.argv), dict(command.env)
        mount = checkpoint_mount(self.experiment)
        if mount is not None:  # PBT: the trial's own checkpoint folder, its parent's copied in first
            checkpoint = prepare_checkpoint(self.folder.checkpoints, trial.name, parent_of(trial.data))
            argv = workspace.bind(argv, mount, checkpoint)
            bound = workspace.bind(list(command_env.values()), mount, checkpoint)
            command_env = dict(zip(command_env, bound, strict=True))
        argv = resolve_relative(workspace.remap(argv, collector_dirs), self.base_dir)
        env = {
            **os.environ,
            **workspace.remap_env(command_env, collector_dirs),
            TRIAL_ENV: trial.name,
            KATIB_TRIAL_ENV: trial.name,  # as Katib's webhook gives it (a script written for Katib reads it)
            EXPERIMENT_ENV: str(self.experiment_id),
            ENV_URL: self.store.url,
        }
        cwd = workspace.root
        if command.working_dir:
            local_dir = Path(command.working_dir)
            cwd = local_dir if local_dir.is_dir() else workspace.local(command.working_dir)
            cwd.mkdir(parents=True, exist_ok=True)
        names = metric_names(spec.objective)
        parser = line_collector(mc, names)
        run_object = rendered.run_object
        job_spec: dict[str, Any] = run_object.get("spec", {}) if run_object.get("kind") == c.JOB_KIND else {}
        timeout = job_spec.get("activeDeadlineSeconds")
        retries = int(job_spec.get("backoffLimit", 0) or 0)

        def early_stop() -> None:
            running.early_stopped = True
            running.process.stop(self.grace)

        # Pushed metrics are in the store already: the feed only watches them for the stop rules.
        pushed = kind == c.COLLECTOR_PUSH
        feed = MetricsFeed(
            self.store,
            self.experiment_id,
            trial.name,
            parser,
            trial.stop_rules,
            early_stop,
            record=not pushed,
        )
        follow: Callable[[threading.Event], None] | None = None
        live_events = kind == c.COLLECTOR_TFEVENT and local_source is not None and bool(trial.stop_rules)
        if kind == c.COLLECTOR_FILE and local_source is not None:
            follow = functools.partial(tail_file, local_source, feed)
        elif live_events and local_source is not None:
            follow = functools.partial(follow_events, local_source, names, feed)
        elif pushed and trial.stop_rules:
            follow = functools.partial(follow_pushed, self.store, feed)
        on_line = feed.line if kind == c.COLLECTOR_STDOUT else None
        running = _Running(
            lambda: TrialProcess(
                argv,
                cwd=cwd,
                env=env,
                log_path=workspace.log,
                on_line=on_line,
                timeout=timeout,
            )
        )
        self.reporter.trial_started(trial)
        result = self._attempts(trial.name, running, follow, retries)
        if kind == c.COLLECTOR_TFEVENT and local_source is not None and not live_events:
            events = TensorFlowEventCollector(names).collect(local_source)
            record_observations(self.store, self.experiment_id, trial.name, events, source="tfevent", first_seq=0)
        outcome, message = _outcome(result, running.early_stopped, self._stop.is_set(), timeout)
        last, first = feed.drain() if feed.record else ([], None)
        claim = None
        if outcome is Outcome.KILLED or self._stop.is_set():
            finished = finish_trial(
                self.store, self.experiment_id, trial.name, outcome, message, observations=last, first_seq=first
            )
        else:
            finished, claim = finish_and_claim(
                self.store,
                self.experiment_id,
                trial.name,
                outcome,
                message,
                next_slot,
                observations=last,
                first_seq=first,
            )
        self.reporter.trial_finished(finished, time.monotonic() - started)
        if result.io_error is not None:
            raise TrialExecutionError(
                f"trial {trial.name}: the runner {result.io_error}; the trial is Killed and runs again on resume"
            )
        return claim

    def _attempts(
        self, name: str, running: _Running, follow: Callable[[threading.Event], None] | None, retries: int
    ) -> ProcessResult:
        """Run the trial's process, and again up to ``retries`` times while it fails."""
        attempt = 0
        while True:
            with self._lock:
                self._running[name] = running
            if self._stop.is_set():
                running.process.stop(self.grace)
            done = threading.Event()
            tailer = None
            if follow is not None:  # the metrics file, event files or pushed metrics, for the stop rules
                tailer = threading.Thread(target=follow, args=(done,), daemon=True)
                tailer.start()
            try:
                result = running.process.run()
            finally:
                done.set()
                if tailer is not None:
                    tailer.join()
                with self._lock:
                    self._running.pop(name, None)
            stop = running.early_stopped or self._stop.is_set() or result.io_error is not None
            if result.succeeded or stop or attempt >= retries:
                return result
            attempt += 1
            running.process = running.launch()


def _outcome(
    result: ProcessResult, early_stopped: bool, interrupted: bool, timeout: float | None
) -> tuple[Outcome, str]:
    if result.io_error is not None:
        return Outcome.KILLED, f"Trial is killed: the runner {result.io_error}"
    if early_stopped:
        return Outcome.EARLY_STOPPED, EARLY_STOPPED_MESSAGE
    if interrupted:
        return Outcome.KILLED, "Trial is killed: the run was interrupted"
    if result.timed_out:
        return Outcome.FAILED, f"DeadlineExceeded: the trial ran longer than activeDeadlineSeconds ({timeout:g} s)"
    if result.returncode != 0:
        tail = "\n".join(result.tail[-5:])
        return Outcome.FAILED, f"the command exited with code {result.returncode}; last lines:\n{tail}"
    return Outcome.SUCCEEDED, ""
