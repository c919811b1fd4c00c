"""Benchmark 9 without Spark: its data, the result it checks the tables against, its pipelines and session.

The merge itself runs in tests' smoke of the suite only when named (``--smoke --only table_merge``);
here, what the benchmark's verdict rests on: the expected table, recomputed row by row in plain Python.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from benchmarks import table_merge
from benchmarks.report import _fewer_rounds, _merge_table
from benchmarks.run import broken


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> table_merge.MergeData:
    return table_merge.ensure_merge_data(400, 60, 7, tmp_path_factory.mktemp("merge"))


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def test_the_changes_are_half_updates_and_half_new_accounts(data: table_merge.MergeData) -> None:
    base = {row["account_id"]: row for row in _rows(data.base)}
    changes = _rows(data.changes_file)
    assert sorted(base) == list(range(1, 401))
    ids = [row["account_id"] for row in changes]
    assert len(ids) == len(set(ids)) == 60
    updates = [row for row in changes if row["account_id"] in base]
    assert len(updates) == 30 and sorted(r["account_id"] for r in changes if r not in updates) == list(range(401, 431))
    stale = [row for row in updates if row["updated_at"] <= base[row["account_id"]]["updated_at"]]
    assert 0 < len(stale) < 10  # about a tenth, so the merge's condition matters


def test_the_expected_table_is_the_merge_by_key_newer_rows_winning(data: table_merge.MergeData) -> None:
    merged = {row["account_id"]: row for row in _rows(data.base)}
    for row in _rows(data.changes_file):
        old = merged.get(row["account_id"])
        if old is None or row["updated_at"] > old["updated_at"]:
            merged[row["account_id"]] = row
    expected = [
        {
            "account_id": r["account_id"],
            "name": r["name"],
            "country": r["country"],
            "balance_cents": r["balance_cents"],
            "updated_at_us": round(r["updated_at"].timestamp() * 1_000_000),
        }
        for _, r in sorted(merged.items())
    ]
    assert table_merge.expected_table(data).to_pylist() == expected


def test_the_same_files_come_back_for_the_same_size_and_seed(data: table_merge.MergeData) -> None:
    again = table_merge.ensure_merge_data(data.base_rows, data.changes, 7, data.folder.parent)
    assert again == data
    assert pq.read_table(again.changes_file).equals(pq.read_table(data.changes_file))


def test_the_session_gets_both_formats_jars_extensions_and_catalog(tmp_path: Path) -> None:
    project = table_merge.prepare_project(tmp_path)
    assert {p.split(":")[1] for p in table_merge.packages(project)} == {
        "delta-spark_2.13",
        "iceberg-spark-runtime-4.1_2.13",
    }
    settings = table_merge.session_settings(project)
    assert settings["spark.sql.extensions"].split(",") == [
        "io.delta.sql.DeltaSparkSessionExtension",
        "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
    ]
    assert settings["spark.sql.catalog.bench.type"] == "hadoop"
    assert settings["spark.sql.catalog.bench.warehouse"] == str(project / "warehouse")


def _result(ok: bool) -> dict:
    wall = {"median": 2.0, "min": 1.5, "max": 2.5, "n": 2, "values": [1.5, 2.5]}
    variant = {"wall_s": wall, "rows_per_s": 500}
    case = {
        "label": "delta 1,000 rows + 100 changes",
        "format": "delta",
        "base_rows": 1000,
        "changes": 100,
        "rows_after": {"expected": 1050},
        "variants": {"etl_cli": variant, "handwritten": variant},
        "ratio": {"wall": 1.0, "wall_paired_median": 1.0, "cpu": None},
        "checks": {"variants_identical": ok},
        "ok": ok,
    }
    return {
        "name": table_merge.NAME,
        "title": table_merge.TITLE,
        "kind": "table_merge",
        "status": "ok",
        "cases": [case],
    }


def test_a_wrong_table_makes_the_run_untrustworthy() -> None:
    assert broken({"benchmarks": [_result(True)]}) == []
    (problem,) = broken({"benchmarks": [_result(False)]})
    assert problem.startswith("table_merge delta 1,000 rows + 100 changes: wrong table contents")


def test_the_report_has_a_row_per_format_and_size() -> None:
    lines = _merge_table([_result(True)])
    assert lines[-1] == (
        "| delta | 1,000 | 100 | 2.00 [1.50-2.50] | 500 | 2.00 [1.50-2.50] | 500 | 1.000 / 1.000 / - | 1,050 | ok |"
    )


def test_the_report_header_names_the_benchmarks_measured_in_fewer_rounds_than_the_suite() -> None:
    def bench(name: str, rounds: int) -> dict:
        wall = {"median": 1.0, "min": 1.0, "max": 1.0, "n": rounds, "values": [1.0] * rounds}
        return {"name": name, "cases": [{"variants": {"etl_cli": {"wall_s": wall}, "handwritten": {"wall_s": wall}}}]}

    results = {"benchmarks": [bench("batch_simple", 5), bench("table_merge", 3), {"name": "cli", "status": "ok"}]}
    assert _fewer_rounds(results, 5) == " (table_merge: 3)"
    assert _fewer_rounds(results, 3) == ""
