"""Where a run's time went: Spark's start-up on its own, and ``run --profile``'s share of operator time per stage.

One project, run through the CLI as cron would: two Parquet sources (Spark times their columnar
scans), a filter, a join, an aggregation and a Parquet sink. Its plan, worked out by hand:
every stage's rows are counted except ``per_country``'s (the sink counts them), so the final
aggregation and the write run in the same tasks and share one measure, which no single stage can
be given; the scans are the sources', the write's commits the sink's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

COUNTRIES = ["FR", "DE", "NL", "BE", "ES"]
PIPELINE = """\
spark:
  master: local[2]
  conf: {spark.sql.shuffle.partitions: 2}
sources:
  - {name: orders, type: parquet, path: data/orders}
  - {name: customers, type: parquet, path: data/customers}
transforms:
  - {name: paid, type: filter, inputs: [orders], condition: "status = 'paid'"}
  - {name: joined, type: join, inputs: [paid, customers], on: [customer_id], how: inner}
  - name: per_country
    type: aggregate
    inputs: [joined]
    group_by: [country]
    aggregations: {revenue: {function: sum, column: amount}}
sinks:
  - {name: out, type: parquet, input: per_country, path: out/per_country, mode: overwrite}
"""
#: (stage, kind) in plan order
STAGES = [
    ("orders", "source"),
    ("customers", "source"),
    ("paid", "transform"),
    ("joined", "transform"),
    ("per_country", "transform"),
    ("out", "sink"),
]


def write_project(root: Path) -> Path:
    """The project: 200,000 orders (every third cancelled) of 1,000 customers, as Parquet files."""
    project = make_project(root, {"p/pipeline.yaml": PIPELINE})
    rows = range(200_000)
    orders = pa.table(
        {
            "order_id": list(rows),
            "customer_id": [i % 1_000 for i in rows],
            "amount": [float(i % 97) for i in rows],
            "status": ["cancelled" if i % 3 == 0 else "paid" for i in rows],
        }
    )
    customers = pa.table({"customer_id": list(range(1_000)), "country": [COUNTRIES[i % 5] for i in range(1_000)]})
    for name, table in (("orders", orders), ("customers", customers)):
        (project / "data" / name).mkdir(parents=True)
        pq.write_table(table, project / "data" / name / "part-0.parquet")
    return project


def run(project: Path, *flags: str) -> tuple[str, dict[str, Any]]:
    """Run the pipeline; return what it printed and its run results."""
    results = project / "results"
    done = etl_cli("run", "p", "--results-dir", str(results), *flags, cwd=project)
    assert done.returncode == 0, done.stderr
    return done.stderr, json.loads((results / "latest.json").read_text())


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    return run(write_project(tmp_path_factory.mktemp("profiled")), "--profile")


def test_spark_start_up_is_its_own_line_and_field_and_in_no_stage(profiled: tuple[str, dict[str, Any]]) -> None:
    printed, results = profiled
    startup = results["spark_startup_s"]
    assert startup > 0
    assert f"Spark start-up: {startup:.1f}s" in printed
    # one sink, so no two stages' times overlap: start-up plus every stage fit in the run's duration
    assert startup + sum(stage["duration_s"] for stage in results["stages"]) <= results["duration_s"]


def test_stage_shares_add_up_to_the_operator_total(profiled: tuple[str, dict[str, Any]]) -> None:
    profile = profiled[1]["profile"]
    stages = profile["stages"]
    assert [(stage["stage"], stage["kind"]) for stage in stages] == STAGES
    unattributed = profile["unattributed"]
    assert profile["operator_time_s"] > 0
    total = sum(stage["time_s"] for stage in stages) + unattributed["time_s"]
    assert total == pytest.approx(profile["operator_time_s"], abs=0.001 * (len(stages) + 1))  # each rounded to ms
    shares = sum(stage["share_pct"] for stage in stages) + unattributed["share_pct"]
    assert shares == pytest.approx(100, abs=0.05 * (len(stages) + 1))  # each rounded to 0.1 %


def test_scans_are_the_sources_time_and_the_write_the_sinks(profiled: tuple[str, dict[str, Any]]) -> None:
    time_of = {stage["stage"]: stage["time_s"] for stage in profiled[1]["profile"]["stages"]}
    assert time_of["orders"] > 0 and time_of["customers"] > 0
    assert time_of["out"] > 0


def test_a_measure_of_several_stages_is_unattributed_and_names_them(profiled: tuple[str, dict[str, Any]]) -> None:
    printed, results = profiled
    parts = results["profile"]["unattributed"]["parts"]
    # the final aggregation and the write: one set of tasks, one measure
    shared = [part for part in parts if part["stages"] == ["out", "per_country"]]
    assert shared and all(part["step"] == "sink 'out' (parquet)" for part in shared)
    assert results["profile"]["unattributed"]["time_s"] > 0
    assert "where the time went" in printed and "unattributed" in printed
    assert "out, per_country: code run in tasks" in printed


def test_without_profile_no_profile_is_written(tmp_path: Path) -> None:
    printed, results = run(write_project(tmp_path))
    assert results["profile"] is None
    assert results["spark_startup_s"] > 0
    assert "where the time went" not in printed
