"""The report's plots as Plotly figure specifications (``{"data": [...], "layout": {...}}``).

These are the plots Optuna's ``optuna.visualization`` draws (optimisation
history, parallel coordinates, slice, intermediate values, importances), built
from katib-flow's trials directly: plain JSON that Plotly.js draws in the page,
with values rounded to 6 significant digits so a 1,000-trial report stays small
(the trial table keeps the exact values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..engine import Trial
from ..history import TrialState
from ..space import CategoricalParameter, Parameter
from ..spec import constants as c
from .data import ReportData
from .importance import Importance

__all__ = ["Figure", "figures"]

Figure = dict[str, Any]

_BLUE, _ORANGE, _RED, _GREY = "#1f77b4", "#ff7f0e", "#d62728", "#9aa5b1"
_SLICE_COLUMNS = 3


def figures(data: ReportData, importance: Importance) -> dict[str, Figure]:
    """Every plot the data allows, keyed by the id of its place in the page (none without scored trials)."""
    if not data.scored:
        return {}
    out = {"history": history(data), "parallel": parallel_coordinates(data), "slice": slices(data)}
    if data.curves:
        out["curves"] = intermediate_values(data)
    if importance.values:
        out["importance"] = importance_bars(importance)
    return out


def _r(value: float) -> float:
    return float(f"{value:.6g}")


def _layout(**extra: Any) -> dict[str, Any]:
    return {"margin": {"l": 60, "r": 20, "t": 30, "b": 50}, "hovermode": "closest", **extra}


def history(data: ReportData) -> Figure:
    """Each trial's objective by trial number, and the best so far as a step line."""
    with_objective = {t.name for t in data.scored}
    scored = [(i + 1, t) for i, t in enumerate(data.trials) if t.name in with_objective]
    traces: list[dict[str, Any]] = []
    for state, symbol in ((TrialState.SUCCEEDED, "circle"), (TrialState.EARLY_STOPPED, "x")):
        points = [(n, t) for n, t in scored if t.state is state]
        if points:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": state.value,
                    "x": [n for n, _ in points],
                    "y": [_r(t.objective or 0.0) for _, t in points],
                    "text": [t.name for _, t in points],
                    "marker": {"symbol": symbol, "color": _BLUE if state is TrialState.SUCCEEDED else _ORANGE},
                }
            )
    best: list[float] = []
    pick = min if data.minimize else max
    for _, t in scored:
        best.append(pick(best[-1], t.objective or 0.0) if best else t.objective or 0.0)
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "best so far",
            "x": [n for n, _ in scored],
            "y": [_r(v) for v in best],
            "line": {"shape": "hv", "color": _RED},
        }
    )
    layout = _layout(xaxis={"title": {"text": "trial"}}, yaxis={"title": {"text": data.metric}}, height=420)
    if data.goal is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": data.goal,
                "y1": data.goal,
                "line": {"dash": "dash", "color": "#2ca02c"},
            }
        ]
        layout["annotations"] = [
            {"xref": "paper", "x": 1, "y": data.goal, "text": f"goal {data.goal:g}", "showarrow": False, "yshift": 10}
        ]
    return {"data": traces, "layout": layout}


def _numeric(param: Parameter, value: str) -> float | None:
    """Where a trial's value sits on its parameter's axis (categories: their index)."""
    if isinstance(param, CategoricalParameter):
        return float(param.values.index(value)) if value in param.values else None
    try:
        number = float(value)
    except ValueError:
        return None
    if _is_log(param):
        return math.log10(number) if number > 0 else None
    return number if math.isfinite(number) else None


def _is_log(param: Parameter) -> bool:
    distribution = getattr(param, "distribution", c.DIST_UNIFORM)
    return distribution in (c.DIST_LOG_UNIFORM, c.DIST_LOG_NORMAL)


def _dimension(param: Parameter, values: Sequence[float]) -> dict[str, Any]:
    dimension: dict[str, Any] = {"label": param.name, "values": [_r(v) for v in values]}
    if isinstance(param, CategoricalParameter):
        dimension["tickvals"] = list(range(len(param.values)))
        dimension["ticktext"] = list(param.values)
    elif _is_log(param) and values:
        ticks = list(range(math.floor(min(values)), math.ceil(max(values)) + 1))
        dimension["tickvals"] = ticks
        dimension["ticktext"] = [f"1e{k}" for k in ticks]
    return dimension


def _placed(data: ReportData) -> list[tuple[Trial, list[float]]]:
    """Scored trials whose every value fits the space, with their axis positions."""
    space = data.space
    out = []
    for t in data.scored:
        position = [_numeric(p, t.assignments.get(p.name, "")) for p in space.parameters]
        if all(v is not None for v in position):
            out.append((t, [v for v in position if v is not None]))
    return out


def parallel_coordinates(data: ReportData) -> Figure:
    """One line per scored trial through its parameters and objective, coloured by the objective."""
    placed = _placed(data)
    objectives = [_r(t.objective or 0.0) for t, _ in placed]
    dimensions = [_dimension(p, [position[i] for _, position in placed]) for i, p in enumerate(data.space.parameters)]
    dimensions.append({"label": data.metric, "values": objectives})
    line = {
        "color": objectives,
        "colorscale": "Viridis",
        "reversescale": data.minimize,  # the best trials are drawn in the bright colour either way
        "showscale": True,
        "colorbar": {"title": {"text": data.metric}},
    }
    layout = _layout(height=460)
    layout["margin"] = {"l": 80, "r": 40, "t": 80, "b": 40}  # the axis titles sit above the axes
    return {"data": [{"type": "parcoords", "line": line, "dimensions": dimensions}], "layout": layout}


def slices(data: ReportData) -> Figure:
    """The objective against each parameter, one panel per parameter, darker for later trials."""
    space = data.space
    count = len(space.parameters)
    columns = min(count, _SLICE_COLUMNS) or 1
    rows = max(1, math.ceil(count / columns))
    placed = _placed(data)
    number = {t.name: i + 1 for i, t in enumerate(data.trials)}
    traces, layout = [], _layout(grid={"rows": rows, "columns": columns, "pattern": "independent"}, showlegend=False)
    layout["height"] = 320 * rows
    for i, p in enumerate(space.parameters):
        axis = "" if i == 0 else str(i + 1)
        raw = [t.assignments[p.name] for t, _ in placed]
        x = raw if isinstance(p, CategoricalParameter) else [_r(float(v)) for v in raw]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": x,
                "y": [_r(t.objective or 0.0) for t, _ in placed],
                "text": [t.name for t, _ in placed],
                "xaxis": f"x{axis}",
                "yaxis": f"y{axis}",
                "marker": {"color": [number[t.name] for t, _ in placed], "colorscale": "Blues", "size": 7},
            }
        )
        kind = "category" if isinstance(p, CategoricalParameter) else "log" if _is_log(p) else "linear"
        layout[f"xaxis{axis}"] = {"title": {"text": p.name}, "type": kind}
        layout[f"yaxis{axis}"] = {"title": {"text": data.metric if i % columns == 0 else ""}}
    return {"data": traces, "layout": layout}


def intermediate_values(data: ReportData) -> Figure:
    """Every trial's reported objective values by step; early-stopped trials end with a cross."""
    best = data.best.name if data.best else None
    groups: dict[str, list[Trial]] = {"trials": [], TrialState.EARLY_STOPPED.value: [], "best trial": []}
    for t in data.trials:
        if t.name not in data.curves:
            continue
        key = "best trial" if t.name == best else "trials"
        groups[TrialState.EARLY_STOPPED.value if t.state is TrialState.EARLY_STOPPED else key].append(t)
    styles = {"trials": (_GREY, 1), TrialState.EARLY_STOPPED.value: (_ORANGE, 1), "best trial": (_RED, 3)}
    traces: list[dict[str, Any]] = []
    for group, members in groups.items():
        if not members:
            continue
        x: list[float | None] = []
        y: list[float | None] = []
        text: list[str] = []
        for t in members:  # one trace per group, trials separated by gaps: 1,000 traces would be slow to draw
            curve = data.curves[t.name]
            x += [*(_r(s) for s in curve.steps), None]
            y += [*(_r(v) for v in curve.values), None]
            text += [t.name] * (len(curve.values) + 1)
        color, width = styles[group]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if len(members) < 50 else "lines",
                "name": group,
                "x": x,
                "y": y,
                "text": text,
                "connectgaps": False,
                "line": {"color": color, "width": width},
                "marker": {"size": 4},
            }
        )
    stopped = groups[TrialState.EARLY_STOPPED.value]
    if stopped:
        ends = [(data.curves[t.name].steps[-1], data.curves[t.name].values[-1], t.name) for t in stopped]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "stopped here",
                "x": [_r(s) for s, _, _ in ends],
                "y": [_r(v) for _, v, _ in ends],
                "text": [n for _, _, n in ends],
                "marker": {"symbol": "x", "size": 10, "color": _ORANGE},
            }
        )
    layout = _layout(xaxis={"title": {"text": "step"}}, yaxis={"title": {"text": data.metric}}, height=420)
    return {"data": traces, "layout": layout}


def importance_bars(importance: Importance) -> Figure:
    """fANOVA importance per parameter, the most important on top."""
    ranked = list(reversed(importance.values))
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": [round(v, 4) for _, v in ranked],
        "y": [name for name, _ in ranked],
        "marker": {"color": _BLUE},
    }
    layout = _layout(xaxis={"title": {"text": "importance (fANOVA)"}, "range": [0, 1]}, height=80 + 30 * len(ranked))
    layout["margin"]["l"] = 140
    return {"data": [trace], "layout": layout}
