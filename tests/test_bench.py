"""The benchmark scripts run (a smoke test of the scripts, never a timing assertion)."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import PROJECT_ROOT


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``bench/<name>`` with ``args``; it must exit 0 within five minutes."""
    command = [sys.executable, str(PROJECT_ROOT / "bench" / name), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)


def test_suggest_latency_script_runs_and_prints_one_row_per_algorithm_and_size() -> None:
    algorithms = ["random", "grid", "cmaes", "hyperband"]
    result = _script(
        "suggest_latency.py", "--sizes", "10", "--repeats", "1", "--baseline-max", "0", "--algorithms", *algorithms
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in rows[1:]] == ["random", "grid", "cmaes", "hyperband"]
    assert "live Optuna study" in rows[3]


def test_store_script_runs() -> None:
    result = _script("store.py", "--backends", "sqlite", "--trials", "50", "--observations", "20", "--repeats", "1")
    rows = [line for line in result.stdout.splitlines() if line.startswith("| sqlite")]
    assert [row.split("|")[2].strip() for row in rows] == [
        "observations/s, 1 per call",
        "observations/s, 100 per call",
        "history load, 50 trials (s)",
    ]


def test_runner_overhead_script_runs() -> None:
    result = _script("runner_overhead.py", "--trials", "8", "--parallel", "1", "--rounds", "1")
    (row,) = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| 1 ")]
    assert len(row) == 12  # 10 columns: the whole-run and the marginal (per extra trial) ratios


def test_startup_script_runs_every_command() -> None:
    result = _script("startup.py", "--repeats", "1")
    names = [line.split("|")[1].strip() for line in result.stdout.splitlines() if line.startswith("| `")]
    assert names == [
        "`katib-flow --help`",
        "`katib-flow validate quickstart`",
        "`katib-flow step decide --help`",
        "`katib-flow step decide (SQLite)`",
    ]


def test_quality_script_runs_quick_and_prints_every_table() -> None:
    result = _script("quality.py", "--quick")
    out = result.stdout
    for heading in ("Median log10 simple regret after 12 trials", "Average rank", "Targets", "Parallelism 4"):
        assert heading in out
    regret_rows = [line for line in out.split("### Average rank")[0].splitlines() if line.startswith("| katib-flow/")]
    assert len(regret_rows) == 18  # 6 algorithms (no GP in --quick): 1 at a time, batches of 4, 4 slots
    assert "| katib-flow/tpe/p1 vs optuna-tpe-independent (its own library, 2 problems) |" in out
    assert "| katib-flow/tpe/p1 vs katib-flow random (1 synthetic) |" in out
    parallel = out.split("Parallelism 4")[1].splitlines()
    for algorithm in ("random", "grid", "sobol", "tpe", "multivariate-tpe", "cmaes"):
        for label in (f"{algorithm}, batches of 4", f"{algorithm}, 4 slots refilled as trials finish"):
            (row,) = [line for line in parallel if line.startswith(f"| {label} |")]
            cells = [cell.strip() for cell in row.split("|")[1:-1]]
            # algorithm, duplicates, mean loss (interval), largest loss, median loss > 0.3, worse,
            # all problems together, worse by > 0.3, shown within 0.3, seed noise
            assert len(cells) == 10
            assert cells[1] == "0"  # no point proposed twice at once
            mean, interval = cells[2].split(" (")
            low, high = (float(x) for x in interval.rstrip(")").split(" to "))
            assert low <= float(mean) <= high
            largest = float(cells[3].split(" (")[0])
            counts = re.fullmatch(r"(\d+) of (\d+) \(chance: (\d+)\)", cells[4])
            assert counts, cells[4]
            over, problems, chance = (int(g) for g in counts.groups())
            if largest > 0.31:  # (the printed largest loss is rounded)
                assert over > 0
            elif largest < 0.29:
                assert over == 0
            assert problems == 2 and cells[8].endswith(" of 2")  # 2 problems in --quick
            assert chance <= problems
            assert cells[6] == "< 0.001" or 0 < float(cells[6]) <= 1
            assert float(cells[9]) >= 0


def test_compile_scale_script_runs_and_reports_generations() -> None:
    result = _script("compile_scale.py", "--trials", "12", "1000", "--parallel", "2", "--repeats", "1")
    rows = [
        line.split("|") for line in result.stdout.splitlines() if line.startswith("| 12 ") or line.startswith("| 1000 ")
    ]
    assert [(r[1].strip(), r[-2].strip()) for r in rows] == [("12", "1"), ("1000", "7")]  # 2 lanes x 80 per generation


def test_a_generations_workflow_object_keeps_half_of_argos_limit_free_up_to_the_most_lanes_allowed() -> None:
    from katib_flow.argo.compiler import CALLER_DEPTH, MAX_LANES

    lanes = ["1", "4", "5", str(MAX_LANES)]  # 4 lanes are the last with 80 iterations each
    result = _script("compile_scale.py", "--trials", "10000", "--parallel", *lanes, "--repeats", "1")
    rows = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| 10000 ")]
    assert len(rows) == len(lanes)
    for row in rows:
        depth, object_mib = int(row[8]), float(row[10])
        assert object_mib <= 0.5, row  # gzip+base64 nodes, the spec and the stored template spec
        assert depth + CALLER_DEPTH < 100, row


def test_grpc_latency_script_runs_and_reports_its_ratio() -> None:
    result = _script("grpc_latency.py", "--algorithms", "random", "--history", "0", "10", "--repeats", "2")
    rows = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| random ")]
    assert [row[2].strip() for row in rows] == ["0", "10"]
    assert all(float(row[5]) > 0 for row in rows)


def test_report_render_script_runs_and_prints_its_ratios() -> None:
    result = _script("report_render.py", "--trials", "30", "--repeats", "1")
    (row,) = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| 30 ")]
    assert float(row[3].strip().removesuffix(" MB")) < 5.0
    assert row[6].strip().endswith("x") and row[7].strip().endswith("x")
    assert "fANOVA on 30 trials" in result.stdout
