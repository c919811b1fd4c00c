"""``etl-cli lineage --analyze``: Spark's analysis completes the columns offline lineage cannot know.

The pipeline reads a CSV file whose schema it does not declare, so offline only the columns its
expressions name are known (ts, level). logs.csv below has the columns ts, level and message; the
expected columns and edges are read off it and off the YAML by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

PIPELINE = """\
name: raw
sources:
  - name: logs
    type: csv
    path: data/logs.csv
transforms:
  - name: errors
    type: filter
    inputs: [logs]
    condition: level = 'ERROR'
  - name: tagged
    type: derive
    inputs: [errors]
    columns:
      day: to_date(ts)
sinks:
  - name: out
    type: json
    input: tagged
    path: output/errors
"""
LOGS = "ts,level,message\n2026-03-01 10:00:00,ERROR,disk full\n2026-03-01 10:05:00,INFO,ok\n"


def project(tmp_path: Path, logs: str | None = LOGS) -> Path:
    files = {"raw/pipeline.yaml": PIPELINE} | ({"data/logs.csv": logs} if logs is not None else {})
    return make_project(tmp_path / "shop", files)


def unknown_offline(root: Path) -> list[str]:
    """The text lines listing the nodes whose columns offline lineage does not know (sorted, indented)."""
    return [
        f"  dataset:file:{root / 'data/logs.csv'}",
        f"  dataset:file:{root / 'output/errors'}",
        "  raw.errors",
        "  raw.logs",
        "  raw.out",
        "  raw.tagged",
    ]


def lineage(root: Path, *args: str):  # type: ignore[no-untyped-def]
    return etl_cli("lineage", str(root / "raw"), *args, env={"ETL_STATE_DIR": str(root / "state")})


@pytest.mark.spark
def test_analyze_completes_the_columns_of_an_undeclared_source_and_of_every_stage_after_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = lineage(root, "--analyze", "--format", "json")
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    columns = {node["id"]: node["columns"] for node in graph["nodes"]}
    assert columns["raw.logs"] == ["ts", "level", "message"]
    assert columns["raw.errors"] == ["ts", "level", "message"]
    assert columns["raw.tagged"] == ["ts", "level", "message", "day"]
    assert columns["raw.out"] == ["ts", "level", "message", "day"]
    edges = {(e["source"]["node"], e["source"]["column"], e["target"]["node"], e["target"]["column"], e["how"])
             for e in graph["edges"]}  # fmt: skip
    assert ("raw.errors", "message", "raw.tagged", "message", "identity") in edges
    assert graph["unknowns"] == []
    data, written = f"dataset:file:{root / 'data/logs.csv'}", f"dataset:file:{root / 'output/errors'}"
    assert graph["analyzed"] == {
        "pipelines": ["raw"],
        "completed": sorted([data, written, "raw.errors", "raw.logs", "raw.out", "raw.tagged"]),
        "unknown": [],
        "diagnostics": [],
    }
    assert not (root / "output").exists(), "the analysis writes nothing"


@pytest.mark.spark
def test_analyze_lists_the_nodes_spark_completed_after_the_text_lineage(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = lineage(root, "--analyze")
    assert result.returncode == 0, result.stderr
    assert "  message  ← errors.message" in result.stdout.splitlines()
    tail = result.stdout.splitlines()[-7:]
    assert tail == ["completed by Spark's analysis (--analyze):", *unknown_offline(root)]
    assert "starting Spark" in result.stderr


@pytest.mark.spark
def test_analyze_makes_a_column_unknown_offline_selectable_with_column(tmp_path: Path) -> None:
    root = project(tmp_path)
    offline = lineage(root, "--column", "raw.tagged.message")
    assert offline.returncode == 2 and "has no column 'message'" in offline.stderr
    result = lineage(root, "--analyze", "--column", "raw.tagged.message", "--upstream", "--format", "json")
    assert result.returncode == 0, result.stderr
    edges = {(e["source"]["node"], e["source"]["column"], e["target"]["node"], e["target"]["column"])
             for e in json.loads(result.stdout)["edges"]}  # fmt: skip
    data = f"dataset:file:{root / 'data/logs.csv'}"
    assert edges == {
        ("raw.errors", "message", "raw.tagged", "message"),
        ("raw.logs", "message", "raw.errors", "message"),
        ("raw.logs", "level", "raw.errors", "message"),  # the filter decides which messages there are
        (data, "message", "raw.logs", "message"),
        (data, "level", "raw.logs", "level"),
    }


@pytest.mark.spark
def test_analyze_that_spark_cannot_finish_exits_1_naming_the_line_and_keeps_the_offline_lineage(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, logs=None)
    result = lineage(root, "--analyze")
    assert result.returncode == 1
    assert "raw/pipeline.yaml:5:5: error:" in result.stderr and "[input-not-found]" in result.stderr
    assert "not known offline:" in result.stdout
    lines = result.stdout.splitlines()
    assert "completed by Spark's analysis (--analyze): nothing" in lines
    assert lines[lines.index("still unknown after Spark's analysis:") + 1 :] == unknown_offline(root)


def test_analyze_starts_no_spark_when_offline_lineage_knows_every_column(tmp_path: Path) -> None:
    declared = PIPELINE.replace("path: data/logs.csv", 'path: data/logs.csv\n    schema: "ts STRING, level STRING"')
    root = make_project(tmp_path / "shop", {"raw/pipeline.yaml": declared})
    result = lineage(root, "--analyze")
    assert result.returncode == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    assert last == "completed by Spark's analysis (--analyze): nothing, every column is known offline"
    assert "starting Spark" not in result.stderr


@pytest.mark.spark
def test_analyze_lets_a_pipeline_learn_the_columns_of_what_an_analysed_pipeline_writes(tmp_path: Path) -> None:
    """audit reads what ingest writes, which no run has written yet: Spark analyses ingest only."""
    ingest = PIPELINE.replace("name: raw", "name: ingest").replace("output/errors", "lake/errors")
    audit = """\
name: audit
sources:
  - name: errors
    type: json
    path: lake/errors
sinks:
  - name: out
    type: csv
    input: errors
    path: output/audit
"""
    root = make_project(
        tmp_path / "shop", {"ingest/pipeline.yaml": ingest, "audit/pipeline.yaml": audit, "data/logs.csv": LOGS}
    )
    result = etl_cli("lineage", str(root), "--analyze", "--format", "json", env={"ETL_STATE_DIR": str(root / "state")})
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    assert {node["id"]: node["columns"] for node in graph["nodes"]}["audit.errors"] == ["ts", "level", "message", "day"]
    assert graph["analyzed"]["pipelines"] == ["ingest"]
    assert graph["analyzed"]["unknown"] == [] and graph["analyzed"]["diagnostics"] == []
