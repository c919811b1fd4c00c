"""OpenLineage events of real runs on Spark: a successful, a failed and an interrupted one.

Each run is ``etl-cli run`` as cron starts it (a subprocess without a terminal) on a project whose
``lineage:`` uses the client's file transport; the events are read back from that file and validated
against the specification (tests/lineage/openlineage_validation.py). The last test runs in this
process on the shared session, to count the Spark jobs a run starts with and without lineage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from etl_cli.app import load_spec, registry
from etl_cli.runtime.execution.run import execute_run
from tests.lineage.openlineage_runs import (
    FAILS,
    IS_SLOW,
    PARENT,
    PARENT_ID,
    SLOW_DATA,
    SUCCEEDS,
    interrupt_orders,
    orders_project,
    run_orders,
)
from tests.lineage.openlineage_validation import problems
from tests.support import RecordingReporter

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark

FILE_TRANSPORT = """
    lineage:
      namespace: shop-team
      transport: {type: file, log_file_path: lineage/events.jsonl, append: true}
"""


def events(root: Path) -> list[dict[str, Any]]:
    path = root / "lineage" / "events.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def results(root: Path) -> dict[str, Any]:
    return json.loads((root / ".etl" / "runs" / "orders" / "dev" / "latest.json").read_text(encoding="utf-8"))


def columns(dataset: dict[str, Any]) -> list[tuple[str, str]] | None:
    schema = dataset.get("facets", {}).get("schema")
    return None if schema is None else [(field["name"], field["type"]) for field in schema["fields"]]


def test_a_successful_run_sends_start_and_complete_that_follow_the_specification(tmp_path: Path) -> None:
    root = orders_project(tmp_path, FILE_TRANSPORT, SUCCEEDS)
    done = run_orders(root, "--parent-run", PARENT)
    assert done.returncode == 0, done.stderr
    start, complete = events(root)
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert (problems(start), problems(complete)) == ([], [])
    assert complete["run"]["facets"]["parent"]["job"]["name"] == "nightly.orders"
    assert (complete["job"]["namespace"], complete["job"]["name"]) == ("shop-team", "orders")
    # the source declares no schema: START cannot name its columns, COMPLETE has what Spark read
    assert columns(start["inputs"][0]) is None
    assert columns(complete["inputs"][0]) == [("id", "int"), ("customer", "string"), ("amount", "double"),
                                              ("status", "string")]  # fmt: skip
    (written,) = complete["outputs"]
    assert columns(written) == [("customer", "string"), ("total", "double")]
    assert written["outputFacets"]["outputStatistics"]["rowCount"] == 2  # ann and bob paid
    total = written["facets"]["columnLineage"]["fields"]["total"]["inputFields"]
    assert [(f["field"], f["transformations"][0]["subtype"]) for f in total] == [("amount", "AGGREGATION")]
    record = results(root)["lineage"]
    assert record["run_id"] == complete["run"]["runId"]
    assert [(e["eventType"], e["sent"]) for e in record["events"]] == [("START", True), ("COMPLETE", True)]


def test_a_failed_run_sends_fail_with_the_error_that_failed_it(tmp_path: Path) -> None:
    root = orders_project(tmp_path, FILE_TRANSPORT, FAILS)
    done = run_orders(root)
    assert done.returncode == 4, done.stderr
    start, fail = events(root)
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    assert (problems(start), problems(fail)) == ([], [])
    message = fail["run"]["facets"]["errorMessage"]["message"]
    assert "too much" in message and message == results(root)["error"]["message"]
    assert "outputStatistics" not in (fail["outputs"][0].get("outputFacets") or {})


def test_an_interrupted_run_sends_abort(tmp_path: Path) -> None:
    root = orders_project(tmp_path, FILE_TRANSPORT, IS_SLOW, SLOW_DATA)
    assert interrupt_orders(root, {"OPENLINEAGE_PARENT_ID": PARENT}) == 130
    start, abort = events(root)
    assert (start["eventType"], abort["eventType"]) == ("START", "ABORT")
    assert (problems(start), problems(abort)) == ([], [])
    assert abort["run"]["facets"]["parent"]["run"]["runId"] == PARENT_ID
    assert results(root)["status"] == "interrupted"


def test_sending_events_starts_no_spark_job_of_its_own(spark: SparkSession, tmp_path: Path) -> None:
    root = orders_project(tmp_path, FILE_TRANSPORT, SUCCEEDS)
    tracker = spark.sparkContext.statusTracker()

    def jobs_of_a_run(*sets: str) -> int:
        _, spec = load_spec(root / "pipelines" / "orders", "dev", sets)
        before = len(tracker.getJobIdsForGroup())
        execute_run(spec, registry(), RecordingReporter(), f"run-{len(sets)}", results_dir=tmp_path / "runs",
                    session=spark)  # fmt: skip
        return len(tracker.getJobIdsForGroup()) - before

    without = jobs_of_a_run("lineage.enabled=false")
    with_lineage = jobs_of_a_run()
    assert len(events(root)) == 2  # START and COMPLETE of the second run
    assert with_lineage == without
