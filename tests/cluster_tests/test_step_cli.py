"""``katib-flow step ...`` as a Workflow's containers run it: arguments in, one output file per value."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from katib_flow.cli import main
from katib_flow.engine.render import local_command
from katib_flow.spec import dump_experiment

from .test_steps import experiment


def step(db: str, outputs: Path, *args: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["step", *args, "--db", db, "--outputs", str(outputs)])
    assert result.exit_code == 0, result.output
    return {f.name: f.read_text() for f in outputs.iterdir()}


def test_steps_through_the_command_line_run_an_experiment(db_url: str, tmp_path: Path) -> None:
    wire = experiment(max_trials=2, parallel=1)
    (tmp_path / "experiment.yaml").write_text(dump_experiment(wire))
    init = step(db_url, tmp_path / "init", "init", str(tmp_path / "experiment.yaml"))
    assert init["completed"] == "false" and init["experiment-id"].isdigit()
    who = ("--experiment", "lanes", "--namespace", "team")
    for iteration in range(5):
        out = tmp_path / f"iteration-{iteration}"
        suggested = step(db_url, out / "suggest", "suggest", *who, "--lane", "0", "--iteration", str(iteration))
        if suggested["runnable"] == "true":
            run_object = json.loads(suggested["run-object"])
            assert run_object["metadata"] == {"name": suggested["trial"], "namespace": "team"}  # no --run-namespace
            command = local_command(wire, run_object)
            log = out / "trial.log"
            with log.open("w") as handle:
                code = subprocess.run(command.argv, stdout=handle, check=False).returncode
            phase = "Succeeded" if code == 0 else "Failed"
            collected = step(
                db_url, out / "collect", "collect", *who, "--trial", suggested["trial"], "--phase", phase,
                "--log-file", str(log),
            )  # fmt: skip
            assert collected["state"] in ("Succeeded", "Failed")
        if step(db_url, out / "decide", "decide", *who)["proceed"] == "false":
            break
    final = step(db_url, tmp_path / "finish", "finish", *who)
    assert final["reason"] == "ExperimentMaxTrialsReached" and final["succeeded"] == "true"
    assert set(json.loads(final["best-parameters"])) == {"x"}
    assert json.loads(final["status"])["trials"] == 2 and float(final["best-objective"]) >= 0


def test_a_step_on_an_unknown_experiment_fails_with_one_line_and_exit_1(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = CliRunner().invoke(main, ["step", "decide", "--experiment", "nope", "--db", db])
    assert result.exit_code == 1  # not bad input in a step: the database may be another's right now, Argo retries
    assert result.output.strip().splitlines() == [f"katib-flow: no experiment named 'nope' in {db}"]


def test_a_step_without_kubernetes_credentials_is_one_line_and_exit_1(tmp_path: Path) -> None:
    args = ["step", "wait", "--experiment", "x", "--trial", "t", "--db", f"sqlite:///{tmp_path / 'db'}"]
    env = {"KUBECONFIG": str(tmp_path / "absent"), "KUBERNETES_SERVICE_HOST": None, "KUBERNETES_SERVICE_PORT": None}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("katib-flow: no Kubernetes API to talk to: not in a pod, and no usable kubeconfig")


def test_a_step_given_an_invalid_experiment_exits_2_so_argo_does_not_retry_it(tmp_path: Path) -> None:
    bad = "apiVersion: kubeflow.org/v1beta1\nkind: Experiment\nmetadata: {name: x}\nspec: {}\n"
    (tmp_path / "bad.yaml").write_text(bad)
    result = CliRunner().invoke(main, ["step", "init", str(tmp_path / "bad.yaml"), "--db", f"sqlite:///{tmp_path}/db"])
    assert result.exit_code == 2, result.output


def test_the_fail_step_exits_1_with_the_reason() -> None:
    result = CliRunner().invoke(main, ["step", "fail", "--experiment", "e", "--reason", "ExperimentMaxTrialsReached"])
    assert result.exit_code == 1
    assert result.output.strip() == "katib-flow: experiment 'e' failed (ExperimentMaxTrialsReached)"
