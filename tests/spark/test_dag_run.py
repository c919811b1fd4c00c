"""``etl-cli dag run`` end to end: real child runs (one JVM each) over a project of five pipelines.

a and b stage two CSV files; c joins what they wrote (inferred dependencies); d says ``depends_on: [a]``
and reads data/d.csv, which is missing at first; e reads what d writes. With ``--jobs 2``, a and b run at
the same time; d fails, so e (and only e) is skipped; once data/d.csv exists, ``--resume`` runs d and e.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.helpers import make_project


def _pipeline(name: str, sources: str, sink: str, extra: str = "") -> str:
    return f"""
        name: {name}
        {extra}
        spark: {{master: "local[1]"}}
        sources:
        {sources}
        sinks:
          - {sink}
    """


PIPELINES = {
    "pipelines/a/pipeline.yaml": _pipeline(
        "a", "  - {name: raw, type: csv, path: data/a.csv}",
        "{name: out, type: parquet, input: raw, path: output/a, mode: overwrite}",
    ),
    "pipelines/b/pipeline.yaml": _pipeline(
        "b", "  - {name: raw, type: csv, path: data/b.csv}",
        "{name: out, type: parquet, input: raw, path: output/b, mode: overwrite}",
    ),
    "pipelines/c/pipeline.yaml": _pipeline(
        "c",
        "  - {name: a, type: parquet, path: output/a}\n          - {name: b, type: parquet, path: output/b}\n"
        "        transforms:\n          - {name: j, type: join, inputs: [a, b], on: [id]}",
        "{name: out, type: parquet, input: j, path: output/c, mode: overwrite}",
    ),
    "pipelines/d/pipeline.yaml": _pipeline(
        "d", "  - {name: raw, type: csv, path: data/d.csv}",
        "{name: out, type: parquet, input: raw, path: output/d, mode: overwrite}",
        extra="depends_on: [a]",
    ),
    "pipelines/e/pipeline.yaml": _pipeline(
        "e", "  - {name: d, type: parquet, path: output/d}",
        "{name: out, type: csv, input: d, path: output/e, mode: overwrite}",
    ),
}  # fmt: skip


def dag_run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "etl_cli", "dag", "run", *args],
        cwd=root,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def record_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    (path,) = re.findall(r"^dag run results: (.+)$", result.stderr, re.MULTILINE)
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def by_name(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in record["pipelines"]}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    files = {**PIPELINES, "data/a.csv": "id,v\n1,10\n2,20\n", "data/b.csv": "id,w\n1,x\n2,y\n3,z\n"}
    root = make_project(tmp_path_factory.mktemp("dag"), files, project="name: dagtest\n")
    return root, dag_run(root, "--jobs", "2")


def test_a_failure_skips_exactly_its_downstream_and_the_rest_succeeds(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = first_run
    assert result.returncode == 4, result.stderr
    record = record_of(result)
    assert {name: p["status"] for name, p in by_name(record).items()} == {
        "a": "succeeded", "b": "succeeded", "c": "succeeded", "d": "failed", "e": "skipped",
    }  # fmt: skip
    assert [p["exit_code"] for p in record["pipelines"]] == [0, 0, 0, 4, None]
    assert by_name(record)["e"]["skip_reason"] == "upstream 'd' failed (exit 4)"
    assert "skipped   e: upstream 'd' failed (exit 4)" in result.stderr
    assert "data/d.csv" in Path(by_name(record)["d"]["log_file"]).read_text(), "the child's error is in its log"
    assert not (root / "output" / "e").exists()


def test_each_child_ran_under_the_run_id_the_dag_run_gave_it(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = first_run
    for name, run in by_name(record_of(result)).items():
        if name == "e":
            continue
        expected = root / ".etl" / "runs" / name / "default" / f"{run['run_id']}.json"
        assert run["results_file"] == str(expected)
        assert json.loads(expected.read_text())["run_id"] == run["run_id"]
    rows = {name: run["rows_written"] for name, run in by_name(record_of(result)).items()}
    assert rows == {"a": 2, "b": 3, "c": 2, "d": None, "e": None}


def test_two_independent_pipelines_ran_at_the_same_time_with_two_jobs(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = first_run
    runs = by_name(record_of(result))
    a, b = (json.loads(Path(runs[name]["results_file"]).read_text()) for name in ("a", "b"))
    assert max(a["started_at"], b["started_at"]) < min(a["ended_at"], b["ended_at"]), "a and b overlapped"


def test_resume_runs_only_the_failed_and_skipped_pipelines_then_has_nothing_left(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = first_run
    first = record_of(result)
    (root / "data" / "d.csv").write_text("id,u\n7,q\n")
    resumed = dag_run(root, "--resume", first["dag_run_id"])
    assert resumed.returncode == 0, resumed.stderr
    record = record_of(resumed)
    assert record["resumes"] == first["dag_run_id"]
    assert [(p["name"], p["status"]) for p in record["pipelines"]] == [("d", "succeeded"), ("e", "succeeded")]
    assert [line.split(" · ")[0] for line in resumed.stderr.splitlines() if line.startswith("started")] == [
        "started   d",
        "started   e",
    ]
    again = dag_run(root, "--resume", record["dag_run_id"])
    assert (again.returncode, again.stderr) == (
        0,
        f"dag run {record['dag_run_id']}: every pipeline succeeded, nothing to resume\n",
    )
