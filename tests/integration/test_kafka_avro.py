"""Avro values through ``etl-cli run`` against the real broker of scripts/services.sh.

The Kafka sink writes Avro with spark-avro; the test reads the raw record bytes back with a plain
Kafka client and decodes them with fastavro, a second Avro implementation, against rows written
by hand. The Kafka source reads values the test encoded with fastavro, good and bad ones: the bad
ones stop the run, are dropped, or go to the dead-letter queue with their raw bytes.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from tests.clihelp import etl_cli
from tests.integration.kafkahelp import kafka_bootstrap, new_topic
from tests.unit.helpers import make_project

fastavro = pytest.importorskip("fastavro")

SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "customer", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "amount", "type": "double"},
        {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}
#: the same schema as a pipeline writes it in YAML (null unquoted, as YAML users write it)
SCHEMA_YAML = (
    "{type: record, name: Order, namespace: shop, fields: [{name: id, type: long}, {name: customer, type: string}, "
    "{name: note, type: [null, string], default: null}, {name: amount, type: double}, "
    "{name: placed, type: {type: long, logicalType: timestamp-millis}}]}"
)
ORDERS: list[dict[str, Any]] = [
    {"id": 1, "customer": "ada", "note": "gift", "amount": 12.5, "placed": datetime(2024, 5, 1, 9, 30, tzinfo=UTC)},
    {"id": 2, "customer": "grace", "note": None, "amount": 3.25, "placed": datetime(2024, 5, 2, 0, 0, 1, tzinfo=UTC)},
    {"id": 3, "customer": "edsger", "note": "é ü", "amount": 0.0, "placed": datetime(2023, 12, 31, 23, 59, tzinfo=UTC)},
]


@pytest.fixture
def bootstrap() -> str:
    return kafka_bootstrap()


def run(project: Path, pipeline: str) -> Any:
    return etl_cli("run", pipeline, env={"ETL_STATE_DIR": str(project / "state")}, cwd=project)


def encode(record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(SCHEMA), record)
    return out.getvalue()


def decode(value: bytes) -> dict[str, Any]:
    return dict(fastavro.schemaless_reader(io.BytesIO(value), fastavro.parse_schema(SCHEMA)))


def produce_raw(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None]]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(60) == 0


def consume_raw(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) bytes of every record of ``topic`` (one partition), in offset order."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"etl-test-{uuid.uuid4().hex}"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        consumer.assign([TopicPartition(topic, 0, low)])
        found: list[tuple[bytes | None, bytes | None]] = []
        while len(found) < high - low:
            message = consumer.poll(30)
            assert message is not None, f"{topic}: only {len(found)} of {high - low} records arrived"
            assert message.error() is None, message.error()
            found.append((message.key(), message.value()))
        return found
    finally:
        consumer.close()


def parquet_rows(folder: Path) -> list[dict[str, Any]]:
    return ds.dataset(folder, format="parquet").to_table().to_pylist()


def test_the_sink_writes_avro_that_fastavro_decodes_and_the_source_reads_it_back(
    tmp_path: Path, bootstrap: str
) -> None:
    topic = new_topic("avro-orders")
    lines = [{**o, "placed": o["placed"].isoformat()} for o in ORDERS]
    project = make_project(
        tmp_path,
        {
            "orders.jsonl": "\n".join(json.dumps(line) for line in lines) + "\n",
            "order.avsc": json.dumps(SCHEMA, indent=2),
            "produce/pipeline.yaml": f"""
                sources:
                  - name: orders
                    type: json
                    path: orders.jsonl
                    schema: "id BIGINT, customer STRING, note STRING, amount DOUBLE, placed TIMESTAMP"
                transforms:
                  - {{name: keyed, type: derive, inputs: [orders], columns: {{order_key: "CAST(id AS STRING)"}}}}
                sinks:
                  - name: events
                    type: kafka
                    input: keyed
                    bootstrap_servers: {bootstrap}
                    topic: {topic}
                    key_column: order_key
                    value_format: avro
                    avro_schema_file: order.avsc
            """,
            "consume/pipeline.yaml": f"""
                sources:
                  - name: events
                    type: kafka
                    bootstrap_servers: {bootstrap}
                    topic: {topic}
                    value_format: avro
                    metadata: [key]
                    avro_schema: {SCHEMA_YAML}
                sinks:
                  - {{name: out, type: parquet, input: events, path: out}}
            """,
        },
    )

    produced = run(project, "produce")
    assert produced.returncode == 0, produced.stderr

    records = consume_raw(bootstrap, topic)
    assert [(key, decode(value)) for key, value in records if value is not None] == [
        (str(o["id"]).encode(), o) for o in ORDERS
    ]

    consumed = run(project, "consume")
    assert consumed.returncode == 0, consumed.stderr
    rows = sorted(parquet_rows(project / "out"), key=lambda r: r["id"])
    assert rows == [{**o, "key": str(o["id"])} for o in ORDERS]


BAD_VALUES = [b"\x02", b"\xff" * 12]
MODES = ("fail", "drop", "keep")


def _bad_topic(bootstrap: str) -> str:
    """A topic of good values, two that do not decode and a tombstone, in that order."""
    topic = new_topic("avro-bad")
    produce_raw(
        bootstrap,
        topic,
        [
            (b"1", encode(ORDERS[0])),
            (b"x", BAD_VALUES[0]),
            (b"2", encode(ORDERS[1])),
            (b"y", BAD_VALUES[1]),
            (b"t", None),
        ],
    )
    return topic


def _reader(bootstrap: str, topic: str, on_malformed: str) -> str:
    return f"""
        sources:
          - name: events
            type: kafka
            bootstrap_servers: {bootstrap}
            topic: {topic}
            value_format: avro
            metadata: [key]
            on_malformed: {on_malformed}
            avro_schema: '{json.dumps(SCHEMA)}'
        sinks:
          - {{name: out, type: parquet, input: events, path: out}}
        dead_letter: {{type: parquet, path: dlq}}
    """


def test_values_that_do_not_decode_go_to_the_dead_letter_queue(tmp_path: Path, bootstrap: str) -> None:
    topic = _bad_topic(bootstrap)
    project = make_project(tmp_path, {"p/pipeline.yaml": _reader(bootstrap, topic, "dead_letter")})

    result = run(project, "p")

    assert result.returncode == 0, result.stderr
    rows = sorted(parquet_rows(project / "out"), key=lambda r: r["key"])
    tombstone = {"id": None, "customer": None, "note": None, "amount": None, "placed": None, "key": "t"}
    assert rows == [{**ORDERS[0], "key": "1"}, {**ORDERS[1], "key": "2"}, tombstone]
    letters = sorted(parquet_rows(project / "dlq"), key=lambda r: r["raw"])
    assert [(r["stage"], r["kind"], r["raw"]) for r in letters] == sorted(
        [("events", "malformed", base64.b64encode(v).decode()) for v in BAD_VALUES], key=lambda t: t[2]
    )
    assert sorted(json.loads(r["row"])["key"] for r in letters) == ["x", "y"]


def test_a_value_that_does_not_decode_fails_the_run_is_dropped_or_kept(tmp_path: Path, bootstrap: str) -> None:
    topic = _bad_topic(bootstrap)
    project = make_project(tmp_path, {f"{mode}/pipeline.yaml": _reader(bootstrap, topic, mode) for mode in MODES})

    failed = run(project, "fail")
    assert failed.returncode == 4, failed.stderr
    assert "Malformed records are detected in record parsing" in failed.stderr
    assert not (project / "out").exists()

    dropped = run(project, "drop")
    assert dropped.returncode == 0, dropped.stderr
    assert sorted(r["key"] for r in parquet_rows(project / "out")) == ["1", "2", "t"]

    kept = run(project, "keep")
    assert kept.returncode == 0, kept.stderr
    nulls = {"id": None, "customer": None, "note": None, "amount": None, "placed": None}
    rows = sorted(parquet_rows(project / "out"), key=lambda r: r["key"])
    assert rows == [{**ORDERS[0], "key": "1"}, {**ORDERS[1], "key": "2"}, {**nulls, "key": "t"}] + [
        {**nulls, "key": k} for k in ("x", "y")
    ]


SUMMARY: dict[str, Any] = {
    "type": "record",
    "name": "Summary",
    "fields": [{"name": "id", "type": "long"}, {"name": "label", "type": "string"}],
}


def test_a_stream_reads_and_writes_avro(tmp_path: Path, bootstrap: str) -> None:
    topic, out_topic = _bad_topic(bootstrap), new_topic("avro-summary")
    project = make_project(
        tmp_path,
        {
            "s/pipeline.yaml": f"""
                streaming: {{checkpoint_location: ck, trigger: {{available_now: true}}}}
                sources:
                  - name: events
                    type: kafka
                    mode: stream
                    bootstrap_servers: {bootstrap}
                    topic: {topic}
                    value_format: avro
                    on_malformed: drop
                    metadata: [key]
                    avro_schema: '{json.dumps(SCHEMA)}'
                transforms:
                  - name: labelled
                    type: sql
                    inputs: [events]
                    query: "SELECT id, concat(customer, ':', CAST(amount AS STRING)) AS label FROM events
                      WHERE id IS NOT NULL"
                sinks:
                  - name: summary
                    type: kafka
                    input: labelled
                    bootstrap_servers: {bootstrap}
                    topic: {out_topic}
                    value_format: avro
                    avro_schema: '{json.dumps(SUMMARY)}'
            """
        },
    )

    result = run(project, "s")

    assert result.returncode == 0, result.stderr
    parsed = fastavro.parse_schema(SUMMARY)
    values = [fastavro.schemaless_reader(io.BytesIO(v), parsed) for _, v in consume_raw(bootstrap, out_topic) if v]
    assert sorted(values, key=lambda v: v["id"]) == [
        {"id": o["id"], "label": f"{o['customer']}:{o['amount']}"} for o in ORDERS[:2]
    ]
