"""The StdOut collector on a cluster: the primary pod's log, through the Kubernetes API (a fake one on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from katib_flow.cluster.pods import PodLogs, primary_pod_selector
from katib_flow.cluster.starting import init_step
from katib_flow.cluster.steps import collect_step, primary_log, suggest_step
from katib_flow.exceptions import CollectorError
from katib_flow.store import Store

from .fake_kubernetes import FakePod, fake_kubernetes
from .test_steps import experiment


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def test_selectors_per_kind() -> None:
    job = {"kind": "Job", "metadata": {"name": "t-1"}}
    assert primary_pod_selector(job, None) == "job-name=t-1"
    tfjob = {"kind": "TFJob", "metadata": {"name": "t-2"}}
    selector = primary_pod_selector(tfjob, {"training.kubeflow.org/job-role": "master"})
    assert selector == "training.kubeflow.org/job-name=t-2,training.kubeflow.org/job-role=master"
    with pytest.raises(CollectorError, match="primaryPodLabels"):
        primary_pod_selector({"kind": "RayJob", "metadata": {"name": "t"}}, None)


def test_collect_reads_the_newest_primary_pod_log_and_retries_a_busy_api(store: Store) -> None:
    init_step(store, experiment(max_trials=1, parallel=1))
    suggestion = suggest_step(store, "lanes", "team", 0, 0)
    with fake_kubernetes() as (fake, api):
        fake.pods = [
            FakePod(  # the first attempt of the Job, which failed
                f"{suggestion.trial}-a", "team", {"job-name": suggestion.trial}, "2026-01-01T00:00:00Z",
                {"training-container": "loss=9.0\n"},
            ),
            FakePod(  # the retry that ended the Job
                f"{suggestion.trial}-b", "team", {"job-name": suggestion.trial}, "2026-01-01T00:05:00Z",
                {"training-container": "epoch 0: loss=0.5\nepoch 1: loss=0.25\n"},
            ),
            FakePod("other", "team", {"job-name": "someone-else"}, "2026-01-01T00:09:00Z", {"training-container": ""}),
        ]  # fmt: skip
        fake.fail_next = 2
        pauses: list[float] = []
        lines = list(primary_log(store, "lanes", "team", suggestion.trial, PodLogs(api, sleep=pauses.append)))
    assert lines == ["epoch 0: loss=0.5", "epoch 1: loss=0.25"]
    assert pauses == [0.5, 1.0]  # two 503s, then success
    assert any("labelSelector=job-name" in r for r in fake.requests)
    assert any(r.endswith("/log?container=training-container") for r in fake.requests)
    trial = collect_step(store, "lanes", "team", suggestion.trial, succeeded=True, log_lines=lines)
    assert trial.objective == pytest.approx(0.25)


def test_no_pod_is_a_clear_error(store: Store) -> None:
    init_step(store, experiment(max_trials=1, parallel=1))
    suggestion = suggest_step(store, "lanes", "team", 0, 0)
    with fake_kubernetes() as (_, api), pytest.raises(CollectorError, match="no pod in namespace 'team' matches"):
        list(primary_log(store, "lanes", "team", suggestion.trial, PodLogs(api, sleep=lambda _: None)))
