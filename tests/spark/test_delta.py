"""The Delta Lake source and sink, and ``etl-cli table``, through ``etl-cli run`` in a temporary project.

One module-scoped fixture runs, in order: a pipeline creating three tables (overwrite, partitioned,
with table properties; append), one changing them (a merge with conditions and deletes, a dynamic
partition overwrite, an append adding a column), one failing at the Delta commit, one reading the
tables back with time travel (by version and by timestamp), and the maintenance commands. Each
run is its own JVM with Delta's jars.

Tables are read back without Spark, by replaying the Delta transaction log (``_delta_log/*.json``:
the ``add`` and ``remove`` actions) and reading the listed Parquet files with pyarrow; the
expected rows are written by hand.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.clihelp import etl_cli

# its runs need Spark extensions and catalogs of their own (a JVM each), not the tests' shared session
pytestmark = [pytest.mark.spark, pytest.mark.own_jvm]

CUSTOMERS = "id,name,tier,updated,op\n1,Ann,gold,1,I\n2,Bob,silver,1,I\n3,Cid,bronze,1,I\n"
# 1: newer, updated; 2: older than the table's row, left alone; 3: deleted; 4: new, inserted;
# 5: a delete of a key the table does not have, never inserted
CHANGES = (
    "id,name,tier,updated,op\n1,Ann,platinum,2,U\n2,Bob,gold,0,U\n3,Cid,bronze,2,D\n4,Dan,silver,2,I\n5,Eve,gold,2,D\n"
)
EVENTS = "id,day,amount\n1,d1,10\n2,d1,20\n3,d2,30\n"
NEW_EVENTS = "id,day,amount\n4,d2,40\n5,d3,50\n"

HEADER = "spark:\n  master: local[1]\n  conf: {spark.sql.shuffle.partitions: 1}\n"
CUSTOMER_SCHEMA = "{id: INT, name: STRING, tier: STRING, updated: INT, op: STRING}"
EVENT_SCHEMA = "{id: INT, day: STRING, amount: INT}"

CREATE = f"""name: create
{HEADER}sources:
  - {{name: customers, type: csv, path: data/customers.csv, schema: {CUSTOMER_SCHEMA}}}
  - {{name: events, type: csv, path: data/events.csv, schema: {EVENT_SCHEMA}}}
sinks:
  - {{name: customers_table, type: delta, input: customers, path: out/customers, mode: overwrite}}
  - name: events_table
    type: delta
    input: events
    path: out/events
    mode: overwrite
    partition_by: [day]
    table_properties: {{delta.deletedFileRetentionDuration: interval 2 days, delta.appendOnly: false}}
  - {{name: log_table, type: delta, input: events, path: out/log}}
"""

CHANGE = f"""name: change
{HEADER}sources:
  - {{name: changes, type: csv, path: data/changes.csv, schema: {CUSTOMER_SCHEMA}}}
  - {{name: new_events, type: csv, path: data/new_events.csv, schema: {EVENT_SCHEMA}}}
transforms:
  - name: noted
    type: derive
    inputs: [new_events]
    columns: {{note: "concat('n', id)"}}
sinks:
  - name: customers_table
    type: delta
    input: changes
    path: out/customers
    mode: merge
    keys: [id]
    when_matched: s.updated > t.updated
    delete_when: s.op = 'D'
  - {{name: events_table, type: delta, input: new_events, path: out/events, mode: overwrite,
      overwrite_partitions: true}}
  - {{name: log_table, type: delta, input: noted, path: out/log, merge_schema: true}}
"""

# tier as a number: the Delta write refuses to merge INT into the table's STRING column, at the commit
FAIL = f"""name: fail
{HEADER}sources:
  - {{name: changes, type: csv, path: data/changes.csv, schema: {CUSTOMER_SCHEMA}}}
transforms:
  - name: retyped
    type: derive
    inputs: [changes]
    columns: {{tier: "cast(updated AS INT)"}}
sinks:
  - {{name: customers_table, type: delta, input: retyped, path: out/customers, mode: append}}
"""

READ = f"""name: read
{HEADER}vars:
  first_commit: ""
sources:
  - {{name: now, type: delta, path: out/customers}}
  - {{name: first, type: delta, path: out/customers, version: 0}}
  - {{name: at_time, type: delta, path: out/customers, timestamp: "${{var:first_commit}}"}}
sinks:
  - {{name: now_out, type: parquet, input: now, path: read/now}}
  - {{name: first_out, type: parquet, input: first, path: read/first}}
  - {{name: at_time_out, type: parquet, input: at_time, path: read/at_time}}
"""


def commits(table: Path) -> list[dict[str, Any]]:
    """Each commit of the table's log, in order: its actions as a list of dicts."""
    files = sorted((table / "_delta_log").glob("*.json"))
    assert [int(f.stem) for f in files] == list(range(len(files))), "the log has no gap"
    return [[json.loads(line) for line in f.read_text().splitlines() if line.strip()] for f in files]  # type: ignore[misc]


def snapshot(table: Path, version: int | None = None) -> list[dict[str, Any]]:
    """The table's rows at ``version`` (latest: None), by replaying the log and reading its Parquet files."""
    live: dict[str, dict[str, str]] = {}
    for number, actions in enumerate(commits(table)):
        if version is not None and number > version:
            break
        for action in actions:
            if "add" in action:
                assert "deletionVector" not in action["add"] or action["add"]["deletionVector"] is None
                live[action["add"]["path"]] = action["add"]["partitionValues"]
            elif "remove" in action:
                live.pop(action["remove"]["path"], None)
    rows = []
    for path, partitions in live.items():
        for row in pq.read_table(table / path).to_pylist():
            rows.append({**row, **partitions})
    return sorted(rows, key=lambda r: r["id"])


def operations(table: Path) -> list[str]:
    return [next(a["commitInfo"]["operation"] for a in actions if "commitInfo" in a) for actions in commits(table)]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("delta")
    (root / "etl-project.yaml").write_text("name: delta-tests\n")
    data = root / "data"
    data.mkdir()
    for name, text in {
        "customers.csv": CUSTOMERS, "changes.csv": CHANGES, "events.csv": EVENTS, "new_events.csv": NEW_EVENTS,
    }.items():  # fmt: skip
        (data / name).write_text(text)
    for name, text in {"create": CREATE, "change": CHANGE, "fail": FAIL, "read": READ}.items():
        (root / name).mkdir()
        (root / name / "pipeline.yaml").write_text(text)
    env = {"ETL_STATE_DIR": str(root / "state")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return etl_cli(*args, env=env, cwd=root)

    results: dict[str, Any] = {"root": root}
    results["create"] = cli("run", "create")
    results["customers_v0"] = snapshot(root / "out" / "customers")
    results["events_v0"] = snapshot(root / "out" / "events")
    results["change"] = cli("run", "change")
    results["events_v1"] = snapshot(root / "out" / "events")
    results["fail"] = cli("run", "fail")
    first = commits(root / "out" / "customers")[0]
    stamp = next(a["commitInfo"]["timestamp"] for a in first if "commitInfo" in a) / 1000
    # Delta dates a commit by its log file's modification time (no in-commit timestamps here), which on a busy
    # machine can come seconds after commitInfo's: a second after the later of the two, before the merge (made
    # after a whole other run)
    written = (root / "out" / "customers" / "_delta_log" / f"{0:020d}.json").stat().st_mtime
    when = datetime.fromtimestamp(max(stamp, written) + 1, UTC).strftime("%Y-%m-%d %H:%M:%S")
    results["read"] = cli(
        "run", "read", "--set", f'vars.first_commit="{when}"', "--set", "spark.conf.spark.sql.session.timeZone=UTC"
    )
    results["optimize"] = cli("table", "optimize", "change", "--sink", "events_table", "--zorder-by", "amount")
    results["vacuum_refused"] = cli("table", "vacuum", "change", "--sink", "events_table", "--retain-hours", "1")
    results["vacuum"] = cli(
        "table", "vacuum", "change", "--sink", "events_table", "--retain-hours", "0", "--force", "--format", "json"
    )
    results["expire"] = cli("table", "expire-snapshots", "change", "--sink", "events_table")
    return results


def test_runs_succeed(project: dict[str, Any]) -> None:
    for run in ("create", "change", "read"):
        assert project[run].returncode == 0, project[run].stderr


def test_overwrite_creates_a_partitioned_table_with_its_properties(project: dict[str, Any]) -> None:
    events = project["root"] / "out" / "events"
    metadata = next(a["metaData"] for a in commits(events)[0] if "metaData" in a)
    assert metadata["partitionColumns"] == ["day"]
    assert metadata["configuration"] == {
        "delta.deletedFileRetentionDuration": "interval 2 days",
        "delta.appendOnly": "false",
    }
    assert project["events_v0"] == [
        {"id": 1, "day": "d1", "amount": 10}, {"id": 2, "day": "d1", "amount": 20},
        {"id": 3, "day": "d2", "amount": 30},
    ]  # fmt: skip
    assert sorted(p.name for p in events.iterdir() if p.name.startswith("day=")) == ["day=d1", "day=d2", "day=d3"]


def test_merge_updates_inserts_and_deletes_by_key_in_one_commit(project: dict[str, Any]) -> None:
    table = project["root"] / "out" / "customers"
    assert snapshot(table) == [
        {"id": 1, "name": "Ann", "tier": "platinum", "updated": 2, "op": "U"},
        {"id": 2, "name": "Bob", "tier": "silver", "updated": 1, "op": "I"},
        {"id": 4, "name": "Dan", "tier": "silver", "updated": 2, "op": "I"},
    ]
    # one commit for the merge: version 0 written by the create run, version 1 the merge, nothing after it
    assert operations(table) == ["WRITE", "MERGE"]
    metrics = next(a["commitInfo"] for a in commits(table)[1] if "commitInfo" in a)["operationMetrics"]
    assert (metrics["numTargetRowsUpdated"], metrics["numTargetRowsInserted"], metrics["numTargetRowsDeleted"]) == (
        "1", "1", "1",
    )  # fmt: skip


def test_dynamic_partition_overwrite_replaces_only_the_partitions_written(project: dict[str, Any]) -> None:
    assert project["events_v1"] == [
        {"id": 1, "day": "d1", "amount": 10}, {"id": 2, "day": "d1", "amount": 20},
        {"id": 4, "day": "d2", "amount": 40}, {"id": 5, "day": "d3", "amount": 50},
    ]  # fmt: skip


def test_append_with_merge_schema_adds_the_new_column(project: dict[str, Any]) -> None:
    rows = snapshot(project["root"] / "out" / "log")
    assert [(r["id"], r.get("note")) for r in rows] == [(1, None), (2, None), (3, None), (4, "n4"), (5, "n5")]
    assert operations(project["root"] / "out" / "log") == ["WRITE", "WRITE"]


def test_a_failed_commit_leaves_the_table_at_its_previous_version(project: dict[str, Any]) -> None:
    failed = project["fail"]
    assert failed.returncode == 4, failed.stderr
    assert "customers_table" in failed.stderr
    table = project["root"] / "out" / "customers"
    assert len(commits(table)) == 2  # still version 1: the merge
    assert [r["id"] for r in snapshot(table)] == [1, 2, 4]


def test_time_travel_reads_older_versions(project: dict[str, Any]) -> None:
    read = project["root"] / "read"

    def rows(name: str) -> list[dict[str, Any]]:
        return sorted(pq.read_table(read / name).to_pylist(), key=lambda r: r["id"])

    assert rows("first") == project["customers_v0"]
    assert rows("at_time") == project["customers_v0"]
    assert rows("now") == snapshot(project["root"] / "out" / "customers")
    assert [r["tier"] for r in rows("first")] == ["gold", "silver", "bronze"]


def test_optimize_compacts_without_changing_the_rows(project: dict[str, Any]) -> None:
    assert project["optimize"].returncode == 0, project["optimize"].stderr
    table = project["root"] / "out" / "events"
    # VACUUM (run after it) logs its start and end
    assert operations(table) == ["WRITE", "WRITE", "OPTIMIZE", "VACUUM START", "VACUUM END"]
    assert snapshot(table) == project["events_v1"]


def test_vacuum_refuses_a_retention_below_the_table_s_unless_forced(project: dict[str, Any]) -> None:
    refused = project["vacuum_refused"]
    assert refused.returncode == 1, refused.stderr
    assert "keeps 48 hours" in refused.stderr
    done = project["vacuum"]
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    # the files of partition d2 replaced by the overwrite, and those OPTIMIZE compacted, are gone
    assert result["files_deleted"] >= 1
    events = project["root"] / "out" / "events"
    on_disk = {str(p.relative_to(events)) for p in events.rglob("*.parquet")}
    live = set()
    for actions in commits(events):
        for action in actions:
            if "add" in action:
                live.add(action["add"]["path"])
            elif "remove" in action:
                live.discard(action["remove"]["path"])
    assert on_disk == live
    assert [r["id"] for r in snapshot(events)] == [1, 2, 4, 5]


def test_expire_snapshots_does_not_apply_to_delta(project: dict[str, Any]) -> None:
    expire = project["expire"]
    assert expire.returncode == 2, expire.stderr
    assert "expire-snapshots does not apply to delta tables" in expire.stderr
    assert "optimize, vacuum" in expire.stderr
