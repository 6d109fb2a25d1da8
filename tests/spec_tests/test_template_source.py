"""Trial templates from a ConfigMap: read once from a folder, a ConfigMap manifest, or the Kubernetes API."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_flow.exceptions import SpecError
from katib_flow.spec import parse_experiment, validate
from katib_flow.spec.template_source import SOURCE_ANNOTATION, files_lookup, resolve_trial_template

from ..runner_tests.helpers import stored_status, trial_experiment
from ..runner_tests.scripts import write_train
from ..trial_kinds import config_map, move_to_config_map


def configmap_experiment(name: str = "from-configmap") -> tuple[dict[str, Any], dict[str, Any]]:
    """An experiment whose trial template is in ConfigMap kubeflow/trial-templates, and that template."""
    doc = trial_experiment(name, [], maxTrialCount=2, parallelTrialCount=1)
    return doc, move_to_config_map(doc)


def _experiment(doc: dict[str, Any]) -> Any:
    return parse_experiment(yaml.safe_dump(doc))


def test_a_template_from_a_folder_or_a_manifest_becomes_the_trial_spec(tmp_path: Path) -> None:
    doc, trial_spec = configmap_experiment()
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "defaultTrialTemplate.yaml").write_text(yaml.safe_dump(trial_spec))
    (tmp_path / "cm.yaml").write_text(yaml.safe_dump(config_map(trial_spec)))
    for source in (tmp_path / "folder", tmp_path / "cm.yaml"):
        resolved = resolve_trial_template(_experiment(doc), files_lookup([source]), str(source))
        template = resolved.spec.trial_template
        assert template is not None and template.config_map is None and template.trial_spec == trial_spec
        annotations = resolved.metadata.annotations or {}
        assert annotations[SOURCE_ANNOTATION] == "ConfigMap kubeflow/trial-templates key defaultTrialTemplate.yaml"
        assert validate(resolved) == []


def test_a_missing_or_broken_template_is_one_clear_error(tmp_path: Path) -> None:
    doc, _ = configmap_experiment()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match=r"spec.trialTemplate.configMap: ConfigMap kubeflow/trial-templates key "):
        resolve_trial_template(_experiment(doc), files_lookup([tmp_path / "empty"]), "here")
    (tmp_path / "empty" / "defaultTrialTemplate.yaml").write_text("- just\n- a list\n")
    with pytest.raises(SpecError, match="must hold a trial spec"):
        resolve_trial_template(_experiment(doc), files_lookup([tmp_path / "empty"]), "here")
    (tmp_path / "other.yaml").write_text("kind: Secret\n")
    with pytest.raises(SpecError, match="holds no ConfigMap"):
        files_lookup([tmp_path / "other.yaml"])


def test_validate_checks_the_template_once_it_is_found(tmp_path: Path) -> None:
    doc, trial_spec = configmap_experiment()
    broken = copy.deepcopy(trial_spec)
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["command"] = [*container["command"], "--m=${trialParameters.momentum}"]
    (tmp_path / "cm.yaml").write_text(yaml.safe_dump(config_map(broken)))
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc))
    cli = [sys.executable, "-m", "katib_flow.cli", "validate", str(path)]
    unchecked = subprocess.run(cli, capture_output=True, text=True, check=False)
    assert unchecked.returncode == 0  # only the reference can be checked without the template
    checked = subprocess.run([*cli, "--trial-templates", str(tmp_path / "cm.yaml")], capture_output=True, text=True)
    assert checked.returncode == 2
    assert "${trialParameters.momentum} is used but not declared" in checked.stderr


def test_run_reads_the_template_once_and_stores_it(tmp_path: Path) -> None:
    doc, trial_spec = configmap_experiment()
    write_train(tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "defaultTrialTemplate.yaml").write_text(yaml.safe_dump(trial_spec))
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc))
    db = f"sqlite:///{tmp_path / 'db'}"
    cli = [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", db, "--quiet"]
    no_cluster = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": ""}  # no kubeconfig to read it through
    refused = subprocess.run(cli, capture_output=True, text=True, cwd=tmp_path, check=False, env=no_cluster)
    assert refused.returncode == 2 and "no kubeconfig" in refused.stderr and "--trial-templates PATH" in refused.stderr
    ran = subprocess.run(
        [*cli, "--trial-templates", "templates"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert stored_status(db, "from-configmap")["trialsSucceeded"] == 2


def test_run_reads_the_configmap_through_the_kubeconfig_when_no_files_are_given(tmp_path: Path) -> None:
    from ..cluster_tests.fake_kubernetes import fake_kubernetes

    doc, trial_spec = configmap_experiment("from-cluster")
    write_train(tmp_path)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc))
    db = f"sqlite:///{tmp_path / 'db'}"
    with fake_kubernetes() as (fake, _):
        fake.objects[("configmaps", "kubeflow", "trial-templates")] = config_map(trial_spec)
        env = {**os.environ, "KUBECONFIG": str(fake.kubeconfig(tmp_path / "kubeconfig"))}
        ran = subprocess.run(
            [sys.executable, "-m", "katib_flow.cli", "run", str(path), "--db", db, "--quiet"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
            env=env,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert fake.requests == ["/api/v1/namespaces/kubeflow/configmaps/trial-templates"]  # read once
    assert stored_status(db, "from-cluster")["trialsSucceeded"] == 2
