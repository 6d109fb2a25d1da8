"""Path remapping and relative-path resolution of trial commands."""

from __future__ import annotations

from pathlib import Path

from katib_flow.runner.workspace import Workspace, resolve_relative


def test_collector_folder_paths_move_under_the_trial(tmp_path: Path) -> None:
    w = Workspace(tmp_path / "t1")
    fs = tmp_path / "t1" / "fs"
    assert w.remap(["--log-path=/katib/mnist.log", "/katib", "--data=/var/data", "python3"], ["/katib"]) == [
        f"--log-path={fs}/katib/mnist.log",
        f"{fs}/katib",
        "--data=/var/data",
        "python3",
    ]
    # Katib's TFJob example writes to the folder above the one the collector reads.
    assert w.remap(["--log-path=/mnist-with-summaries-logs"], ["/mnist-with-summaries-logs/test"]) == [
        f"--log-path={fs}/mnist-with-summaries-logs"
    ]
    # Only the collector's folder and its ancestors themselves move, not their other children.
    assert w.remap(["--data=/var/data", "--m=/var/log/katib/metrics.log"], ["/var/log/katib"]) == [
        "--data=/var/data",
        f"--m={fs}/var/log/katib/metrics.log",
    ]
    assert w.remap_env({"LOG": "/katib/x", "HOME": "/root"}, ["/katib"]) == {"LOG": f"{fs}/katib/x", "HOME": "/root"}
    assert w.remap(["/katib/x"], []) == ["/katib/x"]


def test_relative_paths_resolve_against_the_experiment_folder(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    (tmp_path / "data").mkdir()
    argv = ["python3", "train.py", "-c", "--verbose", "--data=data", "--lr=0.1", "missing.py", "/abs/path"]
    assert resolve_relative(argv, tmp_path) == [
        "python3",
        str(tmp_path / "train.py"),
        "-c",
        "--verbose",
        f"--data={tmp_path / 'data'}",
        "--lr=0.1",
        "missing.py",
        "/abs/path",
    ]
