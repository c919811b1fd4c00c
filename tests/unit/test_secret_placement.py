"""``validate`` refuses ``${secret:...}`` outside connection settings, where it would stay text and reach the data.

Expected positions are found in the pipeline text by the tests themselves (line and column
of the reference as written), independently of the rule.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.diagnostics import Diagnostic
from tests.unit.helpers import PROJECT, make_project

REF = "${secret:env:TOKEN}"
SOURCE = """
    sources:
      - name: orders
        type: csv
        path: data/orders.csv
    """
SINK = """
    sinks:
      - {name: out, type: parquet, input: orders, path: out/}
    """


def placement_errors(root: Path, body: str) -> list[Diagnostic]:
    """The secret-placement diagnostics of ``validate`` for the pipeline ``body`` (YAML, dedented)."""
    make_project(root, {"p/pipeline.yaml": "name: orders\n" + textwrap.dedent(body).lstrip("\n")}, project=PROJECT)
    (report,) = app.validate([root / "p" / "pipeline.yaml"])
    return [d for d in report.diagnostics if d.code == "secret-placement"]


def position_in(root: Path, text: str) -> tuple[int, int]:
    """1-based (line, column) of the first ``text`` in the pipeline file as written."""
    lines = (root / "p" / "pipeline.yaml").read_text().splitlines()
    return next((n, line.index(text) + 1) for n, line in enumerate(lines, 1) if text in line)


def where(diagnostic: Diagnostic) -> tuple[int, int]:
    assert diagnostic.location is not None
    return diagnostic.location.line, diagnostic.location.column


@pytest.fixture(autouse=True)
def in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_a_secret_in_a_path_is_an_error_at_the_reference(tmp_path: Path) -> None:
    body = f"""
    sources:
      - name: orders
        type: csv
        path: "data/{REF}/orders.csv"
    {SINK}"""
    (found,) = placement_errors(tmp_path, body)
    assert found.severity == "error"
    assert where(found) == position_in(tmp_path, REF) == (5, 17)


def test_a_secret_on_a_later_line_of_a_sql_query_is_reported_on_its_own_line(tmp_path: Path) -> None:
    body = f"""{SOURCE}
    transforms:
      - name: picked
        type: sql
        query: |
          SELECT *
          FROM orders
          WHERE token = '{REF}'
    {SINK.replace("input: orders", "input: picked")}"""
    (found,) = placement_errors(tmp_path, body)
    assert where(found) == position_in(tmp_path, REF) == (13, 22)


@pytest.mark.parametrize(
    "stage",
    [
        "{name: t, type: derive, inputs: [orders], columns: {token: \"'" + REF + "'\"}}",
        "{name: t, type: filter, inputs: [orders], condition: \"token = '" + REF + "'\"}",
    ],
    ids=["derive expression", "filter condition"],
)
def test_a_secret_in_an_expression_is_an_error(tmp_path: Path, stage: str) -> None:
    body = f"""{SOURCE}
    transforms:
      - {stage}
    {SINK.replace("input: orders", "input: t")}"""
    (found,) = placement_errors(tmp_path, body)
    assert where(found) == position_in(tmp_path, REF)


def test_a_secret_in_a_check_expression_is_an_error(tmp_path: Path) -> None:
    body = f"""{SOURCE}
    checks:
      - {{name: token_ok, stage: orders, type: expression, expression: "token <> '{REF}'", action: warn}}
    {SINK}"""
    (found,) = placement_errors(tmp_path, body)
    assert where(found) == position_in(tmp_path, REF)


def test_a_secret_in_a_file_readers_options_is_an_error(tmp_path: Path) -> None:
    body = f"""
    sources:
      - name: orders
        type: csv
        path: data/orders.csv
        options: {{password: "{REF}"}}
    {SINK}"""
    assert len(placement_errors(tmp_path, body)) == 1


def test_a_secret_in_executor_jvm_options_is_an_error(tmp_path: Path) -> None:
    body = f"""
    spark:
      conf:
        spark.executor.extraJavaOptions: "-Dpassword={REF}"
    {SOURCE}{SINK}"""
    (found,) = placement_errors(tmp_path, body)
    assert where(found) == position_in(tmp_path, REF)


def test_a_secret_brought_by_a_variable_is_reported_where_the_variable_is_used(tmp_path: Path) -> None:
    body = f"""
    vars:
      token: "{REF}"
    sources:
      - name: orders
        type: csv
        path: data/${{var:token}}.csv
    {SINK}"""
    (found,) = placement_errors(tmp_path, body)
    assert where(found) == position_in(tmp_path, "data/${var:token}")


def test_the_error_says_where_secrets_are_allowed(tmp_path: Path) -> None:
    body = f"""
    sources:
      - {{name: orders, type: csv, path: "{REF}"}}
    {SINK}"""
    (found,) = placement_errors(tmp_path, body)
    assert REF in found.message and "sources.orders.path" in found.message
    assert found.hint is not None
    for place in ("JDBC", "Kafka", "s3", "Pushgateway", "spark.conf"):
        assert place in found.hint


def test_secrets_in_connection_settings_are_accepted(tmp_path: Path) -> None:
    body = f"""
    vars:
      db_password: "{REF}"
    spark:
      conf:
        spark.hadoop.fs.s3a.secret.key: "{REF}"
        spark.driver.extraJavaOptions: "-Djavax.net.ssl.trustStorePassword={REF}"
    sources:
      - name: orders
        type: jdbc
        url: "jdbc:postgresql://db:5432/shop?sslpassword={REF}"
        table: orders
        user: "{REF}"
        password: ${{var:db_password}}
        properties: {{sslpassword: "{REF}"}}
      - name: events
        type: kafka
        bootstrap_servers: ["{REF}", "broker:9092"]
        topic: events
        options: {{kafka.sasl.jaas.config: "{REF}"}}
      - name: landing
        type: parquet
        path: s3a://landing/orders/
        s3: {{access_key: "{REF}", secret_key: "{REF}", session_token: "{REF}"}}
    sinks:
      - {{name: out, type: jdbc, input: orders, url: "jdbc:postgresql://dwh/x", table: t, password: "{REF}"}}
      - {{name: feed, type: kafka, input: events, bootstrap_servers: "{REF}", topic: t, options: {{x: "{REF}"}}}}
      - {{name: copy, type: parquet, input: landing, path: s3a://copy/x/, s3: {{secret_key: "{REF}"}}}}
    dead_letter: {{type: jdbc, url: "jdbc:postgresql://dlq/x", table: dlq, password: "{REF}"}}
    metrics: {{type: pushgateway, url: "http://{REF}@push:9091", username: "{REF}", password: "{REF}"}}
    """
    assert placement_errors(tmp_path, body) == []


def test_an_escaped_reference_is_text_not_a_secret(tmp_path: Path) -> None:
    body = (
        """
    sources:
      - {name: orders, type: csv, path: "data/$${secret:env:TOKEN}.csv"}
    """
        + SINK
    )
    assert placement_errors(tmp_path, body) == []
