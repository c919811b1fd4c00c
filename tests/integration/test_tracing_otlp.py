"""Traced runs export their spans over OTLP/HTTP to a real OpenTelemetry Collector (tests/integration/otelcolhelp.py).

Three runs share one collector, their spans told apart by the resource's run id: a batch run started by a
caller's ``TRACEPARENT`` that reads a CSV file and writes it to a parquet folder and to a PostgreSQL table
whose password and URL carry secrets, with ``--log-format json --log-file``; a run that fails on a secret
the JDBC driver quotes; a streaming run traced through OTEL_EXPORTER_OTLP_ENDPOINT alone. What the
collector received is checked as a tree (run → stages → external calls) with its attributes, with the
trace id in the run results and in every JSON log line, and with no secret value anywhere.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.integration.dbhelp import pg_env, pg_execute, pg_rows, pg_schema
from tests.integration.kafkahelp import kafka_bootstrap, new_topic, produce
from tests.integration.otelcolhelp import Collector, Span, collector

# each run sets up OpenTelemetry's tracer provider, which a process sets once
pytestmark = pytest.mark.own_jvm

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
URL_SECRET = "url-secret-Qx81vLm2"
TOKEN = "otlp-token-Zr55kPa9"
PIPELINE = """\
name: traced
spark:
  master: local[1]
  conf: {{spark.sql.shuffle.partitions: 1}}
tracing:
  endpoint: {endpoint}
  service_name: etl-tracing-test
  headers: {{Authorization: "Bearer ${{secret:env:OTLP_TOKEN}}"}}
sources:
  - name: items_csv
    type: csv
    path: items.csv
    schema: {{item_id: BIGINT, name: STRING}}
sinks:
  - {{name: items_parquet, type: parquet, input: items_csv, path: out/items}}
  - name: items_table
    type: jdbc
    input: items_csv
    url: "{url}?ApplicationName=${{secret:env:URL_SECRET}}"
    table: {table}
    user: {user}
    password: ${{secret:env:DB_PASSWORD}}
    mode: append
"""


@dataclass
class TracedRun:
    root: Path
    schema: str
    password: str
    exit_code: int
    stderr: str
    spans: list[Span]
    results: dict[str, Any]
    #: the collector's OTLP/HTTP base URL
    endpoint: str

    def span(self, name: str, **attributes: Any) -> Span:
        found = [s for s in self.spans if s.name == name and attributes.items() <= s.attributes.items()]
        assert len(found) == 1, (name, attributes, [(s.name, s.attributes) for s in self.spans])
        return found[0]

    def children(self, parent: Span) -> list[Span]:
        return [s for s in self.spans if s.parent_span_id == parent.span_id]

    def under(self, ancestor: Span, span: Span) -> bool:
        by_id = {s.span_id: s for s in self.spans}
        current: Span | None = span
        while current is not None:
            if current.parent_span_id == ancestor.span_id:
                return True
            current = by_id.get(current.parent_span_id)
        return False


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """One collector for the module's runs: each run's spans are told apart by their resource's run id."""
    with collector(tmp_path_factory.mktemp("collector")) as started:
        yield started


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, received: Collector) -> Iterator[TracedRun]:
    root = tmp_path_factory.mktemp("traced")
    env = pg_env()
    with pg_schema() as schema:
        pg_execute(f"CREATE TABLE {schema}.items (item_id BIGINT PRIMARY KEY, name VARCHAR(20))")
        yield _run(root, received, schema, env)


def _run(root: Path, received: Collector, schema: str, env: dict[str, str]) -> TracedRun:
    url = f"jdbc:postgresql://{env['PG_HOST']}:{env['PG_PORT']}/{env['PG_DB']}"
    (root / "etl-project.yaml").write_text("name: tracing\n")
    (root / "items.csv").write_text("item_id,name\n1,apple\n2,pear\n3,plum\n")
    text = PIPELINE.format(endpoint=received.url, url=url, table=f"{schema}.items", user=env["PG_USER"])
    (root / "pipeline.yaml").write_text(text)
    variables = {
        "ETL_STATE_DIR": str(root / "state"),
        "DB_PASSWORD": env["PG_PASSWORD"],
        "URL_SECRET": URL_SECRET,
        "OTLP_TOKEN": TOKEN,
        "TRACEPARENT": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
    }
    done = etl_cli("run", "pipeline.yaml", "--log-format", "json", "--log-file", "run.log", env=variables, cwd=root)
    results = results_of(root, "traced", done)
    spans = received.wait_for("etl.run", results["run_id"])
    return TracedRun(root, schema, env["PG_PASSWORD"], done.returncode, done.stderr, spans, results, received.url)


def results_of(root: Path, pipeline: str, done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    written = root / "state" / "runs" / pipeline / "default" / "latest.json"
    assert written.exists(), f"no run results; exit {done.returncode}:\n{done.stderr[-3000:]}"
    data: dict[str, Any] = json.loads(written.read_text())
    return data


def test_the_run_succeeds_and_writes_the_rows(traced: TracedRun) -> None:
    assert traced.exit_code == 0, traced.stderr
    assert pg_rows(f"SELECT item_id, name FROM {traced.schema}.items ORDER BY 1") == [
        (1, "apple"),
        (2, "pear"),
        (3, "plum"),
    ]


def test_the_run_span_continues_the_callers_trace(traced: TracedRun) -> None:
    run = traced.span("etl.run")
    assert (run.trace_id, run.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert {s.trace_id for s in traced.spans} == {CALLER_TRACE}
    assert run.attributes == {
        "etl.pipeline": "traced",
        "etl.env": "",
        "etl.run_id": traced.results["run_id"],
        "etl.status": "success",
        "etl.exit_code": 0,
    }


def test_every_span_names_the_service_and_the_run(traced: TracedRun) -> None:
    resources = {json.dumps(s.resource, sort_keys=True) for s in traced.spans}
    assert len(resources) == 1
    resource = traced.spans[0].resource
    assert (resource["service.name"], resource["etl.pipeline"], resource["etl.run_id"]) == (
        "etl-tracing-test",
        "traced",
        traced.results["run_id"],
    )


def test_each_stage_has_a_span_under_the_run_with_its_result(traced: TracedRun) -> None:
    run = traced.span("etl.run")
    stages = {s.attributes["etl.stage"]: s for s in traced.children(run) if s.name == "etl.stage"}
    assert sorted(stages) == ["items_csv", "items_parquet", "items_table"]
    expected = {"items_csv": ("source", "csv", None, 3), "items_parquet": ("sink", "parquet", 3, 3)}
    expected["items_table"] = ("sink", "jdbc", 3, 3)
    for name, (kind, type_, rows_in, rows_out) in expected.items():
        attributes = stages[name].attributes
        assert (attributes["etl.stage.kind"], attributes["etl.stage.type"]) == (kind, type_)
        assert (attributes["etl.stage.status"], attributes.get("etl.rows_in"), attributes["etl.rows_out"]) == (
            "ok",
            rows_in,
            rows_out,
        )
        assert attributes["etl.duration_s"] >= 0


def test_the_jdbc_sinks_database_calls_and_commit_are_spans_under_its_stage(traced: TracedRun) -> None:
    """The sink stages into a table of its own, then its commit inserts into the target; run-level calls
    (the recovery's look for tables a killed run left, before any stage) hang under the run itself."""
    run, table_stage = traced.span("etl.run"), traced.span("etl.stage", **{"etl.stage": "items_table"})
    jdbc_calls = [s for s in traced.spans if s.name in ("jdbc.connect", "jdbc.statement")]
    assert all(traced.under(table_stage, s) or s.parent_span_id == run.span_id for s in jdbc_calls)
    address = f"{pg_env()['PG_HOST']}:{pg_env()['PG_PORT']}"
    assert {(s.attributes["db.system"], s.attributes["server.address"]) for s in jdbc_calls} == {
        ("postgresql", address)
    }
    commit = traced.span("sink.commit", **{"etl.mode": "append", "etl.target": f"{traced.schema}.items"})
    assert commit.parent_span_id == table_stage.span_id
    inserts = [s for s in traced.children(commit) if s.attributes.get("db.operation") == "INSERT"]
    assert len(inserts) == 1 and inserts[0].name == "jdbc.statement"
    assert "jdbc.connect" in {s.name for s in traced.children(table_stage)}


def test_the_parquet_commit_is_a_span_under_its_stage(traced: TracedRun) -> None:
    stage = traced.span("etl.stage", **{"etl.stage": "items_parquet"})
    [commit] = [s for s in traced.children(stage) if s.name == "sink.commit"]
    assert commit.attributes["etl.target"].endswith("out/items")


def test_secret_reads_are_spans_naming_the_provider_and_the_name_only(traced: TracedRun) -> None:
    reads = [s for s in traced.spans if s.name == "secret.read"]
    named = {(s.attributes["secret.provider"], s.attributes["secret.name"]) for s in reads}
    assert {("env", "DB_PASSWORD"), ("env", "URL_SECRET")} <= named
    assert all(set(s.attributes) == {"secret.provider", "secret.name"} for s in reads)


def test_the_results_record_the_trace_and_its_export(traced: TracedRun) -> None:
    assert traced.results["tracing"] == {
        "trace_id": CALLER_TRACE,
        "endpoint": f"{traced.endpoint}/v1/traces",
        "exported": True,
    }


def test_every_json_log_line_carries_the_trace_id(traced: TracedRun) -> None:
    console = [json.loads(line) for line in traced.stderr.splitlines() if line.startswith("{")]
    logged = [json.loads(line) for line in (traced.root / "run.log").read_text().splitlines()]
    assert console and logged == console
    assert {line["trace_id"] for line in logged} == {CALLER_TRACE}


def test_no_secret_reaches_a_span_or_a_log_line(traced: TracedRun, received: Collector) -> None:
    exported = received.raw()
    logged = (traced.root / "run.log").read_text()
    for secret in (traced.password, URL_SECRET, TOKEN):
        assert secret not in exported
        assert secret not in logged
        assert secret not in traced.stderr


# --------------------------------------------------------------------------- a failed run

SSL_SECRET = "Sslm0de-value-for-the-trace-only"
FAILING = """\
name: leaky
spark: {{master: "local[1]"}}
retry: {{attempts: 1}}
tracing: {{endpoint: {endpoint}}}
sources:
  - name: accounts
    type: jdbc
    url: "jdbc:postgresql://127.0.0.1:1/nowhere?sslmode=${{secret:env:SSL_SECRET}}"
    table: accounts
    user: etl
    password: ${{secret:env:SSL_SECRET}}
sinks:
  - {{name: out, type: parquet, input: accounts, path: out}}
"""


@dataclass
class FailedRun:
    exit_code: int
    results: dict[str, Any]
    spans: list[Span]


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory, received: Collector) -> FailedRun:
    """A JDBC source the driver refuses before connecting: "Invalid sslmode value: <the secret>"."""
    root = tmp_path_factory.mktemp("failed")
    (root / "etl-project.yaml").write_text("name: tracing\n")
    (root / "pipeline.yaml").write_text(FAILING.format(endpoint=received.url))
    variables = {"ETL_STATE_DIR": str(root / "state"), "SSL_SECRET": SSL_SECRET}
    done = etl_cli("run", "pipeline.yaml", env=variables, cwd=root)
    results = results_of(root, "leaky", done)
    return FailedRun(done.returncode, results, received.wait_for("etl.run", results["run_id"]))


def test_a_failed_run_and_its_failed_stage_are_error_spans_with_the_masked_message(failed: FailedRun) -> None:
    assert failed.exit_code == 4
    [run] = [s for s in failed.spans if s.name == "etl.run"]
    [stage] = [s for s in failed.spans if s.name == "etl.stage" and s.attributes["etl.stage"] == "accounts"]
    assert (run.attributes["etl.status"], run.attributes["etl.exit_code"]) == ("failed", 4)
    assert run.status["code"] == 2 and stage.status["code"] == 2  # STATUS_CODE_ERROR
    assert "Invalid sslmode value: ********" in run.attributes["error"]
    assert "Invalid sslmode value: ********" in stage.attributes["error"]
    assert failed.results["tracing"]["exported"] is True


def test_a_failed_run_exports_no_secret(failed: FailedRun, received: Collector) -> None:
    assert failed.spans
    assert SSL_SECRET not in received.raw()


# --------------------------------------------------------------------------- a streaming run

STREAMING = """\
name: streamed
spark: {{master: "local[1]", conf: {{spark.sql.shuffle.partitions: 1}}}}
streaming:
  checkpoint_location: {checkpoints}
  trigger: {{available_now: true}}
sources:
  - name: updates
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {topic}
    schema: {{item_id: BIGINT, name: STRING}}
    metadata: []
    max_offsets_per_trigger: 2
sinks:
  - name: items_out
    type: jdbc
    input: updates
    url: {url}
    user: {user}
    password: ${{secret:env:DB_PASSWORD}}
    table: {table}
    mode: upsert
"""


def test_a_streaming_runs_micro_batches_are_spans_with_their_database_calls(
    tmp_path: Path, received: Collector
) -> None:
    """Four records, two per micro-batch: two ``etl.micro_batch`` spans (written on Spark's callback thread)
    under the run, each with the JDBC statements of its upsert; the sink's stage span lasts until its query ends.
    The pipeline has no ``tracing:`` block: OTEL_EXPORTER_OTLP_ENDPOINT alone turns tracing on."""
    bootstrap, topic, env = kafka_bootstrap(), new_topic("traced"), pg_env()
    produce(bootstrap, topic, [(None, json.dumps({"item_id": i, "name": f"n{i}"})) for i in range(1, 5)])
    (tmp_path / "etl-project.yaml").write_text("name: tracing\n")
    url = f"jdbc:postgresql://{env['PG_HOST']}:{env['PG_PORT']}/{env['PG_DB']}"
    with pg_schema() as schema:
        pg_execute(f"CREATE TABLE {schema}.items (item_id BIGINT PRIMARY KEY, name VARCHAR(20))")
        text = STREAMING.format(
            checkpoints=tmp_path / "checkpoints",
            bootstrap=bootstrap,
            topic=topic,
            url=url,
            user=env["PG_USER"],
            table=f"{schema}.items",
        )
        (tmp_path / "pipeline.yaml").write_text(text)
        variables = {
            "ETL_STATE_DIR": str(tmp_path / "state"),
            "DB_PASSWORD": env["PG_PASSWORD"],
            "OTEL_EXPORTER_OTLP_ENDPOINT": received.url,
        }
        done = etl_cli("run", "pipeline.yaml", env=variables, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        assert pg_rows(f"SELECT count(*) FROM {schema}.items") == [(4,)]
    spans = received.wait_for("etl.run", results_of(tmp_path, "streamed", done)["run_id"])
    [run] = [s for s in spans if s.name == "etl.run"]
    batches = [s for s in spans if s.name == "etl.micro_batch"]
    assert sorted(s.attributes["etl.batch_id"] for s in batches) == [0, 1]
    assert {(s.parent_span_id, s.attributes["etl.stage"]) for s in batches} == {(run.span_id, "items_out")}
    for batch in batches:  # each micro-batch is staged, then committed: its upsert merges its 2 rows
        [commit] = [s for s in spans if s.name == "sink.commit" and s.parent_span_id == batch.span_id]
        merged = [s.attributes.get("db.rows_affected") for s in spans if s.parent_span_id == commit.span_id]
        assert 2 in merged
    [sink] = [s for s in spans if s.name == "etl.stage" and s.attributes["etl.stage"] == "items_out"]
    assert sink.attributes["etl.stage.status"] == "ok"
    assert sink.end_time >= max(b.end_time for b in batches)
