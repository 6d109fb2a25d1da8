"""Start-up time of the command line and the Argo step entry points, against a bare interpreter.

    python bench/startup.py              # 15 repeats of each command, medians
    python bench/startup.py --repeats 5

Each row starts a fresh interpreter running a katib-flow command (``--help``,
``validate`` of the quickstart experiment, ``step decide --help``, and a real
``step decide`` against a SQLite database holding the quickstart experiment),
interleaved with ``python -c pass`` so that both see the same machine load.
The ratio is the command's median wall time over the bare interpreter's; the
import targets are < 0.2 s for ``--help`` and < 0.4 s for ``validate`` and a step.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart" / "experiment.yaml"


def _seconds(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "katib_flow.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = f"sqlite:///{folder / 'db.sqlite'}"
        subprocess.run(
            [*cli, "step", "init", str(QUICKSTART), "--db", db, "--outputs", tmp], check=True, capture_output=True
        )
        commands = {
            "katib-flow --help": [*cli, "--help"],
            "katib-flow validate quickstart": [*cli, "validate", str(QUICKSTART)],
            "katib-flow step decide --help": [*cli, "step", "decide", "--help"],
            "katib-flow step decide (SQLite)": [
                *cli,
                "step",
                "decide",
                "--experiment",
                "quickstart",
                "--db",
                db,
                "--outputs",
                tmp,
            ],
        }
        bare: list[float] = []
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, argv in commands.items():
                bare.append(_seconds([sys.executable, "-c", "pass"], folder))
                times[name].append(_seconds(argv, folder))
    base = statistics.median(bare)
    print(f"{args.repeats} repeats; medians; bare interpreter start {base * 1000:.0f} ms")
    print()
    print("| command | median s | minus bare interpreter s | ratio to bare interpreter |")
    print("| --- | ---: | ---: | ---: |")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"| `{name}` | {median:.3f} | {median - base:.3f} | {median / base:.1f} |")


if __name__ == "__main__":
    main()
