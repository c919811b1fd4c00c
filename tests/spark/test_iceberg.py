"""Iceberg tables through a Hadoop catalog: every write mode, time travel and incremental reads.

Four ``etl-cli run`` subprocesses share one project: ``load`` writes four tables from version 1 of a CSV
file (each created, partitioned, by the sink), ``read`` reads them back, ``load`` runs again on version 2
(merge with update, conditional insert and delete; append; dynamic partition overwrite; overwrite), and
``read`` again: the table as of the first snapshot, as it is now, and incrementally. A second way of
reading the tables, independent of the plug-ins, checks what they wrote: Iceberg's metadata JSON files
(each snapshot's operation and record counts). Every expected row is written by hand from the CSV files.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

# its runs need Spark extensions and catalogs of their own (a JVM each), not the tests' shared session
pytestmark = pytest.mark.own_jvm

PROJECT = """\
name: lake
catalogs:
  lake: {type: iceberg, catalog_type: hadoop, warehouse: warehouse, database: sales}
"""
LOAD = """\
name: load
sources:
  - {name: raw, type: csv, path: data/orders.csv, schema: "id INT, name STRING, amount INT, day DATE, deleted BOOLEAN"}
sinks:
  - name: orders
    type: iceberg
    input: raw
    catalog: lake
    table: orders
    mode: merge
    keys: [id]
    delete_when: s.deleted
    insert_when: NOT s.deleted
    partition_by: [days(day), "bucket(4, id)"]
    properties: {write.merge.mode: merge-on-read, owner_team: sales}
  - {name: events, type: iceberg, input: raw, catalog: lake, table: sales.events, mode: append}
  - {name: daily, type: iceberg, input: raw, catalog: lake, table: daily, mode: overwrite_partitions,
     partition_by: [day]}
  - {name: latest, type: iceberg, input: raw, catalog: lake, table: latest, mode: overwrite}
"""
READ = """\
name: read
sources:
  - {name: orders_now, type: iceberg, catalog: lake, table: orders}
  - {name: orders_first, type: iceberg, catalog: lake, table: orders, snapshot_id: %s}
  - {name: orders_then, type: iceberg, catalog: lake, table: orders, timestamp: "%s"}
  - {name: events_new, type: iceberg, catalog: lake, table: events, incremental: true}
  - {name: daily_now, type: iceberg, catalog: lake, table: daily}
  - {name: latest_now, type: iceberg, catalog: lake, table: latest}
sinks:
  - {name: o1, type: json, input: orders_now, path: out/%s/orders_now}
  - {name: o2, type: json, input: orders_first, path: out/%s/orders_first}
  - {name: o3, type: json, input: events_new, path: out/%s/events_new}
  - {name: o4, type: json, input: daily_now, path: out/%s/daily_now}
  - {name: o5, type: json, input: latest_now, path: out/%s/latest_now}
  - {name: o6, type: json, input: orders_then, path: out/%s/orders_then}
"""
V1 = """\
id,name,amount,day,deleted
1,a,10,2026-01-01,false
2,b,20,2026-01-02,false
3,c,30,2026-01-02,false
"""
V2 = """\
id,name,amount,day,deleted
1,a2,11,2026-01-02,false
2,b,20,2026-01-02,true
4,d,40,2026-01-02,false
5,e,50,2026-01-03,true
"""


@dataclass(frozen=True)
class Lake:
    project: Path
    runs: list[subprocess.CompletedProcess[str]]

    def rows(self, run: str, name: str) -> list[tuple[Any, ...]]:
        found = []
        for part in sorted((self.project / "out" / run / name).glob("part-*.json")):
            for line in part.read_text().splitlines():
                row = json.loads(line)
                found.append((row["id"], row["name"], row["amount"], row["day"]))
        return sorted(found)

    def metadata(self, table: str) -> dict[str, Any]:
        folder = self.project / "warehouse" / "sales" / table / "metadata"
        version = (folder / "version-hint.text").read_text().strip()
        return dict(json.loads((folder / f"v{version}.metadata.json").read_text()))


def _snapshots(metadata: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(operation, added-records, total-records) of each snapshot, oldest first."""
    return [
        (s["summary"]["operation"], s["summary"].get("added-records", "0"), s["summary"]["total-records"])
        for s in sorted(metadata["snapshots"], key=lambda s: s["sequence-number"])
    ]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    project = tmp_path_factory.mktemp("iceberg")
    make_project(project, {"pipelines/load/pipeline.yaml": LOAD, "data/orders.csv": V1}, project=PROJECT)
    env = {"ETL_STATE_DIR": str(project / "state")}

    def run(pipeline: str) -> subprocess.CompletedProcess[str]:
        return etl_cli("run", f"pipelines/{pipeline}", cwd=project, env=env)

    runs = [run("load")]
    orders = project / "warehouse" / "sales" / "orders" / "metadata" / "v1.metadata.json"
    created = json.loads(orders.read_text()) if orders.exists() else {"current-snapshot-id": 0, "snapshots": []}
    first = created["current-snapshot-id"]
    # an instant after the first snapshot's commit and before the second load, written with a zone offset
    millis = max([s["timestamp-ms"] for s in created["snapshots"]] or [0]) + 1
    then = datetime.fromtimestamp(millis / 1000, timezone(timedelta(hours=2))).isoformat()
    read = project / "pipelines" / "read" / "pipeline.yaml"
    read.parent.mkdir(parents=True)
    read.write_text(READ % (first, then, *["first"] * 6))
    runs.append(run("read"))
    (project / "data" / "orders.csv").write_text(V2)
    runs.append(run("load"))
    read.write_text(READ % (first, then, *["second"] * 6))
    runs.append(run("read"))
    return Lake(project, runs)


def test_every_run_succeeds(lake: Lake) -> None:
    for result in lake.runs:
        assert result.returncode == 0, result.stdout + result.stderr


def test_merge_updates_deletes_and_inserts_by_condition(lake: Lake) -> None:
    assert lake.rows("second", "orders_now") == [
        (1, "a2", 11, "2026-01-02"),
        (3, "c", 30, "2026-01-02"),
        (4, "d", 40, "2026-01-02"),
    ]


def test_each_merge_is_one_snapshot(lake: Lake) -> None:
    metadata = lake.metadata("orders")
    # created with its rows by one commit; the merge: one overwrite, 2 rows written (1 updated, 4 inserted)
    # and the old rows of ids 1 and 2 deleted by position (merge-on-read): 3 + 2 records, 2 deleted
    assert _snapshots(metadata) == [("append", "3", "3"), ("overwrite", "2", "5")]
    merge = sorted(metadata["snapshots"], key=lambda s: s["sequence-number"])[-1]["summary"]
    assert merge["added-position-deletes"] == "2"


def test_created_table_has_the_partitioning_and_properties(lake: Lake) -> None:
    metadata = lake.metadata("orders")
    fields = metadata["partition-specs"][0]["fields"]
    assert [(f["name"], f["transform"]) for f in fields] == [("day_day", "day"), ("id_bucket", "bucket[4]")]
    assert metadata["properties"]["write.merge.mode"] == "merge-on-read"
    assert metadata["properties"]["owner_team"] == "sales"


def test_time_travel_reads_the_first_snapshot(lake: Lake) -> None:
    first = [(1, "a", 10, "2026-01-01"), (2, "b", 20, "2026-01-02"), (3, "c", 30, "2026-01-02")]
    assert lake.rows("first", "orders_first") == first
    assert lake.rows("second", "orders_first") == first


def test_time_travel_by_timestamp_reads_the_snapshot_current_then(lake: Lake) -> None:
    first = [(1, "a", 10, "2026-01-01"), (2, "b", 20, "2026-01-02"), (3, "c", 30, "2026-01-02")]
    assert lake.rows("second", "orders_then") == first


def test_append_and_incremental_read(lake: Lake) -> None:
    assert _snapshots(lake.metadata("events")) == [("append", "3", "3"), ("append", "4", "7")]
    # the first read takes the whole table, the second only what the second load appended
    assert lake.rows("first", "events_new") == [
        (1, "a", 10, "2026-01-01"),
        (2, "b", 20, "2026-01-02"),
        (3, "c", 30, "2026-01-02"),
    ]
    assert lake.rows("second", "events_new") == [
        (1, "a2", 11, "2026-01-02"),
        (2, "b", 20, "2026-01-02"),
        (4, "d", 40, "2026-01-02"),
        (5, "e", 50, "2026-01-03"),
    ]


def test_dynamic_partition_overwrite_keeps_other_partitions(lake: Lake) -> None:
    assert lake.rows("second", "daily_now") == [
        (1, "a", 10, "2026-01-01"),  # its day is not in version 2: kept
        (1, "a2", 11, "2026-01-02"),
        (2, "b", 20, "2026-01-02"),
        (4, "d", 40, "2026-01-02"),
        (5, "e", 50, "2026-01-03"),
    ]
    # 2026-01-02's two files replaced by three, 2026-01-03 added: 3 - 2 + 4 = 5 records
    assert _snapshots(lake.metadata("daily"))[-1] == ("overwrite", "4", "5")


def test_overwrite_replaces_every_row(lake: Lake) -> None:
    assert lake.rows("second", "latest_now") == [
        (1, "a2", 11, "2026-01-02"),
        (2, "b", 20, "2026-01-02"),
        (4, "d", 40, "2026-01-02"),
        (5, "e", 50, "2026-01-03"),
    ]
    assert _snapshots(lake.metadata("latest")) == [("append", "3", "3"), ("overwrite", "4", "4")]
