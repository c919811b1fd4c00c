"""``etl-cli create-pipeline``: typed in a terminal, and answered by flags and files without one.

Every expected file content below is written out by hand from the answers given.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from .clihelp import REPO, etl_cli
from .ptyhelp import CLEAR_LINE, DOWN, ENTER, SPACE, Terminal

PROJECT_FILE = """name: wizard-tests
default_env: dev
environments:
  dev: {}
  staging: {}
  prod: {protected: true}
"""
SECURED_TEMPLATE = """description: CSV files with a database password (test template).
params:
  input_path: {description: Files to read, required: true}
  db_password: {description: Password of the database}
sources:
  - name: input
    type: csv
    path: ${var:input_path}
sinks:
  - {name: output, type: jdbc, input: input, url: "jdbc:postgresql://db/x", table: t, password: "${var:db_password}"}
"""
UNREGISTERED_TEMPLATE = """description: Reads a source type nobody registered.
sources:
  - {name: input, type: no_such_source, path: x}
sinks:
  - {name: output, type: parquet, input: input, path: out}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "etl-project.yaml").write_text(PROJECT_FILE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text(
        "order_id,customer_id,amount,status,updated_at\n1,1,5.0,paid,2026-01-01\n"
    )
    (tmp_path / "data" / "customers.csv").write_text("customer_id,country\n1,DE\n")
    return tmp_path


def read_yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text())


def test_wizard_in_a_terminal_writes_the_pipeline_typed_and_prints_the_next_commands(project: Path) -> None:
    term = Terminal("etl-cli", "create-pipeline", cwd=project)
    term.expect("Pipeline name")
    term.line("daily_sales")
    term.expect("What does it do")
    term.line("Paid revenue per status")
    term.expect("» files_to_parquet")
    term.type(ENTER)
    term.expect("input_path")
    term.line("data/orders.csv")
    term.expect("input_format")
    term.type(ENTER)
    term.expect("output_path")
    term.line()
    term.expect("mode")
    term.type(DOWN + ENTER)
    term.expect("Transformations")
    term.type(DOWN + SPACE + DOWN * 7 + SPACE + ENTER)  # filter and aggregate
    term.expect("Keep rows where")
    term.line("status = 'paid'")
    term.expect("Group by columns")
    term.line("status")
    term.expect("Aggregations")
    term.type("revenue=total(amount)")
    term.expect("unknown aggregate function 'total'")
    term.type(CLEAR_LINE)
    term.line("revenue=sum(amount), orders=count()")
    term.expect("Data-quality checks")
    term.type(ENTER)
    term.expect("partition_by")
    term.line("status")
    term.expect("Write a first test")
    term.type(ENTER)  # the default: no test
    assert term.wait() == 0, term.screen
    assert not (project / "pipelines" / "daily_sales" / "tests").exists()

    folder = project / "pipelines" / "daily_sales"
    assert read_yaml(folder / "pipeline.yaml") == {
        "name": "daily_sales",
        "description": "Paid revenue per status",
        "extends": {
            "template": "files_to_parquet",
            "params": {
                "input_path": "data/orders.csv",
                "input_format": "csv",
                "output_path": "output/daily_sales",
                "mode": "append",
            },
        },
        "transforms": [
            {"name": "filtered", "type": "filter", "inputs": ["input"], "condition": "status = 'paid'"},
            {
                "name": "aggregated",
                "type": "aggregate",
                "inputs": ["filtered"],
                "group_by": ["status"],
                "aggregations": {"revenue": {"function": "sum", "column": "amount"}, "orders": {"function": "count"}},
            },
        ],
        "sinks": [{"name": "output", "input": "aggregated", "partition_by": ["status"]}],
    }
    assert read_yaml(folder / "env" / "dev.yaml") == {"spark": {"master": "local[2]"}}
    assert read_yaml(folder / "env" / "prod.yaml") == {
        "spark": {"master": "${env:SPARK_MASTER_URL:-local[*]}"},
        "vars": {"output_path": "${env:DAILY_SALES_OUTPUT_PATH:-output/daily_sales}"},
    }
    for command in (
        "etl-cli validate pipelines/daily_sales --all-envs",
        "etl-cli dry-run pipelines/daily_sales --sample 100",
        "etl-cli run pipelines/daily_sales",
    ):
        assert command in term.screen
    checked = etl_cli("validate", "pipelines/daily_sales", "--all-envs", cwd=project)
    assert checked.returncode == 0, checked.stdout
    rendered = json.loads(etl_cli("render", "pipelines/daily_sales", "--format", "json", cwd=project).stdout)
    assert rendered["sinks"] == [
        {
            "name": "output",
            "type": "parquet",
            "description": "The Parquet copy.",
            "input": "aggregated",
            "path": "output/daily_sales",
            "mode": "append",
            "partition_by": ["status"],
        }
    ]


def test_an_answers_file_builds_a_pipeline_without_a_terminal(project: Path) -> None:
    (project / "answers.yaml").write_text(
        """
name: orders_enriched
template: none
source: {type: csv, path: data/orders.csv}
transforms: [join, deduplicate]
deduplicate: {keys: [order_id], order_by: [updated_at desc]}
join:
  source: {type: csv, path: data/customers.csv}
  how: left
  on: [customer_id]
checks: [not_null]
check:
  not_null: {stage: joined, columns: [order_id], action: fail}
sink: {type: csv, path: output/enriched, mode: overwrite}
"""
    )
    result = etl_cli("create-pipeline", "--answers", "answers.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    folder = project / "pipelines" / "orders_enriched"
    assert read_yaml(folder / "pipeline.yaml") == {
        "name": "orders_enriched",
        "sources": [
            {"name": "input", "type": "csv", "path": "data/orders.csv"},
            {"name": "lookup", "type": "csv", "path": "data/customers.csv"},
        ],
        "transforms": [
            {
                "name": "deduplicated",
                "type": "deduplicate",
                "inputs": ["input"],
                "keys": ["order_id"],
                "order_by": ["updated_at desc"],
            },
            {
                "name": "joined",
                "type": "join",
                "inputs": ["deduplicated", "lookup"],
                "how": "left",
                "on": ["customer_id"],
            },
        ],
        "checks": [
            {
                "name": "not_null_joined",
                "type": "not_null",
                "stage": "joined",
                "columns": ["order_id"],
                "action": "fail",
            }
        ],
        "sinks": [{"name": "output", "type": "csv", "input": "joined", "path": "output/enriched", "mode": "overwrite"}],
    }
    assert read_yaml(folder / "env" / "prod.yaml") == {
        "spark": {"master": "${env:SPARK_MASTER_URL:-local[*]}"},
        "sinks": [{"name": "output", "path": "${env:ORDERS_ENRICHED_OUTPUT_PATH:-output/enriched}"}],
    }
    assert etl_cli("validate", "pipelines/orders_enriched", "--all-envs", cwd=project).returncode == 0


def test_without_a_terminal_missing_answers_are_named_and_nothing_is_written(project: Path) -> None:
    result = etl_cli("create-pipeline", "--name", "half_done", "--answer", "mode=overwrite", cwd=project)
    assert result.returncode == 2
    assert "missing answers" in result.stderr
    assert "params.input_path" in result.stderr and "params.output_path" not in result.stderr
    assert not (project / "pipelines").exists()


def test_an_answer_no_question_asked_for_is_a_usage_error(project: Path) -> None:
    result = etl_cli(
        "create-pipeline", "--name", "typo", "--answer", "params.input_path=data/orders.csv",
        "--answer", "filtr.condition=amount > 0", cwd=project,
    )  # fmt: skip
    assert result.returncode == 2
    assert "filtr.condition" in result.stderr
    assert not (project / "pipelines" / "typo").exists()


def test_an_existing_pipeline_is_replaced_only_with_force(project: Path) -> None:
    args = ["create-pipeline", "--name", "twice", "--answer", "params.input_path=data/orders.csv"]
    assert etl_cli(*args, cwd=project).returncode == 0
    pipeline = project / "pipelines" / "twice" / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text() + "# edited by hand\n")

    again = etl_cli(*args, "--answer", "params.mode=append", cwd=project)
    assert again.returncode == 2 and "--force" in again.stderr
    assert pipeline.read_text().endswith("# edited by hand\n")

    forced = etl_cli(*args, "--answer", "params.mode=append", "--force", cwd=project)
    assert forced.returncode == 0, forced.stderr
    assert "edited by hand" not in pipeline.read_text()
    assert read_yaml(pipeline)["extends"]["params"]["mode"] == "append"  # type: ignore[index]
    assert sorted(p.name for p in (project / "pipelines").iterdir()) == ["twice"], "no staging folders left"


def test_an_invalid_pipeline_is_never_written(project: Path) -> None:
    result = etl_cli(
        "create-pipeline", "--name", "bad_window", "--answer", "params.input_path=data/orders.csv",
        "--transforms", "window", "--answer", "window.columns=previous=lag(amount)", cwd=project,
    )  # fmt: skip
    assert result.returncode == 1
    assert "lag needs order_by" in result.stderr
    assert "nothing was written" in result.stderr
    assert not (project / "pipelines" / "bad_window").exists()
    assert list((project / "pipelines").iterdir()) == []


def test_a_typed_password_becomes_an_env_reference_and_is_never_written(project: Path) -> None:
    (project / "templates").mkdir()
    (project / "templates" / "secured.yaml").write_text(SECURED_TEMPLATE)
    result = etl_cli(
        "create-pipeline", "--name", "secured", "--template", "secured", "--secret-store", "env",
        "--answer", "params.input_path=data/orders.csv", "--answer", "params.db_password=hunter2-typed",
        cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    folder = project / "pipelines" / "secured"
    written = "".join(p.read_text() for p in folder.rglob("*.yaml"))
    assert "hunter2-typed" not in written and "hunter2-typed" not in result.stdout + result.stderr
    params = read_yaml(folder / "pipeline.yaml")["extends"]["params"]  # type: ignore[index]
    assert params["db_password"] == "${env:SECURED_DB_PASSWORD}"
    assert "set SECURED_DB_PASSWORD in the environment" in result.stdout


def test_a_typed_password_can_be_stored_in_the_keyring(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "templates").mkdir()
    (project / "templates" / "secured.yaml").write_text(SECURED_TEMPLATE)
    keyring_env = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring", "XDG_DATA_HOME": str(project),
                   "ETL_KEYRING_ALLOW_PLAINTEXT": "1"}  # fmt: skip
    (project / "answers.yaml").write_text(
        "name: kept\ntemplate: secured\nparams: {input_path: data/orders.csv, db_password: hunter2-kept}\n"
        "secrets: {store: keyring, save: true}\n"
    )
    result = etl_cli("create-pipeline", "--answers", "answers.yaml", cwd=project, env=keyring_env)
    assert result.returncode == 0, result.stderr
    params = read_yaml(project / "pipelines" / "kept" / "pipeline.yaml")["extends"]["params"]  # type: ignore[index]
    assert params["db_password"] == "${secret:keyring:kept/db_password}"
    assert "stored in the keyring as keyring:kept/db_password" in result.stdout
    assert "hunter2-kept" not in (project / "pipelines" / "kept" / "pipeline.yaml").read_text()
    monkeypatch.setenv("XDG_DATA_HOME", str(project))
    from keyring.core import load_keyring

    backend = load_keyring("keyrings.alt.file.PlaintextKeyring")
    assert backend.get_password("etl-cli", "kept/db_password") == "hunter2-kept"


def test_templates_naming_unregistered_types_are_not_offered(project: Path) -> None:
    (project / "templates").mkdir()
    (project / "templates" / "uses_unknown.yaml").write_text(UNREGISTERED_TEMPLATE)
    result = etl_cli("create-pipeline", "--name", "x", "--template", "uses_unknown", cwd=project)
    assert result.returncode == 2
    assert "answer template: choose one of:" in result.stderr
    offered = result.stderr.split("choose one of:")[1]
    assert "files_to_parquet" in offered and "none" in offered and "uses_unknown" not in offered


def test_the_files_to_parquet_template_is_a_documented_valid_fragment(tmp_path: Path) -> None:
    template = yaml.safe_load((REPO / "templates" / "files_to_parquet.yaml").read_text())
    assert template["description"]
    assert all(spec.get("description") for spec in template["params"].values())
    (tmp_path / "etl-project.yaml").write_text(PROJECT_FILE)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pipeline.yaml").write_text(
        "extends:\n  template: files_to_parquet\n  params: {input_path: in.json, input_format: json, output_path: o}\n"
    )
    rendered = etl_cli("render", "p", "--format", "json", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    document = json.loads(rendered.stdout)
    assert document["sources"][0]["type"] == "json" and document["sources"][0]["path"] == "in.json"
    assert document["sinks"][0]["path"] == "o" and document["sinks"][0]["mode"] == "overwrite"


FILES_TO_PARQUET = (
    "--template", "files_to_parquet", "--answer", "params.input_path=data/orders.csv",
    "--answer", "params.input_format=csv", "--answer", "params.output_path=output/o",
    "--answer", "params.mode=overwrite", "--answer", "description=", "--answer", "checks=",
    "--answer", "sink.partition_by=", "--answer", "test=yes",
)  # fmt: skip


def test_a_first_test_gives_the_inputs_first_rows_and_expects_as_many_at_the_sink(project: Path) -> None:
    (project / "data" / "orders.csv").write_text(
        "order_id,status,amount\n1,paid,5.0\n2,open,\n3,paid,7.25\n4,paid,1.0\n"
    )
    result = etl_cli("create-pipeline", "--name", "copy", *FILES_TO_PARQUET, "--answer", "transforms=", cwd=project)
    assert result.returncode == 0, result.stderr
    written = project / "pipelines" / "copy" / "tests" / "copy.yaml"
    assert read_yaml(written) == {
        "tests": [
            {
                "name": "copy reads 3 row(s)",
                "given": {
                    "input": {
                        "rows": [
                            {"order_id": 1, "status": "paid", "amount": 5.0},
                            {"order_id": 2, "status": "open", "amount": None},
                            {"order_id": 3, "status": "paid", "amount": 7.25},
                        ]
                    }
                },
                # no step between input and output: the 3 rows given are the 3 the sink is given
                "expect": {"output": {"count": 3}},
            }
        ]
    }
    checked = etl_cli("validate", "pipelines/copy", cwd=project)  # validate checks test files too
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_first_test_after_a_filter_expects_the_sources_count(project: Path) -> None:
    result = etl_cli(
        "create-pipeline", "--name", "paid", *FILES_TO_PARQUET,
        "--answer", "transforms=filter", "--answer", "filter.condition=status = 'paid'", cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = (project / "pipelines" / "paid" / "tests" / "paid.yaml").read_text()
    # the fixture's orders.csv has 1 row; a filter may drop it, so only the source's count is known
    assert read_yaml(project / "pipelines" / "paid" / "tests" / "paid.yaml")["tests"][0]["expect"] == {
        "input": {"count": 1}
    }
    assert "add what output should be given" in text


def test_no_first_test_is_written_unless_asked(project: Path) -> None:
    args = [a if a != "test=yes" else "test=no" for a in FILES_TO_PARQUET]
    result = etl_cli("create-pipeline", "--name", "plain", *args, "--answer", "transforms=", cwd=project)
    assert result.returncode == 0, result.stderr
    assert not (project / "pipelines" / "plain" / "tests").exists()
