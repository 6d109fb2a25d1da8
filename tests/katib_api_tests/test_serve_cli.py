"""``katib-flow serve`` as a process: a port in use is one line, SIGTERM stops it cleanly, logs are JSON lines."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "katib_flow.cli", "serve", "--host", "127.0.0.1", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_serving(port: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        checker: Any = health_pb2_grpc.HealthStub(channel)
        answer = checker.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_serve_stops_cleanly_on_sigterm_and_logs_json_lines(tmp_path: Path) -> None:
    port = _free_port()
    process = _serve("--port", str(port), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        _wait_serving(port)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    entries = [json.loads(line) for line in err.splitlines()]
    assert [e["msg"] for e in entries] == ["serving", "stopping"]
    assert entries[0]["address"] == f"127.0.0.1:{port}"
    assert entries[0]["services"] == "Suggestion, EarlyStopping, DBManager"


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    port = _free_port()
    first = _serve("--port", str(port))
    try:
        _wait_serving(port)
        second = _serve("--port", str(port))
        _, err = second.communicate(timeout=30)
        assert second.returncode == 2
        assert err.strip().splitlines()[-1] == (
            f"katib-flow: cannot listen on 127.0.0.1:{port}: the port is in use or the address is not this host's"
        )
    finally:
        first.terminate()
        first.wait(30)


def test_a_port_out_of_range_is_refused_not_wrapped_around() -> None:
    # grpc would bind 99999 modulo 65536 (34463) without a word
    process = _serve("--port", "99999")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "Invalid value for '--port': 99999 is not in the range 0<=x<=65535" in err
