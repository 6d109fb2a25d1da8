"""A compiled Workflow, executed: the interpreter runs it with the real step entry points and real trials."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from katib_flow import Experiment, algorithm, collector, minimize, search
from katib_flow.argo.compiler import CompileOptions, compile_template, compile_workflow, stack_depth
from katib_flow.engine import evaluate, find_experiment
from katib_flow.runner import run_experiment
from katib_flow.spec import Experiment as Wire
from katib_flow.store import ObservationRow, Store, TrialRow

from ..cluster_tests.fake_jobs import JobController
from ..cluster_tests.fake_kubernetes import FakeKubernetes, fake_kubernetes
from .interpreter import Interpreter

PROGRAM = (
    "import sys\n"
    "x = float(sys.argv[1])\n"
    "if x > 0.85:\n"
    "    print('diverged')\n"
    "    sys.exit(1)\n"
    "for step in range(3):\n"
    "    print(f'epoch {step}: loss={(x - 0.3) ** 2 + 0.1 / (step + 1):.6f}')\n"
)


def experiment(
    name: str, *, parallel: int, max_trials: int, goal: float | None = None, max_failed: int = 3, **kwargs: Any
) -> Wire:
    return Experiment(
        name,
        objective=minimize("loss", goal=goal),
        algorithm=algorithm("random", random_state=11),
        parameters={"x": search.double(0.0, 1.0)},
        image="python:3.11",
        command=[sys.executable, "-c", PROGRAM, "${trialParameters.x}"],
        max_trial_count=max_trials,
        parallel_trial_count=parallel,
        max_failed_trial_count=max_failed,
        **kwargs,
    ).to_model()


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    with fake_kubernetes() as (state, _):
        yield state


def run_on_argo(
    wire: Wire,
    db_url: str,
    kube: FakeKubernetes,
    workdir: Path,
    retried: frozenset[str] = frozenset(),
    *,
    template: bool = False,
    errors: dict[str, int] | None = None,
    expect: str = "Succeeded",
    readable: frozenset[str] = frozenset(),
    daemons: dict[str, str] | None = None,
    **options: Any,
) -> Interpreter:
    """Run the compiled Workflow (with ``template``, the WorkflowTemplate's generations) to its end.

    The service account may only touch the Workflow's namespace, as under manifests/rbac.yaml (and
    ``readable``, where a test's user granted it a Role too).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    claims = {"katib-flow-metrics": workdir / "metrics-pvc"}  # the File collector's shared volume
    JobController(kube, claims).attach()  # Jobs the wait step creates through the API run as processes
    compile_options = CompileOptions(poll_seconds=0.2, **options)
    if template:
        workflow_template, _ = compile_template(wire, compile_options)
        document: dict[str, Any] = yaml.safe_load(workflow_template.to_yaml())
    else:
        document = yaml.safe_load(compile_workflow(wire, compile_options).to_yaml())
    kube.allowed_namespaces = {document["metadata"].get("namespace") or "default", *readable}
    interpreter = Interpreter(
        document,
        workdir,
        {"katib-flow-db": {"url": db_url}},
        kube,
        kube.kubeconfig(workdir / "kubeconfig"),
        retried=retried,
        template_document=document if template else None,
        claims=claims,
        errors=dict(errors or {}),
        daemons=dict(daemons or {}),
    )
    assert interpreter.run() == expect
    return interpreter


def sqlite_url(folder: Path) -> str:
    """For the longest interpreter runs: SQLite only, to keep the default test run short."""
    return f"sqlite:///{folder / 'argo.db'}"


def _trials(store: Store, name: str) -> list[tuple[str, str, float | None]]:
    experiment_id = find_experiment(store, name).id
    with store.session() as session:
        rows = session.execute(
            select(TrialRow.name, TrialRow.state, TrialRow.objective)
            .where(TrialRow.experiment_id == experiment_id)
            .order_by(TrialRow.seq)
        ).all()
    return [(n, s, o) for n, s, o in rows]


def test_a_compiled_workflow_reaches_max_trial_count_like_the_local_runner(
    mysql_url: str, kube: FakeKubernetes, tmp_path: Path
) -> None:
    wire = experiment("lanes", parallel=1, max_trials=3)
    argo = run_on_argo(wire, mysql_url, kube, tmp_path / "argo")
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    run_experiment(wire, db=local_db, workdir=tmp_path / "local")
    with Store(mysql_url) as on_argo, Store(local_db) as locally:
        assert _trials(on_argo, "lanes") == _trials(locally, "lanes")  # same seed, same trials, same results
        status = evaluate(on_argo, find_experiment(on_argo, "lanes").id)
    assert status.reason == "ExperimentMaxTrialsReached"
    best = status.status["currentOptimalTrial"]
    assert argo.global_outputs["best-trial"] == best["bestTrialName"]
    assert yaml.safe_load(argo.global_outputs["best-parameters"]) == {
        a["name"]: a["value"] for a in best["parameterAssignments"]
    }
    assert argo.calls["record-status"] == 1


def test_parallel_lanes_stop_at_the_goal_and_count_failures(
    mysql_url: str, kube: FakeKubernetes, tmp_path: Path
) -> None:
    wire = experiment("goal", parallel=3, max_trials=30, goal=0.06, max_failed=30)
    argo = run_on_argo(wire, mysql_url, kube, tmp_path)
    with Store(mysql_url) as store:
        result = evaluate(store, find_experiment(store, "goal").id)
        trials = _trials(store, "goal")
    assert result.reason == "ExperimentGoalReached"
    assert float(argo.global_outputs["best-objective"]) <= 0.06
    failed = [t for t in trials if t[1] == "Failed"]
    assert all(t[2] is None or t[2] >= 0 for t in trials) and len(trials) < 30
    # a trial whose program exits 1 fails its Job (after the Job's retries) and is recorded Failed
    assert len(failed) == result.status.get("trialsFailed", 0)
    assert argo.calls["lane"] >= 3


def test_retried_steps_create_no_duplicate_trial_and_store_no_observation_twice(
    mysql_url: str, kube: FakeKubernetes, tmp_path: Path
) -> None:
    wire = experiment("retried", parallel=2, max_trials=3)
    run_on_argo(wire, mysql_url, kube, tmp_path, retried=frozenset({"suggest", "collect", "init"}))
    with Store(mysql_url) as store:
        trials = _trials(store, "retried")
        with store.session() as session:
            observations = session.execute(select(func.count()).select_from(ObservationRow)).scalar_one()
    assert len(trials) == 3 and len({t[0] for t in trials}) == 3
    succeeded = [t for t in trials if t[1] == "Succeeded"]
    assert observations == 3 * len(succeeded)  # three epochs each, once


# User-written conditions (not Katib's defaults): only the wait step can judge them
SUCCESS = 'status.conditions.#(type=="Complete")'
FAILURE = 'status.conditions.#(type=="Failed")'


def test_the_wait_step_path_gives_the_same_trials_as_the_local_runner_even_when_retried(
    kube: FakeKubernetes, tmp_path: Path
) -> None:
    db_url = sqlite_url(tmp_path)  # the steps on MariaDB: the resource path and the retried steps above
    wire = experiment(
        "waited", parallel=1, max_trials=4, max_failed=4, success_condition=SUCCESS, failure_condition=FAILURE
    )
    document = yaml.safe_load(compile_workflow(wire).to_yaml())
    assert "wait-trial" in {t["name"] for t in document["spec"]["templates"]}
    argo = run_on_argo(wire, db_url, kube, tmp_path / "argo", retried=frozenset({"wait-trial"}))
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    run_experiment(experiment("waited", parallel=1, max_trials=4, max_failed=4), db=local_db, workdir=tmp_path / "l")
    with Store(db_url) as on_argo, Store(local_db) as locally:
        assert _trials(on_argo, "waited") == _trials(locally, "waited")  # same seed, same trials, same results
    jobs = kube.ever_created("Job")
    assert len(jobs) == 4  # each wait ran twice; the second found the first's Job
    assert kube.created("Job") == []  # each deleted once its trial was finished (no retain)
    assert {j["metadata"]["ownerReferences"][0]["name"] for j in jobs} == {argo.name}
    assert argo.calls["wait-trial"] == 4


def test_generations_continue_as_new_until_max_trial_count_and_the_first_reports_the_end(
    kube: FakeKubernetes, tmp_path: Path
) -> None:
    db_url = sqlite_url(tmp_path)  # the steps' MariaDB behaviour is covered by the runs above
    wire = experiment("generations", parallel=2, max_trials=7, max_failed=7)
    first = run_on_argo(wire, db_url, kube, tmp_path, template=True, iterations_per_lane=2)
    generations = first.all_generations()
    assert [g.phase for g in generations] == ["Succeeded"] * 2  # 2 lanes x 2 iterations: 4 + 3 trials
    assert [s["metadata"]["labels"]["katib-flow/generation"] for s in first.successors] == ["1"]
    # named by generation 0 (the chain) and the generation: a retried continue applies the same Workflow
    assert [s["metadata"]["name"] for s in first.successors] == [f"{first.name}-g1"]
    assert generations[1].name == f"{first.name}-g1"
    assert generations[1].successors == []  # the experiment ended in the second generation
    with Store(db_url) as store:
        trials = _trials(store, "generations")
        status = evaluate(store, find_experiment(store, "generations").id)
        slots = store.transaction(
            lambda session: {(lane, i) for lane, i in session.execute(select(TrialRow.lane, TrialRow.iteration))}
        )
    assert len(trials) == 7 and status.reason == "ExperimentMaxTrialsReached"
    # generation 1's lanes go on from iteration 2: slots stay unique across generations
    assert len(slots) == 7 and slots <= {(lane, i) for lane in (0, 1) for i in range(4)}
    best = status.status["currentOptimalTrial"]["bestTrialName"]
    # a WorkflowTemplate's global outputs carry the experiment's name (no clash inside a caller's Workflow)
    assert first.global_outputs["generations-best-trial"] == best  # generation 0 waited for the end
    assert generations[1].global_outputs["generations-best-trial"] == best
    assert max(g.max_depth for g in generations) + 1 == stack_depth(2)  # as Argo counts it


FILE_PROGRAM = (
    "import sys\n"
    "x, path = float(sys.argv[1]), sys.argv[2]\n"
    "with open(path, 'a') as out:\n"
    "    for step in range(3):\n"
    "        out.write(f'loss={(x - 0.3) ** 2 + 0.1 / (step + 1):.6f}\\n')\n"
    "print('nothing on stdout')\n"
)


def test_the_file_collector_reads_the_trials_files_from_the_shared_volume(kube: FakeKubernetes, tmp_path: Path) -> None:
    db_url = sqlite_url(tmp_path)
    wire = Experiment(
        "files",
        objective=minimize("loss"),
        algorithm=algorithm("random", random_state=5),
        parameters={"x": search.double(0.0, 1.0)},
        image="python:3.11",
        command=[sys.executable, "-c", FILE_PROGRAM, "${trialParameters.x}", "/var/log/katib/metrics.log"],
        metrics_collector=collector.file("/var/log/katib/metrics.log"),
        max_trial_count=3,
        parallel_trial_count=1,
    ).to_model()
    run_on_argo(wire, db_url, kube, tmp_path / "argo")
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    run_experiment(wire, db=local_db, workdir=tmp_path / "local")
    with Store(db_url) as on_argo, Store(local_db) as locally:
        trials = _trials(on_argo, "files")
        assert trials == _trials(locally, "files")
    assert all(state == "Succeeded" and objective is not None for _, state, objective in trials)
    # each trial wrote into its own folder of the claim
    assert sorted(p.parent.name for p in (tmp_path / "argo" / "metrics-pvc").glob("*/metrics.log")) == sorted(
        name for name, _, _ in trials
    )


def test_a_configmap_template_of_a_train_job_runs_through_init_and_the_wait_step(
    kube: FakeKubernetes, tmp_path: Path
) -> None:
    from katib_flow.spec import parse_experiment

    from ..trial_kinds import TRAIN_JOB, config_map, experiment_with, move_to_config_map

    doc = experiment_with(TRAIN_JOB, "cm-trainjob")
    doc["spec"]["trialTemplate"]["primaryPodLabels"] = {"jobset.sigs.k8s.io/replicatedjob-name": "node"}
    trial_spec = move_to_config_map(doc)
    trial_spec["spec"]["trainer"]["command"] = [sys.executable, "-c", PROGRAM, "${trialParameters.learningRate}"]
    kube.objects[("configmaps", "kubeflow", "trial-templates")] = config_map(trial_spec)
    db_url = sqlite_url(tmp_path)
    # the init step reads the ConfigMap, in namespace kubeflow (docs/cluster.md: a Role there grants it)
    run_on_argo(parse_experiment(yaml.safe_dump(doc)), db_url, kube, tmp_path, readable=frozenset({"kubeflow"}))
    with Store(db_url) as store:
        status = evaluate(store, find_experiment(store, "cm-trainjob").id).status
    assert status["trialsSucceeded"] == 2
    assert [o["kind"] for o in kube.ever_created("TrainJob")] == ["TrainJob", "TrainJob"]
    assert sum("/configmaps/" in r for r in kube.requests) == 1  # read once, then the stored template


def test_an_argo_workflow_trial_runs_through_the_wait_step_with_katibs_phase_conditions(
    kube: FakeKubernetes, tmp_path: Path
) -> None:
    from katib_flow.spec import parse_experiment

    from ..trial_kinds import ARGO_WORKFLOW, experiment_with

    doc = experiment_with(ARGO_WORKFLOW, "argo-trials")
    workflow = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]
    workflow["templates"][0]["steps"].append([{"name": "model-training", "template": "model-training"}])
    workflow["templates"][2]["container"]["command"] = [
        sys.executable,
        "-c",
        PROGRAM,
        "${trialParameters.learningRate}",
    ]
    db_url = sqlite_url(tmp_path)
    argo = run_on_argo(parse_experiment(yaml.safe_dump(doc)), db_url, kube, tmp_path)
    with Store(db_url) as store:
        status = evaluate(store, find_experiment(store, "argo-trials").id).status
    assert status["trialsSucceeded"] == 2 and argo.calls["wait-trial"] == 2
    assert [o["kind"] for o in kube.ever_created("Workflow")] == ["Workflow", "Workflow"]
