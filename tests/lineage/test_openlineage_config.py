"""The ``lineage:`` settings: the project's, an environment's and a pipeline's, merged and checked as one block.

No JVM and no event here: what a pipeline's typed model holds, and the problems ``validate`` reports at
their ``file:line:col`` (tests/lineage/test_openlineage_events.py covers what the events say).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import UsageError
from etl_cli.model.check import check_pipeline
from etl_cli.model.lineage import LineageSpec, ParentRun, parent_run
from tests.clihelp import REPO
from tests.unit.helpers import make_project

PIPELINE = """
    name: orders
    sources:
      - name: raw
        type: csv
        path: data/orders.csv
    sinks:
      - name: out
        type: parquet
        input: raw
        path: output/orders
        mode: overwrite
"""

PROJECT = """
    name: shop
    default_env: dev
    lineage:
      namespace: shop-team
      transport: {type: http, url: "http://marquez.internal:5000"}
    environments:
      dev:
        lineage:
          transport: !replace {type: file, log_file_path: lineage/events.jsonl, append: true}
      prod: {protected: true}
"""


def orders_project(root: Path, project: str, pipeline: str = PIPELINE) -> Path:
    """``root`` as a project of ``project`` (etl-project.yaml) with ``pipeline`` as pipelines/orders."""
    return make_project(
        root, {"pipelines/orders/pipeline.yaml": pipeline, "data/orders.csv": "id\n1\n"}, project=project
    )


def load(root: Path, env: str | None, pipeline_extra: str = "", project: str = PROJECT) -> Any:
    """The typed model and the diagnostics of pipelines/orders in ``env`` (``pipeline_extra`` appended)."""
    text = textwrap.dedent(PIPELINE).lstrip("\n") + textwrap.dedent(pipeline_extra).lstrip("\n")
    orders_project(root, project, text)
    return check_pipeline(load_pipeline(root / "pipelines" / "orders", env, environ={}), registry())


def load_alone(root: Path, pipeline_extra: str) -> Any:
    """:func:`load` with ``pipeline_extra`` in a project that sets no lineage and no environment."""
    return load(root, None, pipeline_extra, project="name: shop\n")


def where(diagnostics: list[Diagnostic]) -> list[str]:
    """Each diagnostic as ``file:line:col code``, the file relative to the project."""
    return [f"{Path(str(d.location.file)).name}:{d.location.line}:{d.location.column} {d.code}" for d in diagnostics
            if d.location]  # fmt: skip


def test_the_projects_lineage_applies_to_a_pipeline_without_its_own(tmp_path: Path) -> None:
    spec, diagnostics = load(tmp_path, "prod")
    assert diagnostics == []
    assert spec.lineage == LineageSpec(
        namespace="shop-team",
        transport={"type": "http", "url": "http://marquez.internal:5000"},
        project_root=tmp_path.resolve(),
        location=spec.lineage.location,
    )
    assert (Path(spec.lineage.location.file).name, spec.lineage.location.line) == ("etl-project.yaml", 3)


def test_an_environments_lineage_is_laid_over_the_projects(tmp_path: Path) -> None:
    spec, _ = load(tmp_path, "dev")
    assert spec.lineage.namespace == "shop-team"
    assert spec.lineage.transport == {"type": "file", "log_file_path": "lineage/events.jsonl", "append": True}


def test_a_pipelines_own_lineage_wins_key_by_key(tmp_path: Path) -> None:
    spec, _ = load(tmp_path, "prod", "lineage:\n  namespace: orders-team\n")
    assert spec.lineage.namespace == "orders-team"
    assert spec.lineage.transport == {"type": "http", "url": "http://marquez.internal:5000"}


def test_enabled_false_turns_the_projects_lineage_off_for_one_pipeline(tmp_path: Path) -> None:
    spec, diagnostics = load(tmp_path, "prod", "lineage:\n  enabled: false\n")
    assert diagnostics == []
    assert spec.lineage is None


def test_the_namespace_defaults_to_the_project_name(tmp_path: Path) -> None:
    project = "name: shop\nlineage:\n  transport: {type: console}\n"
    spec, _ = load(tmp_path, None, project=project)
    assert spec.lineage.namespace == "shop"


def test_without_lineage_settings_there_is_no_lineage(tmp_path: Path) -> None:
    spec, _ = load(tmp_path, None, project="name: shop\n")
    assert spec.lineage is None


def test_a_problem_in_the_projects_lineage_is_reported_at_its_line_in_the_project_file(tmp_path: Path) -> None:
    project = "name: shop\nlineage:\n  namespace: shop\n  transport:\n    type: marquez\n"
    spec, diagnostics = load(tmp_path, None, project=project)
    assert spec is None
    assert where(diagnostics) == ["etl-project.yaml:5:11 invalid-value"]
    assert "http, kafka, file, console" in diagnostics[0].message


@pytest.mark.parametrize(
    ("transport", "column", "missing"),
    [
        ("{type: http}", 3, "url"),
        ("{type: kafka, topic: lineage}", 3, "config"),
        ("{type: kafka, topic: lineage, config: {acks: all}}", 44, "bootstrap.servers"),
        ("{type: file, append: true}", 3, "log_file_path"),
    ],
)
def test_a_transport_without_a_setting_it_needs_is_an_error_naming_it(
    tmp_path: Path, transport: str, column: int, missing: str
) -> None:
    spec, diagnostics = load_alone(tmp_path, f"lineage:\n  transport: {transport}\n")
    assert spec is None
    assert where(diagnostics) == [f"pipeline.yaml:13:{column} missing-key"]
    assert f"'{missing}'" in diagnostics[0].message


def test_a_setting_the_transport_does_not_take_is_an_error(tmp_path: Path) -> None:
    _, diagnostics = load_alone(
        tmp_path, "lineage:\n  transport: {type: file, log_file_path: x.jsonl, url: 'http://m'}\n"
    )
    assert [d.code for d in diagnostics] == ["unknown-key"]
    assert "'url'" in diagnostics[0].message


def test_transport_credentials_may_be_secret_references(tmp_path: Path) -> None:
    lineage = """
        lineage:
          transport:
            type: http
            url: "http://marquez:5000"
            auth: {type: api_key, apiKey: "${secret:env:MARQUEZ_KEY}"}
    """
    spec, diagnostics = load_alone(tmp_path, lineage)
    assert diagnostics == []
    assert spec.lineage.transport["auth"] == {"type": "api_key", "apiKey": "${secret:env:MARQUEZ_KEY}"}


def test_a_transport_credential_written_as_plain_text_is_flagged(tmp_path: Path) -> None:
    lineage = """
        lineage:
          transport:
            type: kafka
            topic: lineage
            config: {bootstrap.servers: "kafka:9092", sasl.password: hunter22}
    """
    _, diagnostics = load_alone(tmp_path, lineage)
    assert [(d.severity, d.code) for d in diagnostics] == [("warning", "literal-credential")]
    assert where(diagnostics) == ["pipeline.yaml:16:62 literal-credential"]


def test_a_secret_reference_in_the_namespace_is_refused(tmp_path: Path) -> None:
    _, diagnostics = load_alone(tmp_path, "lineage:\n  namespace: ${secret:env:NS}\n  transport: {type: console}\n")
    assert [d.code for d in diagnostics] == ["secret-placement"]


def test_a_lineage_setting_of_the_project_that_is_not_a_mapping_is_a_project_problem(tmp_path: Path) -> None:
    spec, diagnostics = load(tmp_path, None, project="name: shop\nlineage: http://marquez\n")
    assert spec is None
    assert where(diagnostics) == ["etl-project.yaml:2:10 wrong-type"]


# --------------------------------------------------------------------------- the parent run


def test_a_parent_run_is_namespace_job_and_run_id() -> None:
    found = parent_run("airflow/daily.orders/0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a", {})
    assert found == ParentRun("airflow", "daily.orders", "0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a")


def test_the_parent_run_comes_from_openlineage_parent_id_when_not_given() -> None:
    environ = {
        "OPENLINEAGE_PARENT_ID": "dags/nightly/0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a",
        "OPENLINEAGE_ROOT_PARENT_ID": "dags/all/0190d4b5-0000-7000-8000-000000000001",
    }
    assert parent_run(None, environ) == ParentRun(
        "dags", "nightly", "0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a",
        root=ParentRun("dags", "all", "0190d4b5-0000-7000-8000-000000000001"),
    )  # fmt: skip


def test_the_given_parent_run_wins_over_the_environment() -> None:
    environ = {"OPENLINEAGE_PARENT_ID": "dags/nightly/0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a"}
    found = parent_run("a/b/0190d4b5-0000-7000-8000-000000000002", environ)
    assert found == ParentRun("a", "b", "0190d4b5-0000-7000-8000-000000000002")


def test_no_parent_run_without_one_given() -> None:
    assert parent_run(None, {}) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("airflow/daily", "NAMESPACE/JOB/RUN_ID"),
        ("airflow//0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a", "NAMESPACE/JOB/RUN_ID"),
        ("airflow/daily/run-42", "'run-42' is not a UUID"),
    ],
)
def test_a_parent_run_that_cannot_be_read_is_a_usage_error(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parent_run(text, {})
    assert problem in str(caught.value)
    assert "--parent-run" in str(caught.value)


def test_a_malformed_openlineage_parent_id_is_a_usage_error_naming_the_variable() -> None:
    with pytest.raises(UsageError) as caught:
        parent_run(None, {"OPENLINEAGE_PARENT_ID": "nightly"})
    assert "OPENLINEAGE_PARENT_ID" in str(caught.value)


# --------------------------------------------------------------------------- the base install (no extra)

#: runs ``etl-cli ARGS`` with the named top-level modules made unimportable, as they are in an install
#: without them (a meta-path finder ahead of the real ones raises what a missing package raises)
WITHOUT = """
import sys
from importlib.abc import MetaPathFinder

MISSING = sys.argv.pop(1).split(",")

class Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Missing())
from etl_cli.cli.main import main
main(sys.argv[1:])
"""


def validate_without(root: Path, modules: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, modules, "validate", "pipelines/orders"],
        cwd=root,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_the_openlineage_extra_validate_fails_naming_it(tmp_path: Path) -> None:
    project = "name: shop\nlineage:\n  transport: {type: console}\n"
    orders_project(tmp_path, project)
    done = validate_without(tmp_path, "openlineage")
    assert done.returncode == 1, done.stderr
    assert "etl-project.yaml:2:1: error:" in done.stdout + done.stderr
    assert "pip install 'etl-cli[openlineage]'" in done.stdout + done.stderr


def test_the_kafka_transport_without_confluent_kafka_fails_validate_naming_the_package(tmp_path: Path) -> None:
    project = "name: shop\nlineage:\n  transport: {type: kafka, topic: t, config: {bootstrap.servers: 'k:9092'}}\n"
    orders_project(tmp_path, project)
    done = validate_without(tmp_path, "confluent_kafka")
    assert done.returncode == 1, done.stderr
    assert "pip install 'etl-cli[openlineage]' (it brings confluent-kafka" in done.stdout + done.stderr


def test_a_pipeline_that_turns_lineage_off_needs_no_extra(tmp_path: Path) -> None:
    project = "name: shop\nlineage:\n  transport: {type: console}\n"
    pipeline = textwrap.dedent(PIPELINE) + "lineage: {enabled: false}\n"
    orders_project(tmp_path, project, pipeline)
    done = validate_without(tmp_path, "openlineage")
    assert done.returncode == 0, done.stdout + done.stderr


def test_run_refuses_a_parent_run_it_cannot_read_before_spark_starts(tmp_path: Path) -> None:
    project = "name: shop\nlineage:\n  transport: {type: file, log_file_path: events.jsonl, append: true}\n"
    orders_project(tmp_path, project)
    done = subprocess.run(
        [sys.executable, "-m", "etl_cli", "run", "pipelines/orders", "--parent-run", "nightly"],
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "--parent-run 'nightly' is not NAMESPACE/JOB/RUN_ID" in done.stderr
    assert not (tmp_path / "events.jsonl").exists()
