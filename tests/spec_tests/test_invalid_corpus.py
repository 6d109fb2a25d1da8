"""A corpus of invalid experiments, one defect each.

Every case breaks the valid base experiment in one way and states exactly which
problems validation must report (field path and a fragment of the message). The
same corpus runs through the Python API and through ``katib-flow validate``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from katib_flow.cli import main
from katib_flow.exceptions import SpecError
from katib_flow.spec import parse_experiment, validate

from .base import COMMAND, base, del_, get, set_

Doc = dict[str, Any]
Expected = list[tuple[str, str]]


def _algo(name: str, **settings: str) -> Callable[[Doc], Doc]:
    def mutate(d: Doc) -> Doc:
        entries = [{"name": k, "value": v} for k, v in settings.items()]
        return set_(d, "spec.algorithm", {"algorithmName": name, "algorithmSettings": entries})

    return mutate


def _collector(kind: str, **source: Any) -> Callable[[Doc], Doc]:
    def mutate(d: Doc) -> Doc:
        mc: Doc = {"collector": {"kind": kind}}
        if source:
            mc["source"] = source
        return set_(d, "spec.metricsCollectorSpec", mc)

    return mutate


def _chain(*fns: Callable[[Doc], Doc]) -> Callable[[Doc], Doc]:
    def mutate(d: Doc) -> Doc:
        for fn in fns:
            d = fn(d)
        return d

    return mutate


def _s(path: str, value: Any) -> Callable[[Doc], Doc]:
    return lambda d: set_(d, path, value)


def _d(path: str) -> Callable[[Doc], Doc]:
    return lambda d: del_(d, path)


def _append(path: str, value: Any) -> Callable[[Doc], Doc]:
    def mutate(d: Doc) -> Doc:
        get(d, path).append(value)
        return d

    return mutate


P0 = "spec.parameters[0]"
FS0 = f"{P0}.feasibleSpace"
TT = "spec.trialTemplate"
TS = f"{TT}.trialSpec"
MC = "spec.metricsCollectorSpec"
FSP = f"{MC}.source.fileSystemPath"
AS0 = "spec.algorithm.algorithmSettings[0]"

CASES: list[tuple[str, Callable[[Doc], Doc], Expected]] = [
    # metadata and document
    ("name-uppercase", _s("metadata.name", "Base"), [("metadata.name", "lower case alphanumeric")]),
    ("name-trailing-dash", _s("metadata.name", "base-"), [("metadata.name", "end with an alphanumeric")]),
    ("name-too-long", _s("metadata.name", "a" * 41), [("metadata.name", "no more than 40 characters (got 41)")]),
    ("name-missing", _d("metadata.name"), [("metadata.name", "must be specified")]),
    (
        "namespace-invalid",
        _s("metadata.namespace", "Kube_flow"),
        [("metadata.namespace", "valid Kubernetes namespace")],
    ),
    ("wrong-kind", _s("kind", "Trial"), [("kind", "must be Experiment (got 'Trial')")]),
    ("wrong-api-version", _s("apiVersion", "kubeflow.org/v1alpha3"), [("apiVersion", "must be kubeflow.org/v1beta1")]),
    # budgets
    ("max-trials-zero", _s("spec.maxTrialCount", 0), [("spec.maxTrialCount", "must be greater than 0 (got 0)")]),
    ("parallel-zero", _s("spec.parallelTrialCount", 0), [("spec.parallelTrialCount", "must be greater than 0")]),
    ("max-failed-negative", _s("spec.maxFailedTrialCount", -1), [("spec.maxFailedTrialCount", "not be less than 0")]),
    (
        "max-trials-above-int32",
        _s("spec.maxTrialCount", 10**23),
        [("spec.maxTrialCount", "must be at most 2147483647 (Katib's counts are int32; got 100000000000000000000000)")],
    ),
    (
        "max-failed-above-max",
        _s("spec.maxFailedTrialCount", 7),
        [("spec.maxFailedTrialCount", "less than or equal to spec.maxTrialCount (got 7 > 6)")],
    ),
    (
        "parallel-above-max",
        _s("spec.parallelTrialCount", 7),
        [("spec.parallelTrialCount", "less than or equal to spec.maxTrialCount (got 7 > 6)")],
    ),
    # objective
    ("objective-missing", _d("spec.objective"), [("spec.objective", "must be specified")]),
    ("objective-type", _s("spec.objective.type", "maximise"), [("spec.objective.type", "minimize or maximize")]),
    (
        "objective-metric-missing",
        _d("spec.objective.objectiveMetricName"),
        [("spec.objective.objectiveMetricName", "")],
    ),
    (
        "additional-repeats-objective",
        _s("spec.objective.additionalMetricNames", ["accuracy"]),
        [("spec.objective.additionalMetricNames[0]", "must not repeat the objective metric")],
    ),
    (
        "strategy-invalid",
        _s("spec.objective.metricStrategies", [{"name": "accuracy", "value": "mean"}]),
        [("spec.objective.metricStrategies[0].value", "must be min, max or latest (got 'mean')")],
    ),
    (
        "strategy-unknown-metric",
        _s("spec.objective.metricStrategies", [{"name": "f1", "value": "max"}]),
        [("spec.objective.metricStrategies[0].name", "neither the objective metric nor an additional metric")],
    ),
    # algorithm
    ("algorithm-missing", _d("spec.algorithm"), [("spec.algorithm", "must be specified")]),
    ("algorithm-name-empty", _s("spec.algorithm.algorithmName", ""), [("spec.algorithm.algorithmName", "specified")]),
    ("algorithm-unknown", _algo("bayes"), [("spec.algorithm.algorithmName", "unknown algorithm 'bayes'")]),
    ("algorithm-katib-only", _algo("enas"), [("spec.algorithm.algorithmName", "not supported by katib-flow")]),
    ("setting-unknown", _algo("random", seed="1"), [(f"{AS0}.name", "unknown setting 'seed' for algorithm random")]),
    ("setting-negative", _algo("random", random_state="-1"), [(f"{AS0}.value", "greater than or equal to 0")]),
    ("setting-not-int", _algo("bayesianoptimization", n_initial_points="many"), [(f"{AS0}.value", "integer")]),
    ("bo-acq-func", _algo("bayesianoptimization", acq_func="UCB"), [(f"{AS0}.value", "(got 'UCB')")]),
    ("tpe-gamma", _algo("tpe", gamma="1.5"), [(f"{AS0}.value", "less than 1")]),
    ("cmaes-restart", _algo("cmaes", restart_strategy="sep"), [(f"{AS0}.value", "'none', 'ipop' or 'bipop'")]),
    (
        "hyperband-missing-r_l",
        _algo("hyperband", resource_name="layers"),
        [("spec.algorithm.algorithmSettings", "r_l")],
    ),
    (
        "hyperband-parallel",
        _algo("hyperband", r_l="4", eta="2", resource_name="layers"),
        [("spec.parallelTrialCount", "must be at least 4 for hyperband")],
    ),
    (
        "hyperband-resource-unknown",
        _algo("hyperband", r_l="2", eta="2", resource_name="epochs"),
        [("spec.algorithm.algorithmSettings", "resource_name 'epochs' must be one of spec.parameters")],
    ),
    (
        "hyperband-resource-categorical",
        _algo("hyperband", r_l="2", eta="2", resource_name="optimizer"),
        [("spec.parameters[2].parameterType", "must be int or double")],
    ),
    (
        "cmaes-one-continuous",
        _chain(
            _algo("cmaes"),
            _s(
                "spec.parameters[1]",
                {"name": "layers", "parameterType": "discrete", "feasibleSpace": {"list": ["1", "2"]}},
            ),
        ),
        [("spec.parameters", "cmaes needs at least two int or double parameters (got 1)")],
    ),
    ("grid-double-without-step", _algo("grid"), [(f"{FS0}.step", "must be specified for double parameter 'lr'")]),
    (
        "grid-smaller-than-budget",
        _chain(_algo("grid"), _s(f"{FS0}.step", "0.05"), _s("spec.maxTrialCount", 100)),
        [("spec.maxTrialCount", "must not exceed the 32 points of the grid (got 100)")],
    ),
    # early stopping and resume policy
    (
        "early-stopping-unknown",
        _s("spec.earlyStopping", {"algorithmName": "median"}),
        [("spec.earlyStopping.algorithmName", "unknown early stopping algorithm 'median'")],
    ),
    (
        "early-stopping-setting",
        _s(
            "spec.earlyStopping",
            {"algorithmName": "medianstop", "algorithmSettings": [{"name": "min_trials_required", "value": "0"}]},
        ),
        [("spec.earlyStopping.algorithmSettings[0].value", "greater than 0")],
    ),
    ("early-stopping-name-empty", _s("spec.earlyStopping", {}), [("spec.earlyStopping.algorithmName", "specified")]),
    ("resume-policy", _s("spec.resumePolicy", "Always"), [("spec.resumePolicy", "invalid resumePolicy 'Always'")]),
    # parameters
    ("parameter-type", _s(f"{P0}.parameterType", "float"), [(f"{P0}.parameterType", "'float' is not supported")]),
    ("double-min-above-max", _s(f"{FS0}.min", "0.5"), [(f"{FS0}.min", "must be less than max (got 0.5 >= 0.1)")]),
    (
        "int-min-above-max",
        _s("spec.parameters[1].feasibleSpace.min", "5"),
        [("spec.parameters[1].feasibleSpace.min", "less than or equal to max (got 5 > 4)")],
    ),
    (
        "int-not-integer",
        _s("spec.parameters[1].feasibleSpace.min", "1.5"),
        [("spec.parameters[1].feasibleSpace.min", "must be an integer (got '1.5')")],
    ),
    ("double-not-number", _s(f"{FS0}.max", "abc"), [(f"{FS0}.max", "must be a number (got 'abc')")]),
    ("double-max-missing", _d(f"{FS0}.max"), [(f"{FS0}.max", "must be specified for parameterType double")]),
    ("step-zero", _s(f"{FS0}.step", "0"), [(f"{FS0}.step", "must be greater than 0 (got 0)")]),
    (
        "log-uniform-at-zero",
        _chain(_s(f"{FS0}.min", "0"), _s(f"{FS0}.distribution", "logUniform")),
        [(f"{FS0}.min", "greater than 0 for distribution logUniform")],
    ),
    ("distribution-unknown", _s(f"{FS0}.distribution", "gaussian"), [(f"{FS0}.distribution", "'gaussian' is not")]),
    ("list-for-double", _s(f"{FS0}.list", ["0.1"]), [(f"{FS0}.list", "not supported for parameterType double")]),
    (
        "min-for-categorical",
        _s("spec.parameters[2].feasibleSpace.min", "1"),
        [("spec.parameters[2].feasibleSpace.min", "not supported for parameterType categorical")],
    ),
    (
        "categorical-empty-list",
        _s("spec.parameters[2].feasibleSpace.list", []),
        [("spec.parameters[2].feasibleSpace.list", "must be a non-empty list")],
    ),
    (
        "categorical-duplicate",
        _s("spec.parameters[2].feasibleSpace.list", ["sgd", "sgd"]),
        [("spec.parameters[2].feasibleSpace.list[1]", "duplicate value 'sgd'")],
    ),
    (
        "discrete-not-number",
        _s("spec.parameters[3].feasibleSpace.list", ["16", "big"]),
        [("spec.parameters[3].feasibleSpace.list[1]", "must be a number")],
    ),
    ("feasible-space-missing", _d(FS0), [(FS0, "feasibleSpace must be specified")]),
    (
        "duplicate-parameter-name",
        _append("spec.parameters", {"name": "lr", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "2"}}),
        [("spec.parameters[4].name", "duplicate parameter name 'lr'")],
    ),
    ("no-parameters", _d("spec.parameters"), [("spec.parameters", "spec.parameters or spec.nasConfig")]),
    (
        "nas-config",
        _chain(_d("spec.parameters"), _s("spec.nasConfig", {"graphConfig": {"numLayers": 8}})),
        [("spec.nasConfig", "not supported by katib-flow")],
    ),
    # trial template
    ("template-missing", _d(TT), [(TT, "must be specified")]),
    ("primary-container-missing", _d(f"{TT}.primaryContainerName"), [(f"{TT}.primaryContainerName", "specified")]),
    (
        "primary-container-not-found",
        _s(f"{TT}.primaryContainerName", "trainer"),
        [(f"{TT}.primaryContainerName", "no container named 'trainer' in the trial spec (containers: training)")],
    ),
    ("trial-parameters-missing", _d(f"{TT}.trialParameters"), [(f"{TT}.trialParameters", "must be specified")]),
    (
        "trial-spec-and-config-map",
        _s(f"{TT}.configMap", {"configMapName": "t", "configMapNamespace": "ns", "templatePath": "job.yaml"}),
        [(TT, "only one of trialSpec or configMap")],
    ),
    ("no-trial-source", _d(TS), [(TS, "one of trialSpec or configMap must be specified")]),
    (
        "config-map-incomplete",
        _chain(
            _d(TS),
            _s(f"{TT}.configMap", {"configMapName": "t"}),
            _s(f"{TT}.successCondition", "status.ok"),
            _s(f"{TT}.failureCondition", "status.failed"),
        ),
        [(f"{TT}.configMap.configMapNamespace", "specified"), (f"{TT}.configMap.templatePath", "specified")],
    ),
    (
        "config-map-without-conditions",
        _chain(_d(TS), _s(f"{TT}.configMap", {"configMapName": "t", "configMapNamespace": "ns", "templatePath": "j"})),
        [(f"{TT}.successCondition", "successCondition and failureCondition must be specified")],
    ),
    (
        "trial-parameter-braces",
        _s(f"{TT}.trialParameters[0].name", "{lr}"),
        [
            (f"{TT}.trialParameters[0]", "must not contain '{' or '}'"),
            (TS, "${trialParameters.lr} is used but not declared"),
        ],
    ),
    (
        "trial-parameter-duplicate-name",
        _append(f"{TT}.trialParameters", {"name": "lr", "reference": "layers"}),
        [(f"{TT}.trialParameters[4].name", "duplicate trial parameter name 'lr'")],
    ),
    (
        "trial-parameter-duplicate-reference",
        _chain(
            _append(f"{TT}.trialParameters", {"name": "rate", "reference": "lr"}),
            _append(COMMAND, "--rate=${trialParameters.rate}"),
        ),
        [(f"{TT}.trialParameters[4].reference", "duplicate trial parameter reference 'lr'")],
    ),
    (
        "trial-parameter-unknown-reference",
        _s(f"{TT}.trialParameters[0].reference", "learning_rate"),
        [(f"{TT}.trialParameters[0].reference", "'learning_rate' is neither one of spec.parameters")],
    ),
    (
        "trial-parameter-unused",
        _s(
            COMMAND,
            [
                "python3",
                "train.py",
                "--lr=${trialParameters.lr}",
                "--layers=${trialParameters.layers}",
                "--optimizer=${trialParameters.optimizer}",
            ],
        ),
        [(f"{TT}.trialParameters[3].name", "${trialParameters.batch} does not appear")],
    ),
    (
        "placeholder-undeclared",
        _append(COMMAND, "--momentum=${trialParameters.momentum}"),
        [(TS, "${trialParameters.momentum} is used but not declared")],
    ),
    ("trial-spec-named", _s(f"{TS}.metadata", {"name": "job"}), [(f"{TS}.metadata.name", "must be omitted")]),
    ("trial-spec-kind-missing", _d(f"{TS}.kind"), [(f"{TS}.kind", "must be specified")]),
    ("job-unknown-field", _s(f"{TS}.status", {}), [(f"{TS}.status", "unknown field of a batch/v1 Job")]),
    (
        "command-not-strings",
        _append(COMMAND, 3),
        [(f"{TS}.spec.template.spec.containers[0].command", "must be a list of strings")],
    ),
    (
        "custom-kind-without-conditions",
        _s(f"{TS}.kind", "RayJob"),
        [(f"{TT}.successCondition", "successCondition and failureCondition must be specified")],
    ),
    # metrics collector
    ("collector-kind", _collector("Stdout"), [(f"{MC}.collector.kind", "invalid metrics collector kind 'Stdout'")]),
    ("collector-prometheus", _collector("PrometheusMetric"), [(f"{MC}.collector.kind", "not supported by katib-flow")]),
    (
        "file-relative-path",
        _collector("File", fileSystemPath={"path": "metrics.log", "kind": "File"}),
        [(f"{FSP}.path", "absolute path of the metrics file is required (got 'metrics.log')")],
    ),
    (
        "file-format",
        _collector("File", fileSystemPath={"path": "/m.log", "kind": "File", "format": "CSV"}),
        [(f"{FSP}.format", "must be TEXT or JSON (got 'CSV')")],
    ),
    (
        "file-json-with-filter",
        _collector("File", fileSystemPath={"path": "/m.json", "format": "JSON"}, filter={"metricsFormat": ["(a)(b)"]}),
        [(f"{MC}.source.filter", "must be omitted when the metrics file format is JSON")],
    ),
    (
        "tfevent-file-kind",
        _collector("TensorFlowEvent", fileSystemPath={"path": "/logs", "kind": "File"}),
        [(f"{FSP}.kind", "must be Directory (got 'File')")],
    ),
    (
        "tfevent-format",
        _collector("TensorFlowEvent", fileSystemPath={"path": "/logs", "format": "TEXT"}),
        [(f"{FSP}.format", "must be empty")],
    ),
    (
        "filter-one-group",
        _collector("StdOut", filter={"metricsFormat": [r"loss=(\d+)"]}),
        [(f"{MC}.source.filter.metricsFormat[0]", "two top subexpressions are required")],
    ),
    (
        "filter-bad-regex",
        _collector("StdOut", filter={"metricsFormat": ["((a)(b)"]}),
        [(f"{MC}.source.filter.metricsFormat[0]", "invalid regular expression")],
    ),
]

# Defects that the document's structure already rejects, before any Katib rule runs.
STRUCTURE_CASES: list[tuple[str, Callable[[Doc], Doc], Expected]] = [
    (
        "unknown-field",
        _s("spec.objective.typ", "minimize"),
        [("spec.objective.typ", "unknown field; did you mean 'type'?")],
    ),
    ("unknown-spec-field", _s("spec.maxTrials", 3), [("spec.maxTrials", "unknown field")]),
    ("max-trials-string", _s("spec.maxTrialCount", "6"), [("spec.maxTrialCount", "must be an integer (got '6')")]),
    ("bound-boolean", _s(f"{FS0}.min", True), [(f"{FS0}.min", "must be a string (got True)")]),
    ("goal-not-number", _s("spec.objective.goal", "high"), [("spec.objective.goal", "must be a number (got 'high')")]),
    ("parameters-mapping", _s("spec.parameters", {"lr": 1}), [("spec.parameters", "must be a list")]),
]


def _problems(doc: Doc) -> list[tuple[str, str]]:
    text = yaml.safe_dump(doc)
    try:
        exp = parse_experiment(text)
    except SpecError as err:
        return [(p.path, p.message) for p in err.problems]
    return [(p.path, p.message) for p in validate(exp)]


def _assert_matches(found: list[tuple[str, str]], expected: Expected) -> None:
    assert len(found) == len(expected), f"expected {expected}, found {found}"
    for path, fragment in expected:
        assert any(p == path and fragment in m for p, m in found), f"missing {path}: ...{fragment}... in {found}"


def test_base_experiment_is_valid() -> None:
    assert _problems(base()) == []


def test_corpus_is_large_enough() -> None:
    assert len(CASES) + len(STRUCTURE_CASES) >= 40


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [(m, e) for _, m, e in CASES + STRUCTURE_CASES],
    ids=[i for i, _, _ in CASES + STRUCTURE_CASES],
)
def test_invalid_experiment_reports_its_defect(mutate: Callable[[Doc], Doc], expected: Expected) -> None:
    _assert_matches(_problems(mutate(base())), expected)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [(m, e) for _, m, e in CASES + STRUCTURE_CASES],
    ids=[i for i, _, _ in CASES + STRUCTURE_CASES],
)
def test_cli_exits_2_with_one_line_per_problem(
    tmp_path: Path, mutate: Callable[[Doc], Doc], expected: Expected
) -> None:
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(mutate(base())))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected)
    for field_path, fragment in expected:
        assert any(line.startswith(f"{path}: {field_path}: ") and fragment in line for line in lines), lines
    assert "Traceback" not in result.stderr
