"""Replaying malformed records: re-parsed from their raw text, or loaded from a corrected file.

Runs in-process on the shared session (``execute_run`` joins it), so no JVM is started here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from pyspark.sql import SparkSession

from etl_cli import app
from etl_cli.errors import UsageError
from etl_cli.events import Reporter
from etl_cli.runtime.execution.run import execute_run
from etl_cli.runtime.safeguards.dlq import Selection
from etl_cli.runtime.safeguards.replay import replay

CSV = "id,amount\n1,1.5\n2,2.5\n3,abc\n4,4.5,extra\n"
PIPELINE = """\
sources:
  - {name: orders, type: csv, path: orders.csv, schema: "id INT, amount DOUBLE", on_malformed: dead_letter}
sinks:
  - {name: out, type: parquet, input: orders, path: out, mode: overwrite}
dead_letter: {type: json, path: dlq}
"""


def rows(path: Path, format: str = "parquet") -> list[dict[str, Any]]:
    return ds.dataset(path, format=format, partitioning="hive").to_table().to_pylist()


def test_malformed_records_replay_from_their_raw_text_or_from_a_corrected_file(
    spark: SparkSession, tmp_path: Path
) -> None:
    (tmp_path / "etl-project.yaml").write_text("name: t\n")
    (tmp_path / "orders.csv").write_text(CSV)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    _, spec = app.load_spec(tmp_path / "pipeline.yaml", None)
    results = tmp_path / "results"

    execute_run(spec, app.registry(), Reporter(), "run-1", results_dir=results)
    assert sorted(r["id"] for r in rows(tmp_path / "out")) == [1, 2]
    first = rows(tmp_path / "dlq", "json")
    assert sorted(r["raw"] for r in first) == ["3,abc", "4,4.5,extra"]

    # Unchanged pipeline: the raw text still does not parse, so the records go back to the queue.
    replay(spec, app.registry(), Reporter(), "run-2", selection=Selection(runs=("run-1",)), results_dir=results)
    again = [r for r in rows(tmp_path / "dlq", "json") if r["run_id"] == "run-2"]
    assert sorted((r["kind"], r["raw"]) for r in again) == [("malformed", "3,abc"), ("malformed", "4,4.5,extra")]
    assert sorted(r["id"] for r in rows(tmp_path / "out")) == [1, 2], "nothing appended"
    assert json.loads((results / "latest.json").read_text())["replay"]["dead_letters"] == 2

    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text('{"id": 3, "amount": 3.5}\n{"id": 4, "amount": 4.5}\n')
    with pytest.raises(UsageError, match="already replayed"):
        replay(spec, app.registry(), Reporter(), "run-3", selection=Selection(runs=("run-1",)), rows_file=fixed)
    replay(
        spec, app.registry(), Reporter(), "run-3", selection=Selection(runs=("run-1",)), rows_file=fixed, force=True,
        results_dir=results,
    )  # fmt: skip
    assert sorted((r["id"], r["amount"]) for r in rows(tmp_path / "out")) == [(1, 1.5), (2, 2.5), (3, 3.5), (4, 4.5)]
    replayed = json.loads((results / "latest.json").read_text())
    assert replayed["replay"]["sinks"] == {"out": "append"} and replayed["replay"]["forced"] is True
    assert not [r for r in rows(tmp_path / "dlq", "json") if r["run_id"] == "run-3"]
