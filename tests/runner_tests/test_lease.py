"""The runner's lease when the database fails under it: no traceback from its thread, one clear error."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from katib_flow.engine import init_experiment
from katib_flow.exceptions import StorageError
from katib_flow.runner import lease as lease_module
from katib_flow.runner.lease import Lease
from katib_flow.store import Store
from tests.engine_tests.helpers import experiment


def test_a_failing_heartbeat_is_recorded_not_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raised: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    monkeypatch.setattr(lease_module, "HEARTBEAT_SECONDS", 0.05)
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        stored = init_experiment(store, experiment())
        lease = Lease(store, stored.id, "exp")
        lease.acquire()
        with store.engine.begin() as conn:  # the experiment disappears under the runner
            conn.execute(text("DELETE FROM experiments"))
        deadline = time.monotonic() + 10
        while lease.error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert isinstance(lease.error, StorageError) and "does not exist" in str(lease.error)
        lease.release(quiet=True)  # the run is already failing: its own error is the one to show
        with pytest.raises(StorageError):
            lease.release()
    assert raised == []  # before: the heartbeat thread died with a traceback on stderr
