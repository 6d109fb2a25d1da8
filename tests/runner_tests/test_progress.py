"""What a user watching a run sees: the live view lists running trials; piped output is plain lines."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from katib_flow.engine.views import Trial
from katib_flow.history import TrialState
from katib_flow.runner.progress import LiveReporter

from .helpers import trial_experiment, write_experiment


def _trial(name: str, state: TrialState, objective: float | None = None) -> Trial:
    return Trial(name, 1, 0, 0, 0, {"x": "0.5"}, state, objective=objective)


def test_the_live_view_shows_running_trials_beside_finished_ones() -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=200, force_terminal=True, color_system=None)
    with LiveReporter("loss", True, 4, console=console) as live:
        live.trial_started(_trial("exp-a", TrialState.RUNNING))
        live.trial_started(_trial("exp-b", TrialState.RUNNING))
        live.trial_finished(_trial("exp-a", TrialState.SUCCEEDED, 0.25), 1.5)
        console.print(live._render())
    shown = screen.getvalue().splitlines()
    running = [line for line in shown if "exp-b" in line]
    assert running and "Running" in running[-1]
    assert any("exp-a" in line and "Succeeded" in line and "0.25" in line for line in shown)


def test_piped_output_is_plain_lines_and_resume_starts_a_new_experiment(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, trial_experiment("piped", [], maxTrialCount=2))
    result = subprocess.run(  # no --quiet: the live view would be drawn for a terminal only
        [
            sys.executable,
            "-m",
            "katib_flow.cli",
            "run",
            str(path),
            "--resume",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr  # --resume of an experiment not stored yet starts it
    lines = result.stdout.splitlines()
    assert sum(line.startswith("trial piped-") and " started: x=" in line for line in lines) == 2
    assert "\x1b[" not in result.stdout + result.stderr  # no terminal control codes in a log file
