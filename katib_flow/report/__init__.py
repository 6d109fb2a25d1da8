"""The experiment report: one self-contained HTML file with Plotly plots, rendered with Jinja2.

``katib-flow report`` writes it from any database; ``katib-flow run --report``
keeps it current while trials finish; the Argo finish step can keep it as an
artifact. See docs/report.md.
"""

from __future__ import annotations

from .data import Curve, ReportData, load_report_data
from .render import REFRESH_SECONDS, render_report, write_report

__all__ = [
    "REFRESH_SECONDS",
    "Curve",
    "ReportData",
    "load_report_data",
    "render_report",
    "write_report",
]
