"""What a run's OpenLineage events say, and that sending them never costs the run anything (no JVM here).

The run's side is played by hand: :class:`RunLineage` gets a pipeline's typed model, the run results a
run would fill in, and (standing in for the executor) the schemas Spark would have analysed. Events
go through the client's file transport, are read back and validated against the specification
(tests/lineage/openlineage_validation.py); tests/lineage/test_openlineage_run.py does the same for
real runs on Spark.
"""

from __future__ import annotations

import json
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from etl_cli import __version__
from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.events import StageResult
from etl_cli.model.check import check_pipeline
from etl_cli.model.lineage import LineageSpec, ParentRun
from etl_cli.plan.dag import compile_plan
from etl_cli.runtime.bookkeeping.openlineage import RunLineage
from etl_cli.runtime.bookkeeping.openlineage.emitter import transport_config
from etl_cli.runtime.bookkeeping.results import RunResults
from tests.lineage.openlineage_validation import problems
from tests.support import RecordingReporter
from tests.unit.helpers import make_project

PIPELINE = """
    name: orders
    description: Paid orders per customer.
    sources:
      - name: raw
        type: csv
        path: data/orders.csv
        schema: {id: INT, customer: STRING, amount: DOUBLE, status: STRING}
    transforms:
      - name: paid
        type: filter
        inputs: [raw]
        condition: status = 'paid'
      - name: per_customer
        type: aggregate
        inputs: [paid]
        group_by: [customer]
        aggregations:
          total: {function: sum, column: amount}
    sinks:
      - name: out
        type: parquet
        input: per_customer
        path: output/per_customer
        mode: overwrite
"""
FILE_TRANSPORT = "name: shop\nlineage:\n  transport: {type: file, log_file_path: lineage/events.jsonl, append: true}\n"
STARTED, ENDED = "2026-03-01T10:00:00.000+00:00", "2026-03-01T10:00:42.500+00:00"
PARENT_ID = "0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a"


class Run:
    """One run's lineage, played by hand: start it, then end it with the outcome a run would record."""

    def __init__(self, root: Path, project: str = FILE_TRANSPORT, parent: ParentRun | None = None):
        make_project(root, {"pipelines/orders/pipeline.yaml": PIPELINE, "data/orders.csv": "id\n1\n"}, project=project)
        spec, diagnostics = check_pipeline(load_pipeline(root / "pipelines" / "orders", None, environ={}), registry())
        assert spec is not None, diagnostics
        self.root = root.resolve()
        self.reporter = RecordingReporter()
        self.results = RunResults("20260301T100000Z-0a1b2c3d", "orders", None, str(spec.file), started_at=STARTED)
        self.lineage = RunLineage(
            spec, compile_plan(spec), registry(), self.results, self.reporter, parent, lambda v: v, lambda t: t
        )

    def succeed(self, rows_written: int = 2) -> dict[str, Any]:
        self.lineage.started()
        self.lineage.schemas.update(
            raw=[("id", "int"), ("customer", "string"), ("amount", "double"), ("status", "string")],
            paid=[("id", "int"), ("customer", "string"), ("amount", "double"), ("status", "string")],
            per_customer=[("customer", "string"), ("total", "double")],
        )
        self.results.stages = [
            StageResult("raw", "source", "csv", "ok", rows_out=5),
            StageResult("paid", "transform", "filter", "ok", rows_in=5, rows_out=3),
            StageResult("per_customer", "transform", "aggregate", "ok", rows_in=3, rows_out=rows_written),
            StageResult("out", "sink", "parquet", "ok", rows_in=rows_written, rows_out=rows_written),
        ]
        return self.end("success")

    def end(self, status: str, error: str | None = None) -> dict[str, Any]:
        self.results.status, self.results.ended_at, self.results.spark_version = status, ENDED, "4.0.9"
        if error is not None:
            self.results.error = {"type": "StageFailed", "message": error, "stage": "per_customer"}
        return self.lineage.finished(self.results)

    def events(self) -> list[dict[str, Any]]:
        path = self.root / "lineage" / "events.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def facet_fields(facet: dict[str, Any]) -> dict[str, Any]:
    """A facet without the two keys every facet carries (``_producer``, ``_schemaURL``)."""
    return {key: value for key, value in facet.items() if not key.startswith("_")}


def test_a_successful_run_sends_start_then_complete_for_one_run_of_the_pipelines_job(tmp_path: Path) -> None:
    run = Run(tmp_path)
    record = run.succeed()
    start, complete = run.events()
    assert [start["eventType"], complete["eventType"]] == ["START", "COMPLETE"]
    assert start["job"]["namespace"] == complete["job"]["namespace"] == "shop"
    assert start["job"]["name"] == complete["job"]["name"] == "orders"
    assert start["run"]["runId"] == complete["run"]["runId"]
    assert uuid.UUID(start["run"]["runId"]).version == 7
    assert complete["eventTime"] == "2026-03-01T10:00:42.500+00:00"
    assert start["producer"] == f"urn:etl-cli:{__version__}"
    assert record == {
        "namespace": "shop",
        "job": "orders",
        "run_id": start["run"]["runId"],
        "transport": "file",
        "events": [{"eventType": "START", "sent": True}, {"eventType": "COMPLETE", "sent": True}],
    }
    assert run.reporter.messages == []


@pytest.mark.parametrize(
    ("status", "error", "last"),
    [("success", None, "COMPLETE"), ("failed", "transform 'per_customer' failed: boom", "FAIL"),
     ("interrupted", None, "ABORT"), ("terminated", None, "ABORT")],
)  # fmt: skip
def test_every_event_of_every_outcome_validates_against_the_specification(
    tmp_path: Path, status: str, error: str | None, last: str
) -> None:
    run = Run(tmp_path, parent=ParentRun("dags", "nightly", PARENT_ID, ParentRun("dags", "all", PARENT_ID)))
    if status == "success":
        run.succeed()
    else:
        run.lineage.started()
        run.end(status, error)
    events = run.events()
    assert [e["eventType"] for e in events] == ["START", last]
    assert {e["eventType"]: problems(e) for e in events} == {"START": [], last: []}


def test_the_job_facets_say_batch_etl_cli_the_pipeline_file_and_its_description(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.succeed()
    facets = run.events()[1]["job"]["facets"]
    assert facet_fields(facets["jobType"]) == {"processingType": "BATCH", "integration": "etl-cli", "jobType": "JOB"}
    assert facet_fields(facets["sourceCodeLocation"]) == {
        "type": "file",
        "url": f"file://{tmp_path.resolve()}/pipelines/orders/pipeline.yaml",
        "path": "pipelines/orders/pipeline.yaml",
    }
    assert facet_fields(facets["documentation"]) == {"description": "Paid orders per customer."}


def test_the_run_facets_say_when_it_started_which_spark_and_which_etl_cli_run(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.succeed()
    start, complete = (event["run"]["facets"] for event in run.events())
    assert facet_fields(start["nominalTime"]) == {"nominalStartTime": "2026-03-01T10:00:00.000+00:00"}
    # START goes out before the session is up: the installed PySpark; COMPLETE: the session's own Spark
    assert facet_fields(start["processing_engine"]) == {
        "name": "spark", "version": version("pyspark"), "openlineageAdapterVersion": __version__
    }  # fmt: skip
    assert facet_fields(complete["processing_engine"])["version"] == "4.0.9"
    tags = {tag["key"]: tag["value"] for tag in complete["tags"]["tags"]}
    assert tags["etl_cli.run_id"] == "20260301T100000Z-0a1b2c3d"
    assert "parent" not in complete and "errorMessage" not in complete


def test_start_names_the_datasets_with_their_declared_schema_and_data_source(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.succeed()
    start = run.events()[0]
    (read,) = start["inputs"]
    assert (read["namespace"], read["name"]) == ("file", f"{tmp_path.resolve()}/data/orders.csv")
    assert [(f["name"], f["type"]) for f in read["facets"]["schema"]["fields"]] == [
        ("id", "INT"), ("customer", "STRING"), ("amount", "DOUBLE"), ("status", "STRING")
    ]  # fmt: skip
    assert facet_fields(read["facets"]["dataSource"]) == {"name": "file", "uri": "file://"}
    (written,) = start["outputs"]
    assert (written["namespace"], written["name"]) == ("file", f"{tmp_path.resolve()}/output/per_customer")
    assert "outputFacets" not in written or "outputStatistics" not in written["outputFacets"]


def test_complete_carries_sparks_schemas_and_the_rows_the_sink_wrote(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.succeed(rows_written=2)
    complete = run.events()[1]
    (read,) = complete["inputs"]
    assert [(f["name"], f["type"]) for f in read["facets"]["schema"]["fields"]] == [
        ("id", "int"), ("customer", "string"), ("amount", "double"), ("status", "string")
    ]  # fmt: skip
    (written,) = complete["outputs"]
    assert [(f["name"], f["type"]) for f in written["facets"]["schema"]["fields"]] == [
        ("customer", "string"), ("total", "double")
    ]  # fmt: skip
    assert facet_fields(written["outputFacets"]["outputStatistics"]) == {"rowCount": 2}


def test_the_output_carries_the_column_lineage_back_to_the_input_columns(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.succeed()
    lineage = run.events()[1]["outputs"][0]["facets"]["columnLineage"]
    orders = {"namespace": "file", "name": f"{tmp_path.resolve()}/data/orders.csv"}
    assert lineage["fields"] == {
        "customer": {"inputFields": [
            {**orders, "field": "customer", "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}
        ]},
        "total": {"inputFields": [
            {**orders, "field": "amount",
             "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION", "description": "SUM(amount)"}]}
        ]},
    }  # fmt: skip
    indirect = sorted((f["field"], f["transformations"][0]["subtype"]) for f in lineage["dataset"])
    assert indirect == [("customer", "GROUP_BY"), ("status", "FILTER")]
    assert all(f["transformations"][0]["type"] == "INDIRECT" for f in lineage["dataset"])


def test_a_failed_run_sends_fail_with_the_error_message(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.lineage.started()
    run.end("failed", "transform 'per_customer' failed: [DIVIDE_BY_ZERO] Division by zero.")
    fail = run.events()[1]
    assert fail["eventType"] == "FAIL"
    assert facet_fields(fail["run"]["facets"]["errorMessage"]) == {
        "message": "transform 'per_customer' failed: [DIVIDE_BY_ZERO] Division by zero.",
        "programmingLanguage": "python",
    }
    assert "outputStatistics" not in (fail["outputs"][0].get("outputFacets") or {})


def test_an_interrupted_run_sends_abort_without_an_error_message(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.lineage.started()
    record = run.end("interrupted")
    abort = run.events()[1]
    assert abort["eventType"] == "ABORT"
    assert "errorMessage" not in abort["run"]["facets"]
    assert [e["eventType"] for e in record["events"]] == ["START", "ABORT"]


def test_a_parent_run_becomes_the_parent_facet_of_every_event(tmp_path: Path) -> None:
    root = ParentRun("dags", "all", "0190d4b5-0000-7000-8000-000000000001")
    run = Run(tmp_path, parent=ParentRun("dags", "nightly.orders", PARENT_ID, root))
    run.succeed()
    for event in run.events():
        assert facet_fields(event["run"]["facets"]["parent"]) == {
            "run": {"runId": PARENT_ID, "facets": {}},
            "job": {"namespace": "dags", "name": "nightly.orders", "facets": {}},
            "root": {"run": {"runId": "0190d4b5-0000-7000-8000-000000000001", "facets": {}},
                     "job": {"namespace": "dags", "name": "all", "facets": {}}},
        }  # fmt: skip


# --------------------------------------------------------------------------- sending fails: the run goes on


def test_a_consumer_that_cannot_take_the_events_costs_one_warning_and_is_recorded(tmp_path: Path) -> None:
    (tmp_path / "blocked").mkdir()  # a folder where the events file should be: every write fails
    project = "name: shop\nlineage:\n  transport: {type: file, log_file_path: blocked, append: true}\n"
    run = Run(tmp_path, project=project)
    record = run.succeed()
    assert [(e["eventType"], e["sent"]) for e in record["events"]] == [("START", False), ("COMPLETE", False)]
    assert "blocked" in record["events"][0]["error"]
    assert len(run.reporter.messages) == 1
    level, text = run.reporter.messages[0]
    assert level == "warning"
    assert text.startswith("OpenLineage START event not sent (file): ") and text.endswith("; the run goes on")


def test_a_kafka_delivery_failure_that_the_client_only_logs_is_recorded_as_not_sent(tmp_path: Path) -> None:
    pytest.importorskip("confluent_kafka")
    project = """
        name: shop
        lineage:
          transport:
            type: kafka
            topic: lineage
            config: {bootstrap.servers: "127.0.0.1:1", message.timeout.ms: 1000}
    """
    run = Run(tmp_path, project=project)
    run.lineage.started()
    record = run.end("success")
    assert [(e["eventType"], e["sent"]) for e in record["events"]] == [("START", False), ("COMPLETE", False)]
    assert "timed out" in record["events"][0]["error"].lower()


@pytest.mark.parametrize(
    ("config", "timeout_ms"),
    [({"bootstrap.servers": "k:9092"}, 10_000), ({"bootstrap.servers": "k:9092", "message.timeout.ms": 2500}, 2500)],
)
def test_a_kafka_producer_gives_up_after_ten_seconds_unless_its_config_says_otherwise(
    config: dict[str, Any], timeout_ms: int
) -> None:
    settings = LineageSpec("shop", {"type": "kafka", "topic": "lineage", "config": config}, Path("/p"))
    assert transport_config(settings, lambda value: value)["config"]["message.timeout.ms"] == timeout_ms


def test_openlineage_disabled_sends_nothing_and_the_record_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    run = Run(tmp_path)
    record = run.succeed()
    assert not (tmp_path / "lineage" / "events.jsonl").exists()
    assert record["events"] == [{"eventType": "START", "sent": False, "disabled": True},
                                {"eventType": "COMPLETE", "sent": False, "disabled": True}]  # fmt: skip
    assert run.reporter.messages == []


def test_the_console_transport_prints_each_event_as_a_json_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Run(tmp_path, project="name: shop\nlineage:\n  transport: {type: console}\n")
    run.succeed()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [event["eventType"] for event in lines] == ["START", "COMPLETE"]


def test_the_validator_rejects_an_event_that_breaks_the_specification(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.succeed()
    broken = run.events()[1]
    broken["run"]["runId"] = "run-42"
    del broken["job"]["facets"]["jobType"]["integration"]
    found = problems(broken)
    assert any("'run-42' is not a 'uuid'" in problem for problem in found)
    assert any(p.startswith("job.facets.jobType:") and "'integration' is a required property" in p for p in found)
