"""The HTML report at scale: render time and file size, against Optuna's own visualisations.

    python bench/report_render.py                 # 100 and 1,000 trials
    python bench/report_render.py --trials 1000 --repeats 3

For each size, an experiment with five parameters of every kind (a log-uniform
and a uniform double, an int, a discrete, a categorical), 8 reported steps per
trial, every 5th trial early-stopped and every 17th failed is built through the
engine (tests/report_tests/populate.py). Measured in the same run:

* ours: load the data from SQLite and render the whole report (importance
  included), and the file's size;
* baseline: Optuna's ``optuna.visualization`` drawing the same five plots
  (history, intermediate values, parallel coordinates, slice, fANOVA
  importance with Optuna's default forest) from an in-memory study of the same
  trials, written as one HTML file with Plotly.js inlined (``write_html``),
  which is what an Optuna user gets for the same picture;
* importance: our fANOVA forest (32 trees, depth 8) against Optuna's default
  (64, 64) on the same trials: time, and whether the parameter ranking agrees.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import optuna  # noqa: E402
from optuna.importance import FanovaImportanceEvaluator, get_param_importances  # noqa: E402

from katib_flow.algorithms._optuna import distributions, quiet_optuna  # noqa: E402
from katib_flow.report import load_report_data, render_report  # noqa: E402
from katib_flow.report.data import ReportData  # noqa: E402
from katib_flow.report.importance import parameter_importance  # noqa: E402
from katib_flow.store import Store  # noqa: E402
from tests.report_tests.populate import populate, wide_experiment  # noqa: E402


def _optuna_study(data: ReportData) -> optuna.Study:
    """The same trials as an Optuna study, intermediate values included."""
    space = data.space
    dists = distributions(space)
    study = optuna.create_study(direction="minimize")
    for t in data.trials:
        if not t.state.has_objective or t.objective is None:
            continue
        params: dict[str, object] = {}
        for p in space.parameters:
            raw = t.assignments[p.name]
            dist = dists[p.name]
            value: object = raw
            if isinstance(dist, optuna.distributions.FloatDistribution):
                value = float(raw)
            elif isinstance(dist, optuna.distributions.IntDistribution):
                value = int(raw)
            params[p.name] = value
        curve = data.curves.get(t.name)
        intermediate = {int(s): v for s, v in zip(curve.steps, curve.values, strict=True)} if curve else {}
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=dists, value=t.objective, intermediate_values=intermediate
            )
        )
    return study


def _optuna_page(study: optuna.Study, out: Path) -> None:
    import plotly.io

    v = optuna.visualization
    figures = [
        v.plot_optimization_history(study),
        v.plot_intermediate_values(study),
        v.plot_parallel_coordinate(study),
        v.plot_slice(study),
        v.plot_param_importances(study),
    ]
    parts = [plotly.io.to_html(f, include_plotlyjs=(i == 0), full_html=False) for i, f in enumerate(figures)]
    out.write_text("<html><body>" + "".join(parts) + "</body></html>")


def bench(trials: int, repeats: int, workdir: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with Store(f"sqlite:///{workdir / f'report{trials}.db'}") as store:
        stored = populate(store, wide_experiment(f"r{trials}", trials), fail_every=17, early_stop_every=5)
        render_report(load_report_data(store, stored))  # warm: Plotly.js compressed once per process
        ours, html = [], ""
        for _ in range(repeats):
            start = time.perf_counter()
            data = load_report_data(store, stored)
            html = render_report(data)
            ours.append(time.perf_counter() - start)
    study = _optuna_study(data)
    baseline = []
    for _ in range(repeats):
        start = time.perf_counter()
        with quiet_optuna(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _optuna_page(study, workdir / "optuna.html")
        baseline.append(time.perf_counter() - start)
    ours_s, base_s = min(ours), min(baseline)
    ours_mb, base_mb = len(html.encode()) / 1e6, (workdir / "optuna.html").stat().st_size / 1e6
    print(
        f"| {trials} | {ours_s:.2f} s | {ours_mb:.2f} MB | {base_s:.2f} s | {base_mb:.2f} MB | "
        f"{base_s / ours_s:.1f}x | {base_mb / ours_mb:.1f}x |"
    )
    with quiet_optuna():
        start = time.perf_counter()
        default = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
        default_s = time.perf_counter() - start
    start = time.perf_counter()
    mine = parameter_importance(data.space, data.minimize, data.scored)
    mine_s = time.perf_counter() - start
    same = [n for n, _ in mine.values] == list(default)
    ours_text = ", ".join(f"{n} {v:.2f}" for n, v in mine.values)
    default_text = ", ".join(f"{n} {v:.2f}" for n, v in default.items())
    print(
        f"\nfANOVA on {trials} trials: ours (32 trees, depth 8) {mine_s:.2f} s: {ours_text}; Optuna's default "
        f"(64, 64) {default_s:.2f} s: {default_text}; same order: {same}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| trials | ours: render | ours: size | Optuna: render | Optuna: size | time ratio | size ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for trials in args.trials:
            bench(trials, args.repeats, Path(folder))


if __name__ == "__main__":
    main()
