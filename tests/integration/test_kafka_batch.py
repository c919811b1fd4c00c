"""Kafka in batch runs, through ``etl-cli run`` against the real broker of scripts/services.sh.

The test produces records with a Kafka client (confluent-kafka) and computes the rows it
expects from what it produced and where the broker stored it (partition, offset, timestamp);
then it compares them with what the run wrote, or reads back with the same client what the
Kafka sink produced.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from tests.clihelp import etl_cli
from tests.integration.kafkahelp import kafka_bootstrap, new_topic, produce, produce_json, read_topic

CUSTOMERS = ("ada", "grace", "edsger")


@pytest.fixture
def bootstrap() -> str:
    return kafka_bootstrap()


def run_pipeline(tmp_path: Path, pipeline: Path | str, *sets: str) -> Any:
    """``etl-cli run`` with state and results kept under ``tmp_path``."""
    args = [arg for value in sets for arg in ("--set", value)]
    return etl_cli(
        "run", str(pipeline), *args, "--results-dir", str(tmp_path / "results"),
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )  # fmt: skip


def read_parquet(folder: Path) -> list[dict[str, Any]]:
    return ds.dataset(folder, format="parquet", partitioning="hive").to_table().to_pylist()


def test_json_records_land_in_parquet_with_their_key_and_metadata(tmp_path: Path, bootstrap: str) -> None:
    topic = new_topic("orders")
    start = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    orders = [
        {
            "order_id": n,
            "customer": CUSTOMERS[n % 3],
            "amount": f"{n * 7 % 50}.{n % 100:02d}",
            "order_ts": (start + timedelta(hours=5 * n)).isoformat(),
        }
        for n in range(1, 31)
    ]
    delivered = produce_json(bootstrap, topic, orders, key="order_id")
    out = tmp_path / "out"

    result = run_pipeline(
        tmp_path, "pipelines/kafka_to_parquet_batch",
        f"vars.bootstrap_servers={bootstrap}", f"vars.topic={topic}", f"vars.output_dir={out}",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    expected = sorted(
        (
            order["order_id"],
            order["customer"],
            Decimal(order["amount"]),
            # TIMESTAMP_MICROS columns are instants (adjusted to UTC), which pyarrow reads tz-aware
            datetime.fromisoformat(order["order_ts"]),
            datetime.fromisoformat(order["order_ts"]).date().isoformat(),
            str(order["order_id"]),
            record.partition,
            record.offset,
            datetime.fromtimestamp(record.timestamp_ms / 1000, UTC),
        )
        for order, record in zip(orders, delivered, strict=True)
    )
    actual = sorted(
        (
            r["order_id"], r["customer"], r["amount"], r["order_ts"], str(r["order_date"]),
            r["kafka_key"], r["kafka_partition"], r["kafka_offset"], r["kafka_timestamp"],
        )
        for r in read_parquet(out / "orders")
    )  # fmt: skip
    assert actual == expected
    results = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert {s["name"]: s["rows_out"] for s in results["stages"]}["orders_out"] == len(orders)


def test_offset_and_time_ranges_raw_values_and_malformed_records(tmp_path: Path, bootstrap: str) -> None:
    topic, mixed = new_topic("range"), new_topic("mixed")
    # recent record times: the broker deletes records older than its retention (7 days) at any moment
    base_time = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    base = int(base_time.timestamp() * 1000)
    produce(
        bootstrap,
        topic,
        [(f"k{i}", f"value {i}") for i in range(10)],
        timestamps_ms=[base + i * 60_000 for i in range(10)],
    )
    produce(bootstrap, mixed, [("a", '{"n": 1}'), ("b", "not json {"), ("c", '{"n": 3}'), ("d", None)])
    pipeline = tmp_path / "ranges" / "pipeline.yaml"
    pipeline.parent.mkdir()
    pipeline.write_text(
        f"""
name: ranges
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2}}}}
sources:
  - name: by_offset
    type: kafka
    bootstrap_servers: {bootstrap}
    topic: {topic}
    starting_offsets: {{{topic}: {{0: 3}}}}
    ending_offsets: {{{topic}: {{0: 7}}}}
    value_format: string
    metadata: [key, offset]
  - name: by_time
    type: kafka
    bootstrap_servers: {bootstrap}
    topic: {topic}
    starting_timestamp: "{(base_time + timedelta(minutes=2)).isoformat()}"
    ending_timestamp: {base + 5 * 60_000}
    value_format: bytes
    key_format: bytes
    metadata: [key, timestamp]
  - name: parsed
    type: kafka
    bootstrap_servers: {bootstrap}
    topic: {mixed}
    schema: "n INT"
    on_malformed: drop
    metadata: [key]
sinks:
  - {{name: by_offset_out, type: json, input: by_offset, path: {tmp_path}/by_offset}}
  - {{name: by_time_out, type: parquet, input: by_time, path: {tmp_path}/by_time}}
  - {{name: parsed_out, type: json, input: parsed, path: {tmp_path}/parsed}}
"""
    )

    result = run_pipeline(tmp_path, pipeline)

    assert result.returncode == 0, result.stderr
    by_offset = [json.loads(line) for f in sorted((tmp_path / "by_offset").glob("*.json")) for line in f.open()]
    assert sorted((r["offset"], r["key"], r["value"]) for r in by_offset) == [
        (i, f"k{i}", f"value {i}") for i in range(3, 7)
    ]
    by_time = read_parquet(tmp_path / "by_time")
    assert sorted((r["key"], r["value"]) for r in by_time) == [
        (f"k{i}".encode(), f"value {i}".encode()) for i in (2, 3, 4)
    ]
    parsed = [json.loads(line) for f in sorted((tmp_path / "parsed").glob("*.json")) for line in f.open()]
    # the value that is not JSON is dropped; the record without a value (a tombstone) keeps null fields
    assert sorted((r["key"], r.get("n")) for r in parsed) == [("a", 1), ("c", 3), ("d", None)]


def test_kafka_sink_produces_one_json_record_per_row_keyed_and_routed(tmp_path: Path, bootstrap: str) -> None:
    fixed, east, west = new_topic("fixed"), new_topic("east"), new_topic("west")
    rows = [(1, "east", "ada", 10.5), (2, "west", "grace", None), (3, "east", "edsger", 7.25)]
    (tmp_path / "in.csv").write_text(
        "id,region,name,amount\n" + "".join(f"{i},{r},{n},{'' if a is None else a}\n" for i, r, n, a in rows)
    )
    pipeline = tmp_path / "produce" / "pipeline.yaml"
    pipeline.parent.mkdir()
    pipeline.write_text(
        f"""
name: produce
spark: {{master: "local[2]"}}
sources:
  - name: people
    type: csv
    path: {tmp_path}/in.csv
    schema: {{id: INT, region: STRING, name: STRING, amount: DOUBLE}}
transforms:
  - name: routed
    type: derive
    inputs: [people]
    columns: {{topic_name: "case when region = 'east' then '{east}' else '{west}' end"}}
sinks:
  - name: to_fixed
    type: kafka
    input: people
    bootstrap_servers: {bootstrap}
    topic: {fixed}
    key_column: id
  - name: to_region
    type: kafka
    input: routed
    bootstrap_servers: [{bootstrap}]
    topic_column: topic_name
    value_columns: [name, amount]
"""
    )

    result = run_pipeline(tmp_path, pipeline)

    assert result.returncode == 0, result.stderr
    produced = sorted((r.key, json.loads(r.value or "")) for r in read_topic(bootstrap, fixed))
    # the key column is the key, not part of the value; null fields are left out of the JSON
    assert produced == [
        ("1", {"region": "east", "name": "ada", "amount": 10.5}),
        ("2", {"region": "west", "name": "grace"}),
        ("3", {"region": "east", "name": "edsger", "amount": 7.25}),
    ]
    assert sorted(json.loads(r.value or "")["name"] for r in read_topic(bootstrap, east)) == ["ada", "edsger"]
    assert [(r.key, json.loads(r.value or "")) for r in read_topic(bootstrap, west)] == [(None, {"name": "grace"})]


def test_a_failing_run_produces_nothing(tmp_path: Path, bootstrap: str) -> None:
    topic = new_topic("never")
    (tmp_path / "in.csv").write_text("id\n1\n2\n")
    (tmp_path / "existing").mkdir()
    pipeline = tmp_path / "failing" / "pipeline.yaml"
    pipeline.parent.mkdir()
    pipeline.write_text(
        f"""
name: failing
spark: {{master: "local[2]"}}
sources:
  - {{name: ids, type: csv, path: {tmp_path}/in.csv}}
sinks:
  - {{name: to_kafka, type: kafka, input: ids, bootstrap_servers: {bootstrap}, topic: {topic}}}
  - {{name: to_files, type: parquet, input: ids, path: {tmp_path}/existing, mode: error}}
"""
    )

    result = run_pipeline(tmp_path, pipeline)

    assert result.returncode == 4, result.stderr
    assert "exists (mode error)" in result.stderr
    assert read_topic(bootstrap, topic) == []
    results = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert results["status"] == "failed" and results["error"]["stage"] == "to_files"
