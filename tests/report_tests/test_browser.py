"""The report in a real headless Chromium (Debian's ``chromium``): it loads offline, draws every plot, sorts.

Skipped where no Chromium is installed, except under ``KATIB_FLOW_REQUIRE_BROWSER=1``
(``.ci/run`` installs the browser and sets it). ``KATIB_FLOW_UPDATE_SCREENSHOT=1``
writes the screenshot the README shows (docs/images/report.png).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from katib_flow.report import load_report_data, render_report, write_report
from katib_flow.store import Store

from .populate import populate, wide_experiment

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "images" / "report.png"
# As the machine's probe starts it: no sandbox as root, and no background connections (the network is closed).
_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for candidate in (os.environ.get("KATIB_FLOW_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    required = os.environ.get("KATIB_FLOW_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed")
    if executable is None:
        if required:
            pytest.fail("KATIB_FLOW_REQUIRE_BROWSER=1 but no chromium is installed")
        pytest.skip("no chromium installed (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    with Store(f"sqlite:///{folder / 'report.db'}") as store:
        experiment = wide_experiment("tpe-demo", 60, algo="tpe", parallel=4, random_state="5")
        assert experiment.spec.objective is not None
        experiment.spec.objective.goal = 0.06
        stored = populate(store, experiment, fail_every=13, early_stop_every=6, steps=10)
        html = render_report(load_report_data(store, stored))
    path = folder / "report.html"
    write_report(path, html)
    return path


def test_the_report_draws_every_plot_offline_with_no_console_errors(browser: Any, report: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    page.wait_for_function("document.body.dataset.plots === 'drawn'", timeout=60_000)
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('.plot')).map(e => [e.id, e.dataset.drawn === 'true', "
        "e.querySelectorAll('.main-svg').length, e.getBoundingClientRect().height])"
    )
    assert [d[0] for d in drawn] == ["plot-history", "plot-curves", "plot-parallel", "plot-slice", "plot-importance"]
    for plot_id, done, svgs, height in drawn:
        assert done and svgs >= 1 and height > 100, (plot_id, done, svgs, height)
    # points really are on the history plot: one marker per scored trial
    markers = page.evaluate("document.querySelectorAll('#plot-history .scatterlayer .point').length")
    assert markers >= 40
    assert page.evaluate("document.getElementById('plot-status').textContent") == ""
    assert problems == []
    assert requests == [report.as_uri()]  # nothing fetched: no CDN, no fonts
    shot = SCREENSHOT if os.environ.get("KATIB_FLOW_UPDATE_SCREENSHOT") == "1" else report.with_suffix(".png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    context.close()


def test_the_trial_table_sorts_and_filters(browser: Any, report: Path) -> None:
    page = browser.new_page()
    page.goto(report.as_uri())
    first = "document.querySelector('#trial-table tbody tr').cells"
    page.click("#trial-table th:nth-child(5)")  # loss, ascending: the best trial first
    assert page.evaluate(f"{first}[0].parentNode.classList.contains('best')")
    page.click("#trial-table th:nth-child(5)")  # descending: still no empty objective first
    assert page.evaluate(f"{first}[4].textContent") != ""
    page.fill("#filter", "Failed")
    visible = page.evaluate(
        "Array.from(document.querySelectorAll('#trial-table tbody tr')).filter(r => !r.hidden)"
        ".map(r => r.cells[2].textContent)"
    )
    assert visible and set(visible) == {"Failed"}
    page.close()
