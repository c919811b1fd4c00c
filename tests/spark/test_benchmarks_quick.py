"""The benchmark suite runs end to end at its smallest size, so it cannot rot.

Benchmarks are not tests: nothing here looks at a time. What is checked is that the runner
writes well-formed results and that the etl-cli and hand-written variants of each batch job
wrote the same rows, counted here by reading their Parquet output and compared with counts
computed independently from the generated CSV files (pyarrow and pandas, no Spark).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pytest

from tests.clihelp import REPO

MACHINE_KEYS = {"date", "cores", "memory_gib", "python", "java", "spark"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One ``python -m benchmarks.run --smoke`` into a temporary folder."""
    root = tmp_path_factory.mktemp("benchmarks")
    out = root / "results"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--out", str(out), "--data-dir", str(root / "data")],
        cwd=REPO,
        env={**os.environ, "ETL_STATE_DIR": str(root / "state"), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((out / "latest.json").read_text()), out


def _batch_cases(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(b["name"], c) for b in results["benchmarks"] if b.get("kind") == "batch" for c in b["cases"]]


def _parquet_rows(path: str) -> int:
    return ds.dataset(path, format="parquet").count_rows()


def _expected_rows(benchmark: str, data_folder: Path) -> int:
    orders = pacsv.read_csv(data_folder / "orders.csv").to_pandas()
    if benchmark == "batch_simple":
        return int((orders["status"].isin(["paid", "shipped"]) & (orders["amount"] > 1.00)).sum())
    customers = pacsv.read_csv(data_folder / "customers.csv").to_pandas()
    valid = orders[orders["status"] != "cancelled"].merge(customers, on="customer_id")
    days = pd.to_datetime(valid["order_ts"]).dt.date
    return int(valid.assign(day=days).groupby(["customer_id", "country", "day"]).ngroups)


def test_the_result_files_are_written(smoke_run: tuple[dict[str, Any], Path]) -> None:
    results, out = smoke_run
    markdown = (out / "latest.md").read_text()
    assert "| benchmark | rows | etl-cli s |" in markdown
    assert "## CLI responsiveness" in markdown
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert results["chart_missing"]
    else:
        assert (out / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_results_record_the_machine_and_the_run(smoke_run: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke_run
    assert results["machine"].keys() >= MACHINE_KEYS
    assert all(results["machine"][key] for key in ("cores", "python", "spark"))
    assert results["suite"]["profile"] == "smoke"
    assert results["session"]["start_s"] > 0
    names = {b["name"]: b for b in results["benchmarks"]}
    assert {"batch_simple", "batch_complex", "cli", "quality_cost"} <= names.keys()
    for bench in names.values():
        assert bench["status"] in ("ok", "pending", "skipped"), bench
        if bench["status"] != "ok":
            assert bench["reason"]


def test_every_measurement_has_a_median_within_its_range(smoke_run: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke_run
    stats = [v["wall_s"] for _, case in _batch_cases(results) for v in case["variants"].values()]
    stats += [case["wall_s"] for b in results["benchmarks"] if b.get("kind") == "cli" for case in b["cases"]]
    assert stats
    for entry in stats:
        assert entry["min"] <= entry["median"] <= entry["max"]
        assert entry["n"] == len(entry["values"]) >= 1


def test_both_variants_of_each_batch_job_wrote_the_expected_rows(smoke_run: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke_run
    cases = _batch_cases(results)
    assert {name for name, _ in cases} == {"batch_simple", "batch_complex"}
    for name, case in cases:
        etl = _parquet_rows(case["variants"]["etl_cli"]["output"]["path"])
        uncounted = _parquet_rows(case["variants"]["etl_cli_uncounted_sources"]["output"]["path"])
        hand = _parquet_rows(case["variants"]["handwritten"]["output"]["path"])
        counted = _parquet_rows(case["variants"]["handwritten_counted"]["output"]["path"])
        assert etl == uncounted == hand == counted == _expected_rows(name, Path(case["data_folder"])), name
        assert case["outputs_identical"], name


def test_the_counting_hand_written_job_counts_what_etl_cli_reports(smoke_run: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke_run
    for name, case in _batch_cases(results):
        counted = case["variants"]["handwritten_counted"]["counted_rows"]
        stage_rows = case["variants"]["etl_cli"]["stage_rows"]
        expected = _expected_rows(name, Path(case["data_folder"]))
        sink = "enriched_orders_out" if name == "batch_simple" else "ranked_out"
        assert counted[sink] == stage_rows[sink] == expected, name
        assert counted["orders"] == stage_rows["orders"] == case["rows"], name
        assert case["counts_match"], name
        assert set(case["ratio_same_counts"]) == set(case["cost_of_counts"]) == {"wall", "wall_paired_median", "cpu"}


def test_the_cli_commands_ran_as_expected(smoke_run: tuple[dict[str, Any], Path]) -> None:
    results, _ = smoke_run
    cli = next(b for b in results["benchmarks"] if b["name"] == "cli")
    labels = [case["label"] for case in cli["cases"]]
    assert labels[:2] == ["etl-cli --help", "validate quickstart"]
    assert any(label.startswith("validate every pipeline") for label in labels)
    assert "validate generated 200-stage pipeline" in labels
    assert all(case["ok"] for case in cli["cases"]), cli["cases"]
