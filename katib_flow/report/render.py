"""Render a report: ``templates/report.html.j2`` (see :mod:`katib_flow.templating`), Plotly.js embedded.

The page is one file that opens offline. Plotly.js (4.8 MB as shipped in the
``plotly`` package) is embedded gzip-compressed and base64-encoded (1.9 MB) and
inflated in the browser with ``DecompressionStream`` (Chrome 80, Firefox 113,
Safari 16.4): a 1,000-trial report is ~3 MB instead of ~6 MB.
"""

from __future__ import annotations

import base64
import gzip
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..engine.clock import rfc3339
from ..spec import dump_experiment
from ..templating import environment
from .data import ReportData
from .figures import figures
from .importance import parameter_importance
from .table import trial_rows

__all__ = ["REFRESH_SECONDS", "render_report", "write_report"]

REFRESH_SECONDS = 10  # how often an open report of a running experiment reloads itself


@cache
def _plotly_bundle() -> str:
    from plotly.offline import get_plotlyjs

    # mtime=0: the same bundle bytes in every report, so two renders of the same data are identical
    return base64.b64encode(gzip.compress(get_plotlyjs().encode(), compresslevel=9, mtime=0)).decode("ascii")


def render_report(data: ReportData, *, refresh: int | None = None) -> str:
    """The report of ``data`` as one HTML document; ``refresh``: the page reloads itself every so many seconds
    (for a file that ``katib-flow run --report`` keeps rewriting)."""
    stored = data.stored
    spec = stored.experiment.spec
    importance = parameter_importance(data.space, data.minimize, data.scored)
    plots = figures(data, importance)
    context: dict[str, Any] = {
        "data": data,
        "experiment": stored.experiment,
        "spec": spec,
        "status": data.evaluation.status,
        "reason": data.evaluation.reason,
        "standing": _standing(data),
        "best": data.best,
        "counts": _counts(data),
        "importance": importance,
        "figures": plots,
        "rows": trial_rows(data),
        "spec_yaml": dump_experiment(stored.experiment),
        "generated": rfc3339(data.generated),
        "refresh": refresh,
        "version": __version__,
        "plotly": _plotly_bundle() if plots else "",
    }
    return environment().get_template("report.html.j2").render(context)


def write_report(path: Path, html: str) -> None:
    """Replace ``path`` atomically: a browser reloading it never reads half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _standing(data: ReportData) -> str:
    evaluation = data.evaluation
    if not evaluation.completed:
        return "Running" if data.running else "Not completed"
    if not evaluation.succeeded:
        return "Failed"
    return "Succeeded" if data.best is not None else "Ended without a successful trial"


def _counts(data: ReportData) -> list[tuple[str, int]]:
    status = data.evaluation.status
    keys = [
        ("trials", "trials"),
        ("succeeded", "trialsSucceeded"),
        ("early stopped", "trialsEarlyStopped"),
        ("failed", "trialsFailed"),
        ("metrics unavailable", "trialMetricsUnavailable"),
        ("killed", "trialsKilled"),
        ("running", "trialsRunning"),
        ("pending", "trialsPending"),
    ]
    return [(label, int(status.get(key, 0))) for label, key in keys]
