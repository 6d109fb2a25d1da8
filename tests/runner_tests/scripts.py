"""Tiny trial programs for the runner tests, written as real files next to the experiment."""

from __future__ import annotations

from pathlib import Path

TRAIN = r"""
import json, os, sys, time
args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
mode = args.get("mode", "ok")
x = float(args.get("x", "0.5"))
steps = int(args.get("steps", "3"))
delay = float(args.get("delay", "0"))
if mode == "flaky":  # fails on the first attempt in this trial's folder, succeeds on the next
    if not os.path.exists("attempted"):
        open("attempted", "w").close()
        sys.exit(3)
if mode == "fail":
    print("about to fail")
    sys.exit(3)
if mode == "silent":
    sys.exit(0)
if mode == "sleep":
    time.sleep(60)
if mode == "stubborn":  # ignores SIGTERM: only SIGKILL ends it
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("stubborn", flush=True)
    time.sleep(60)
if mode == "spawn":  # starts a child of its own (its process group), then waits
    import subprocess
    subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(0.1)"])
    print("spawned", flush=True)
    time.sleep(60)
if mode == "loud":  # megabytes of output, fast
    line = "x" * 1000
    for _ in range(int(args.get("kb", "8000"))):
        print(line)
    sys.exit(0)
if mode == "push":
    import katib_flow
    for step in range(steps):
        katib_flow.report_metrics({"loss": (x - 0.3) ** 2 + 1.0 / (step + 1), "accuracy": 0.5}, step=step)
    sys.exit(0)
out = args.get("out")
for step in range(steps):
    loss = (x - 0.3) ** 2 + (1.0 if mode == "bad" else 0.1) / (step + 1)
    line = f"step {step}: loss={loss:.6f} accuracy={1 - loss:.6f}"
    if args.get("report") == "push":  # Push collector: report_metrics, and a line to count the steps by
        import katib_flow
        katib_flow.report_metrics({"loss": loss, "accuracy": 1 - loss}, step=step)
        print(f"pushed step {step}", flush=True)
    elif out and args.get("format") == "json":
        with open(out, "a") as f:
            f.write(json.dumps({"loss": loss, "accuracy": str(1 - loss), "step": step}) + "\n")
    elif out:
        with open(out, "a") as f:
            f.write(line + "\n")
    else:
        print(line, flush=True)
    time.sleep(delay)
"""


def write_train(folder: Path) -> Path:
    path = folder / "train.py"
    path.write_text(TRAIN)
    return path
