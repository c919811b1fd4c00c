"""Iceberg tables through a REST catalog: Iceberg's REST server of scripts/services.sh (``iceberg-rest``).

The server wants ``Authorization: Bearer <token>`` on every request; the project hands the catalog its
token as ``${secret:env:ICEBERG_REST_TOKEN}``, resolved when the session starts. Three ``etl-cli run``
subprocesses: ``load`` on version 1 of a CSV file (three tables created through the catalog), ``load``
on version 2 (merge with conditional insert and delete, append, overwrite), then ``read``: the tables
now and as of the first snapshot. What the sinks committed is read back independently, from the REST
server itself (the table metadata it serves: snapshots and where the table lives). Each test database
is new (the server keeps its catalog between sessions). Expected rows are written by hand from the CSVs.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

# its runs need Spark extensions and catalogs of their own (a JVM each), not the tests' shared session
pytestmark = [pytest.mark.services("iceberg-rest"), pytest.mark.own_jvm]

PROJECT = """\
name: lake
catalogs:
  rest:
    type: iceberg
    catalog_type: rest
    uri: %s
    database: %s
    properties: {token: "${secret:env:ICEBERG_REST_TOKEN}"}
"""
LOAD = """\
name: load
sources:
  - {name: raw, type: csv, path: data/orders.csv, schema: "id INT, name STRING, amount INT, day DATE, deleted BOOLEAN"}
sinks:
  - {name: orders, type: iceberg, input: raw, catalog: rest, table: orders, mode: merge, keys: [id],
     delete_when: s.deleted, insert_when: NOT s.deleted, partition_by: [days(day)]}
  - {name: events, type: iceberg, input: raw, catalog: rest, table: events, mode: append}
  - {name: latest, type: iceberg, input: raw, catalog: rest, table: latest, mode: overwrite}
"""
READ = """\
name: read
sources:
  - {name: orders_now, type: iceberg, catalog: rest, table: orders}
  - {name: orders_first, type: iceberg, catalog: rest, table: orders, snapshot_id: %s}
  - {name: events_now, type: iceberg, catalog: rest, table: events}
  - {name: latest_now, type: iceberg, catalog: rest, table: latest}
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


def _server() -> tuple[str, str]:
    return os.environ["ETL_TEST_ICEBERG_REST_URL"], os.environ["ETL_TEST_ICEBERG_REST_TOKEN"]


def served_table(database: str, table: str) -> dict[str, Any]:
    """The table's metadata as the REST server serves it (``GET /v1/namespaces/{db}/tables/{table}``)."""
    url, token = _server()
    request = urllib.request.Request(
        f"{url}/v1/namespaces/{database}/tables/{table}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def _snapshots(served: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(operation, added-records, total-records) of each snapshot, oldest first."""
    return [
        (s["summary"]["operation"], s["summary"].get("added-records", "0"), s["summary"]["total-records"])
        for s in sorted(served["metadata"]["snapshots"], key=lambda s: s["sequence-number"])
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
    url, token = _server()
    database = f"t{uuid.uuid4().hex[:10]}"
    project = tmp_path_factory.mktemp("iceberg_rest")
    files = {"pipelines/load/pipeline.yaml": LOAD, "data/orders.csv": V1}
    make_project(project, files, project=PROJECT % (url, database))
    env = {"ETL_STATE_DIR": str(project / "state"), "ICEBERG_REST_TOKEN": token}

    def run(pipeline: str) -> subprocess.CompletedProcess[str]:
        return etl_cli("run", f"pipelines/{pipeline}", cwd=project, env=env)

    runs = [run("load")]
    try:
        first = served_table(database, "orders")["metadata"]["current-snapshot-id"]
    except urllib.error.HTTPError:
        first = 0  # the first load failed: test_every_run_succeeds shows why
    (project / "data" / "orders.csv").write_text(V2)
    runs.append(run("load"))
    read = project / "pipelines" / "read" / "pipeline.yaml"
    read.parent.mkdir(parents=True)
    read.write_text(READ % first)
    runs.append(run("read"))
    return Lake(project, database, runs)


def test_the_server_refuses_a_request_without_the_token() -> None:
    url, _ = _server()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{url}/v1/config", timeout=10)
    assert refused.value.code == 401


def test_every_run_succeeds(lake: Lake) -> None:
    for result in lake.runs:
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_tables_live_in_the_rest_catalog(lake: Lake) -> None:
    served = served_table(lake.database, "orders")
    # the server's own warehouse, not a folder of the project: the REST catalog placed the table
    location = served["metadata"]["location"]
    assert location.endswith(f"/warehouse/{lake.database}/orders"), location
    assert str(lake.project) not in location
    fields = served["metadata"]["partition-specs"][0]["fields"]
    assert [(f["name"], f["transform"]) for f in fields] == [("day_day", "day")]


def test_merge_deletes_updates_and_inserts_by_condition_in_one_snapshot(lake: Lake) -> None:
    assert lake.rows("orders_now") == [
        (1, "a2", 11, "2026-01-02"),
        (3, "c", 30, "2026-01-02"),
        (4, "d", 40, "2026-01-02"),
    ]
    # created with 3 rows by one commit; the merge is one overwrite snapshot (copy-on-write by default):
    # ids 1, 2 and 3 rewritten in their files, 4 inserted, 5 (deleted and new) never inserted
    snapshots = _snapshots(served_table(lake.database, "orders"))
    assert [(operation, total) for operation, _, total in snapshots] == [("append", "3"), ("overwrite", "3")]


def test_time_travel_reads_the_first_snapshot(lake: Lake) -> None:
    assert lake.rows("orders_first") == [
        (1, "a", 10, "2026-01-01"),
        (2, "b", 20, "2026-01-02"),
        (3, "c", 30, "2026-01-02"),
    ]


def test_append_adds_and_overwrite_replaces(lake: Lake) -> None:
    assert _snapshots(served_table(lake.database, "events")) == [("append", "3", "3"), ("append", "4", "7")]
    assert len(lake.rows("events_now")) == 7
    assert lake.rows("latest_now") == [
        (1, "a2", 11, "2026-01-02"),
        (2, "b", 20, "2026-01-02"),
        (4, "d", 40, "2026-01-02"),
        (5, "e", 50, "2026-01-03"),
    ]
    assert _snapshots(served_table(lake.database, "latest")) == [("append", "3", "3"), ("overwrite", "4", "4")]
