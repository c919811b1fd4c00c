"""Iceberg tables through a Hive metastore: the Thrift metastore of scripts/services.sh (``hive-metastore``).

The project's iceberg catalog is ``catalog_type: hive`` with ``uri: thrift://...``: Iceberg's HiveCatalog
(in the Iceberg Spark runtime) over the Hive 2.3 client Spark ships, each commit under a metastore lock.
Three ``etl-cli run`` subprocesses: ``load`` on version 1 of a CSV file (three tables created and
registered in the metastore), ``load`` on version 2 (merge with conditional insert and delete, append,
overwrite), then ``read``: the tables now and as of the first snapshot, found by name through the
metastore by a new process. What the sinks committed is read back independently from Iceberg's metadata
JSON files (the catalog's warehouse folder). Each test database is new (the metastore keeps its tables
between sessions). Expected rows are written by hand from the CSV files.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

# its runs need Spark extensions and catalogs of their own (a JVM each), not the tests' shared session
pytestmark = [pytest.mark.services("hive-metastore"), pytest.mark.own_jvm]

PROJECT = """\
name: lake
catalogs:
  hms: {type: iceberg, catalog_type: hive, uri: "%s", warehouse: warehouse, database: %s}
"""
LOAD = """\
name: load
sources:
  - {name: raw, type: csv, path: data/orders.csv, schema: "id INT, name STRING, amount INT, day DATE, deleted BOOLEAN"}
sinks:
  - {name: orders, type: iceberg, input: raw, catalog: hms, table: orders, mode: merge, keys: [id],
     delete_when: s.deleted, insert_when: NOT s.deleted, partition_by: [days(day)]}
  - {name: events, type: iceberg, input: raw, catalog: hms, table: events, mode: append}
  - {name: latest, type: iceberg, input: raw, catalog: hms, table: latest, mode: overwrite}
"""
READ = """\
name: read
sources:
  - {name: orders_now, type: iceberg, catalog: hms, table: orders}
  - {name: orders_first, type: iceberg, catalog: hms, table: orders, snapshot_id: %s}
  - {name: events_now, type: iceberg, catalog: hms, table: events}
  - {name: latest_now, type: iceberg, catalog: hms, table: latest}
sinks:
  - {name: o1, type: json, input: orders_now, path: out/orders_now}
  - {name: o2, type: json, input: orders_first, path: out/orders_first}
  - {name: o3, type: json, input: events_now, path: out/events_now}
  - {name: o4, type: json, input: latest_now, path: out/latest_now}
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


def metadata(project: Path, database: str, table: str) -> dict[str, Any]:
    """The table's current metadata JSON file: the newest of its metadata folder (HiveCatalog numbers them)."""
    folder = project / "warehouse" / f"{database}.db" / table / "metadata"
    newest = max(folder.glob("*.metadata.json"), key=lambda path: int(path.name.split("-")[0]))
    return dict(json.loads(newest.read_text()))


def _snapshots(table: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(operation, added-records, total-records) of each snapshot, oldest first."""
    return [
        (s["summary"]["operation"], s["summary"].get("added-records", "0"), s["summary"]["total-records"])
        for s in sorted(table["snapshots"], key=lambda s: s["sequence-number"])
    ]


@dataclass(frozen=True)
class Lake:
    project: Path
    database: str
    runs: list[subprocess.CompletedProcess[str]]

    def rows(self, name: str) -> list[tuple[Any, ...]]:
        found = []
        for part in sorted((self.project / "out" / name).glob("part-*.json")):
            for line in part.read_text().splitlines():
                row = json.loads(line)
                found.append((row["id"], row["name"], row["amount"], row["day"]))
        return sorted(found)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    database = f"t{uuid.uuid4().hex[:10]}"
    project = tmp_path_factory.mktemp("iceberg_hive")
    files = {"pipelines/load/pipeline.yaml": LOAD, "data/orders.csv": V1}
    make_project(project, files, project=PROJECT % (os.environ["ETL_TEST_HIVE_METASTORE_URI"], database))
    env = {"ETL_STATE_DIR": str(project / "state")}

    def run(pipeline: str) -> subprocess.CompletedProcess[str]:
        return etl_cli("run", f"pipelines/{pipeline}", cwd=project, env=env)

    runs = [run("load")]
    try:
        first = metadata(project, database, "orders")["current-snapshot-id"]
    except (OSError, ValueError):
        first = 0  # the first load failed: test_every_run_succeeds shows why
    (project / "data" / "orders.csv").write_text(V2)
    runs.append(run("load"))
    read = project / "pipelines" / "read" / "pipeline.yaml"
    read.parent.mkdir(parents=True)
    read.write_text(READ % first)
    runs.append(run("read"))
    return Lake(project, database, runs)


def test_every_run_succeeds(lake: Lake) -> None:
    for result in lake.runs:
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_tables_are_created_in_the_catalogs_warehouse(lake: Lake) -> None:
    table = metadata(lake.project, lake.database, "orders")
    # the metastore's database location, under the catalog's warehouse, as a file: URI
    assert table["location"] == f"file:{lake.project / 'warehouse'}/{lake.database}.db/orders"
    fields = table["partition-specs"][0]["fields"]
    assert [(f["name"], f["transform"]) for f in fields] == [("day_day", "day")]


def test_merge_deletes_updates_and_inserts_by_condition_in_one_snapshot(lake: Lake) -> None:
    assert lake.rows("orders_now") == [
        (1, "a2", 11, "2026-01-02"),
        (3, "c", 30, "2026-01-02"),
        (4, "d", 40, "2026-01-02"),
    ]
    # created with 3 rows by one commit; the merge is one overwrite snapshot (copy-on-write by default):
    # ids 1, 2 and 3 rewritten in their files, 4 inserted, 5 (deleted and new) never inserted
    snapshots = _snapshots(metadata(lake.project, lake.database, "orders"))
    assert [(operation, total) for operation, _, total in snapshots] == [("append", "3"), ("overwrite", "3")]


def test_time_travel_reads_the_first_snapshot(lake: Lake) -> None:
    assert lake.rows("orders_first") == [
        (1, "a", 10, "2026-01-01"),
        (2, "b", 20, "2026-01-02"),
        (3, "c", 30, "2026-01-02"),
    ]


def test_append_adds_and_overwrite_replaces(lake: Lake) -> None:
    assert _snapshots(metadata(lake.project, lake.database, "events")) == [("append", "3", "3"), ("append", "4", "7")]
    assert len(lake.rows("events_now")) == 7
    assert lake.rows("latest_now") == [
        (1, "a2", 11, "2026-01-02"),
        (2, "b", 20, "2026-01-02"),
        (4, "d", 40, "2026-01-02"),
        (5, "e", 50, "2026-01-03"),
    ]
    assert _snapshots(metadata(lake.project, lake.database, "latest")) == [
        ("append", "3", "3"),
        ("overwrite", "4", "4"),
    ]
