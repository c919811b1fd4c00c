"""A Kafka stream into Delta Lake and Iceberg tables (append and merge each), killed with SIGKILL and restarted:
every record is in each table once, and no micro-batch was committed twice.

One ``etl-cli run`` with four queries: Delta's native streaming append, a Delta merge and an Iceberg append
and merge (each micro-batch through the sink's batch write). The run is killed mid-backlog and restarted
with more records, then stopped once every table has them all. Last, each checkpoint's last
``commits/<n>`` entry is removed, as if a kill had landed after the table's commit and before the
checkpoint's, and the run restarted (``available_now``): Spark replays that batch of every query, already
in the table, and each sink must skip it. The tables are read back without Spark and
without the plug-ins: Delta's log replayed and its Parquet files read with pyarrow; Iceberg's metadata JSON,
manifest list and manifests (Avro, fastavro) and the Parquet files they list. Each commit's record of its
micro-batch (Delta's ``txn`` action, the Iceberg snapshot property ``etl-cli.stream-batch``) is unique.

Needs the broker of scripts/services.sh (``up kafka``) and the Delta and Iceberg jars (scripts/fetch-jars.sh).
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import fastavro
import pyarrow.parquet as pq

from tests.integration.kafkahelp import BackgroundRun, kafka_bootstrap, new_topic, produce_json, wait_until
from tests.unit.helpers import make_project

KEYS = ("a", "b", "c", "d")
BATCH_TAG = "etl-cli.stream-batch"
PROJECT = """\
name: tables
catalogs:
  lake: {type: iceberg, catalog_type: hadoop, warehouse: warehouse, database: db}
"""


def rounds(first: int, last: int) -> list[dict[str, Any]]:
    """One record per key per round; a micro-batch takes one round (max_offsets_per_trigger), so keys are unique."""
    return [{"id": 4 * r + i, "k": k, "round": r} for r in range(first, last) for i, k in enumerate(KEYS)]


def delta_rows(table: Path) -> list[dict[str, Any]]:
    """The table's rows now: the log replayed (adds minus removes), the live Parquet files read."""
    live: set[str] = set()
    for actions in delta_log(table):
        for action in actions:
            if "add" in action:
                assert not action["add"].get("deletionVector"), "no deletion vectors expected"
                live.add(action["add"]["path"])
            elif "remove" in action:
                live.discard(action["remove"]["path"])
    return [row for path in sorted(live) for row in pq.read_table(table / path).to_pylist()]


def delta_log(table: Path) -> list[list[dict[str, Any]]]:
    files = sorted((table / "_delta_log").glob("*.json")) if (table / "_delta_log").is_dir() else []
    return [[json.loads(line) for line in f.read_text().splitlines() if line.strip()] for f in files]


def delta_batches(table: Path) -> list[tuple[str, int]]:
    """(query id, batch id) of each commit that recorded a streaming micro-batch."""
    return [(a["txn"]["appId"], a["txn"]["version"]) for actions in delta_log(table) for a in actions if "txn" in a]


def iceberg_metadata(warehouse: Path, table: str) -> dict[str, Any] | None:
    folder = warehouse / "db" / table / "metadata"
    if not (folder / "version-hint.text").exists():
        return None
    version = (folder / "version-hint.text").read_text().strip()
    return dict(json.loads((folder / f"v{version}.metadata.json").read_text()))


def iceberg_rows(warehouse: Path, table: str) -> list[dict[str, Any]]:
    """The current snapshot's rows: its manifest list, the manifests' live data files, those files read."""
    metadata = iceberg_metadata(warehouse, table)
    if metadata is None or metadata.get("current-snapshot-id") in (None, -1):
        return []
    snapshot = next(s for s in metadata["snapshots"] if s["snapshot-id"] == metadata["current-snapshot-id"])
    rows = []
    for manifest in _avro(snapshot["manifest-list"]):
        for entry in _avro(manifest["manifest_path"]):
            if entry["status"] == 2:  # deleted from the table by this snapshot
                continue
            assert entry["data_file"]["content"] == 0, "copy-on-write: data files only"
            rows += pq.read_table(_local(entry["data_file"]["file_path"])).to_pylist()
    return rows


def iceberg_batches(warehouse: Path, table: str) -> list[str]:
    """The micro-batch each snapshot recorded (``<pipeline>/<sink>/<query id>:<batch id>``)."""
    metadata = iceberg_metadata(warehouse, table) or {"snapshots": []}
    return [s["summary"][BATCH_TAG] for s in metadata["snapshots"] if BATCH_TAG in s["summary"]]


def _avro(location: str) -> list[dict[str, Any]]:
    with open(_local(location), "rb") as f:
        return list(fastavro.reader(f))  # type: ignore[arg-type]


def _local(location: str) -> str:
    return location.removeprefix("file:")


def _batches(checkpoint: Path, log: str) -> list[int]:
    folder = checkpoint / log
    return [int(f.name) for f in folder.iterdir() if f.name.isdigit()] if folder.is_dir() else []


def between_batches(checkpoint: Path) -> bool:
    """Whether the query has committed a micro-batch and every batch it planned (no batch in flight)."""
    committed = _batches(checkpoint, "commits")
    return bool(committed) and max(committed) == max(_batches(checkpoint, "offsets"))


def forget_last_commit(checkpoint: Path) -> int | None:
    """When the (killed) query was between micro-batches, remove its last commit from the checkpoint, so a restart
    replays a batch the table already has; returns its id (None: a batch was in flight, replayed anyway)."""
    if not between_batches(checkpoint):
        return None
    last = max(_batches(checkpoint, "commits"))
    for name in (str(last), f".{last}.crc"):
        (checkpoint / "commits" / name).unlink(missing_ok=True)
    return last


def by_id(rows: list[dict[str, Any]]) -> list[tuple[int, str, int]]:
    return sorted((r["id"], r["k"], r["round"]) for r in rows)


def latest(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    return {r["k"]: (r["id"], r["round"]) for r in rows}


def test_killed_stream_into_delta_and_iceberg_writes_every_record_once(tmp_path: Path) -> None:
    bootstrap = kafka_bootstrap()
    topic = new_topic("tables")
    produce_json(bootstrap, topic, rounds(0, 3))
    out, warehouse, checkpoints = tmp_path / "out", tmp_path / "warehouse", tmp_path / "checkpoints"
    pipeline = tmp_path / "pipelines" / "tables" / "pipeline.yaml"
    make_project(
        tmp_path,
        {
            "pipelines/tables/pipeline.yaml": f"""
name: tables
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2, spark.databricks.delta.snapshotPartitions: 2}}}}
streaming:
  checkpoint_location: {checkpoints}
  trigger: {{processing_time: 1 second}}
sources:
  - name: events
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {topic}
    schema: {{id: INT, k: STRING, round: INT}}
    metadata: []
    max_offsets_per_trigger: {len(KEYS)}
sinks:
  - {{name: delta_events, type: delta, input: events, path: {out}/delta_events}}
  - {{name: delta_latest, type: delta, input: events, path: {out}/delta_latest, mode: merge, keys: [k]}}
  - {{name: ice_events, type: iceberg, input: events, catalog: lake, table: events}}
  - {{name: ice_latest, type: iceberg, input: events, catalog: lake, table: latest, mode: merge, keys: [k]}}
"""
        },
        project=PROJECT,
    )
    run = BackgroundRun([str(pipeline.parent)], tmp_path / "run.log", {"ETL_STATE_DIR": str(tmp_path / "state")})
    sinks = ("delta_events", "delta_latest", "ice_events", "ice_latest")
    produced = rounds(0, 4)
    expected_latest = latest(produced)

    def tables_done() -> bool:
        return (
            by_id(iceberg_rows(warehouse, "events")) == by_id(produced)
            and by_id(delta_rows(out / "delta_events")) == by_id(produced)
            and latest(iceberg_rows(warehouse, "latest")) == expected_latest
            and latest(delta_rows(out / "delta_latest")) == expected_latest
        )

    try:
        # 1. killed mid-backlog, wherever each query is (a batch in flight is replayed on restart)
        run.start()
        wait_until(lambda: bool(iceberg_rows(warehouse, "events")), 180, "a first micro-batch", run.assert_running)
        run.kill()
        assert len(iceberg_rows(warehouse, "events")) < len(rounds(0, 3)), "the kill should land mid-backlog"

        # 2. restarted with more records: it works through the rest and is stopped when every table has them all
        produce_json(bootstrap, topic, rounds(3, 4))
        run.start()
        wait_until(tables_done, 240, "every record in every table", run.assert_running)
        assert run.stop(signal.SIGTERM) == 0, run.output()[-4000:]

        # 3. as if the kill had landed after each table's commit and before the checkpoint's: the last batch of
        # every query is replayed (available_now: the run ends when it is done); each sink must skip it
        forgotten = {sink: forget_last_commit(checkpoints / sink) for sink in sinks}
        assert None not in forgotten.values(), f"a stopped query is between batches: {forgotten}"
        pipeline.write_text(pipeline.read_text().replace("{processing_time: 1 second}", "{available_now: true}"))
        run.start()
        assert run.process is not None and run.process.wait(180) == 0, run.output()[-4000:]
        replayed = {sink: max(_batches(checkpoints / sink, "commits")) for sink in sinks}
        assert replayed == forgotten, "Spark replayed each forgotten batch"
    finally:
        run.cleanup()

    assert by_id(delta_rows(out / "delta_events")) == by_id(produced), "each record once in the Delta table"
    assert by_id(iceberg_rows(warehouse, "events")) == by_id(produced), "each record once in the Iceberg table"
    assert sorted(r["k"] for r in delta_rows(out / "delta_latest")) == list(KEYS)
    assert sorted(r["k"] for r in iceberg_rows(warehouse, "latest")) == list(KEYS)
    assert latest(delta_rows(out / "delta_latest")) == expected_latest
    assert latest(iceberg_rows(warehouse, "latest")) == expected_latest
    # no micro-batch committed twice, the replayed ones included; one query id across the restarts
    for table in ("delta_events", "delta_latest"):
        batches = delta_batches(out / table)
        assert batches and not [b for b, n in Counter(batches).items() if n > 1], (table, batches)
        assert len({query for query, _ in batches}) == 1, (table, batches)
    for table in ("events", "latest"):
        tags = iceberg_batches(warehouse, table)
        assert tags and not [t for t, n in Counter(tags).items() if n > 1], (table, tags)
        assert len({tag.rpartition(":")[0] for tag in tags}) == 1, (table, tags)
