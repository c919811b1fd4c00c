"""``etl-cli dag run --param`` end to end: real child runs over a project of two pipelines.

daily declares ``ds`` (a date) and writes under ``ds=${param:ds}``; other declares no parameter, so its
child must not be given ``--param ds`` (``run`` would refuse it). One DAG run serves every test.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.spark.test_dag_run import by_name, dag_run, record_of
from tests.unit.helpers import make_project

DAILY = """
    name: daily
    params:
      ds: {type: date}
    spark: {master: "local[1]"}
    sources:
      - {name: raw, type: csv, path: data/events.csv}
    sinks:
      - {name: out, type: parquet, input: raw, path: "output/daily/ds=${param:ds}", mode: overwrite}
"""
OTHER = """
    name: other
    spark: {master: "local[1]"}
    sources:
      - {name: raw, type: csv, path: data/other.csv}
    sinks:
      - {name: out, type: parquet, input: raw, path: output/other, mode: overwrite}
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    files = {
        "pipelines/daily/pipeline.yaml": DAILY,
        "pipelines/other/pipeline.yaml": OTHER,
        "data/events.csv": "id,v\n1,10\n2,20\n",
        "data/other.csv": "id\n7\n",
    }
    root = make_project(tmp_path_factory.mktemp("dagparams"), files, project="name: dagparams\n")
    return root, dag_run(root, "--param", "ds=2026-01-31")


def _results(record: dict[str, Any], name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(by_name(record)[name]["results_file"]).read_text())
    return data


def test_the_pipeline_that_declares_the_param_ran_with_its_value(
    ran: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = ran
    assert result.returncode == 0, result.stderr
    record = record_of(result)
    assert _results(record, "daily")["params"] == {"ds": {"value": "2026-01-31", "type": "date", "source": "--param"}}
    assert (root / "output" / "daily" / "ds=2026-01-31").is_dir()


def test_the_pipeline_that_declares_none_ran_without_it(ran: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, result = ran
    record = record_of(result)
    assert (by_name(record)["other"]["status"], _results(record, "other")["params"]) == ("succeeded", None)


def test_the_dag_run_json_records_the_params_and_what_each_child_got(
    ran: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = ran
    record = record_of(result)
    assert record["params"] == ["ds=2026-01-31"]
    assert {name: run["params"] for name, run in by_name(record).items()} == {"daily": ["ds=2026-01-31"], "other": []}
