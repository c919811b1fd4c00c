"""``etl-cli dry-run`` changes no state in a database or a broker: proved against the real services.

A CSV → PostgreSQL upsert is dry-run (with and without ``--sample``) against a target table that
holds known rows and that a real run would change (one row updated, one inserted): afterwards the
table holds exactly the same rows, no ``etl_stg_*`` staging table exists, and the output lists the
upsert with its keys. A Kafka → Kafka pipeline is dry-run against a target topic created empty
beforehand: afterwards every partition's end offset is still 0, and the output lists the produce.

Every expected row, offset and effect line is written by hand. The tables are read with psycopg
and the offsets with confluent-kafka: clients independent of the JVM ones etl-cli uses. Needs
``scripts/services.sh up pg kafka`` and ``eval "$(scripts/services.sh env pg kafka)"``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.integration.dbhelp import pg_env, pg_execute, pg_rows, pg_schema
from tests.integration.kafkahelp import kafka_bootstrap, new_topic, produce_json

# --------------------------------------------------------------------------- PostgreSQL upsert

BEFORE = [
    (1, "Ada Lovelace", "ada@example.com", "GB", datetime(2024, 3, 1, 9, 0)),
    (2, "Grace Hopper", "grace@example.com", "US", datetime(2024, 3, 1, 9, 5)),
]
# a real run would update customer 2 and insert customer 3
CSV = """customer_id,name,email,country,updated_at
2,Grace Brewster Hopper,GRACE.HOPPER@example.com,US,2024-03-05 08:00:00
3,Alan Turing,alan@example.com,GB,2024-03-05 08:30:00
"""


def upsert_pipeline(folder: Path, table: str) -> Path:
    """The shape of pipelines/csv_to_postgres_upsert, with the upsert keys spelled out."""
    data = folder / "customers.csv"
    data.write_text(CSV, encoding="utf-8")
    pipeline = folder / "pipeline.yaml"
    pipeline.write_text(
        f"""\
name: dry_run_upsert
vars:
  pg_url: jdbc:postgresql://${{env:PG_HOST}}:${{env:PG_PORT}}/${{env:PG_DB}}
spark:
  master: local[2]
  conf:
    spark.sql.shuffle.partitions: 2
sources:
  - name: customers_csv
    type: csv
    path: {data}
    schema:
      customer_id: BIGINT
      name: STRING
      email: STRING
      country: STRING
      updated_at: TIMESTAMP
transforms:
  - name: latest
    type: deduplicate
    inputs: [customers_csv]
    keys: [customer_id]
    order_by: [updated_at desc]
  - name: cleaned
    type: derive
    inputs: [latest]
    columns:
      email: lower(trim(email))
sinks:
  - name: customers_table
    type: jdbc
    input: cleaned
    url: ${{var:pg_url}}
    table: {table}
    user: ${{env:PG_USER}}
    password: ${{secret:env:PG_PASSWORD}}
    mode: upsert
    keys: [customer_id]
""",
        encoding="utf-8",
    )
    return pipeline


def customers(schema: str) -> list[tuple[Any, ...]]:
    return pg_rows(f"SELECT customer_id, name, email, country, updated_at FROM {schema}.customers ORDER BY 1")


def relations(schema: str) -> list[str]:
    """Every table in the test's schema, and any staging table (``etl_stg_*``) in any schema."""
    return sorted(
        f"{r[0]}.{r[1]}"
        for r in pg_rows(
            "SELECT table_schema, table_name FROM information_schema.tables "
            f"WHERE table_schema = '{schema}' OR table_name LIKE 'etl\\_stg\\_%'"
        )
    )


@pytest.mark.parametrize("sample", [None, 5], ids=["plain", "sample-5"])
def test_dry_run_of_a_postgres_upsert_leaves_the_table_rows_unchanged_and_creates_no_staging_table(
    tmp_path: Path, sample: int | None
) -> None:
    env = pg_env()
    with pg_schema() as schema:
        pg_execute(
            f"CREATE TABLE {schema}.customers (customer_id BIGINT PRIMARY KEY, name TEXT NOT NULL, email TEXT, "
            "country CHAR(2), updated_at TIMESTAMP NOT NULL)"
        )
        pg_execute(
            f"INSERT INTO {schema}.customers VALUES (1, 'Ada Lovelace', 'ada@example.com', 'GB', '2024-03-01 09:00'),"
            " (2, 'Grace Hopper', 'grace@example.com', 'US', '2024-03-01 09:05')"
        )
        assert customers(schema) == BEFORE
        assert relations(schema) == [f"{schema}.customers"]
        pipeline = upsert_pipeline(tmp_path, f"{schema}.customers")
        extra = ("--sample", str(sample)) if sample else ()

        text = etl_cli("dry-run", str(pipeline), *extra, env={**env, "ETL_STATE_DIR": str(tmp_path / "state")})
        as_json = etl_cli(
            "dry-run", str(pipeline), *extra, "--format", "json",
            env={**env, "ETL_STATE_DIR": str(tmp_path / "state")},
        )  # fmt: skip

        assert text.returncode == 0, text.stderr
        assert as_json.returncode == 0, as_json.stderr
        assert customers(schema) == BEFORE, "a dry-run changes no row"
        assert relations(schema) == [f"{schema}.customers"], "a dry-run creates no staging table"

    url = f"jdbc:postgresql://{env['PG_HOST']}:{env['PG_PORT']}/{env['PG_DB']}"
    line = f"  upsert {url} {schema}.customers  mode upsert  keys customer_id  (customers_table)\n"
    assert line in text.stdout
    assert text.stdout.rstrip().endswith("ok: 4 stages analysed, 1 effect(s), nothing written")
    report = json.loads(as_json.stdout)
    assert report["effects"] == [
        {
            "stage": "customers_table",
            "action": "upsert",
            "target": f"{url} {schema}.customers",
            "mode": "upsert",
            "details": {"keys": ["customer_id"]},
            "partitions": None,
            "partitions_total": None,
        }
    ]
    rows = {s["name"]: s["rows"] for s in report["stages"]}
    if sample:
        # two CSV rows, two customers: the sample of 5 holds them all
        assert "  rows    2 in the sample\n" in text.stdout
        assert rows == {"customers_csv": 2, "latest": 2, "cleaned": 2, "customers_table": 2}
    else:
        assert "in the sample" not in text.stdout
        assert rows == {"customers_csv": None, "latest": None, "cleaned": None, "customers_table": None}


# --------------------------------------------------------------------------- Kafka sink


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the broker answers
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    futures[topic].result(60)


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Partition → end (high watermark) offset, read with a plain consumer that joins no group."""
    import uuid

    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"etl-test-{uuid.uuid4().hex}"})
    try:
        found = consumer.list_topics(topic, timeout=30).topics[topic]
        assert found.error is None, found.error
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in sorted(found.partitions)
        }
    finally:
        consumer.close()


def test_dry_run_of_a_kafka_sink_produces_no_message(tmp_path: Path) -> None:
    bootstrap = kafka_bootstrap()
    source, target = new_topic("dryrun-in"), new_topic("dryrun-out")
    produce_json(
        bootstrap,
        source,
        [
            {"order_id": 1, "customer": "ada", "amount": "12.50", "order_ts": "2026-03-01T09:00:00"},
            {"order_id": 2, "customer": "grace", "amount": "7.25", "order_ts": "2026-03-01T10:00:00"},
            {"order_id": 3, "customer": "ada", "amount": "3.00", "order_ts": "2026-03-02T11:00:00"},
        ],
        key="order_id",
    )
    create_topic(bootstrap, target, partitions=2)
    assert end_offsets(bootstrap, source) == {0: 3}
    assert end_offsets(bootstrap, target) == {0: 0, 1: 0}
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        f"""\
name: dry_run_kafka
spark:
  master: local[2]
  conf:
    spark.sql.shuffle.partitions: 2
sources:
  - name: orders_raw
    type: kafka
    bootstrap_servers: {bootstrap}
    topic: {source}
    starting_offsets: earliest
    ending_offsets: latest
    value_format: json
    schema:
      order_id: BIGINT
      customer: STRING
      amount: DECIMAL(10,2)
      order_ts: TIMESTAMP
    on_malformed: fail
transforms:
  - name: orders
    type: derive
    inputs: [orders_raw]
    columns:
      order_date: to_date(order_ts)
sinks:
  - name: orders_out
    type: kafka
    input: orders
    bootstrap_servers: {bootstrap}
    topic: {target}
    key_column: order_id
""",
        encoding="utf-8",
    )

    text = etl_cli("dry-run", str(pipeline), "--sample", "5", env={"ETL_STATE_DIR": str(tmp_path / "state")})
    as_json = etl_cli("dry-run", str(pipeline), "--format", "json", env={"ETL_STATE_DIR": str(tmp_path / "state")})

    assert text.returncode == 0, text.stderr
    assert as_json.returncode == 0, as_json.stderr
    assert end_offsets(bootstrap, target) == {0: 0, 1: 0}, "a dry-run produces no message"
    assert end_offsets(bootstrap, source) == {0: 3}
    line = f"  produce kafka topic {target}  mode append  bootstrap_servers {bootstrap}  key_column order_id"
    line += "  (orders_out)\n"
    assert line in text.stdout
    assert "  rows    3 in the sample\n" in text.stdout, "the sample read the three records of the source topic"
    assert text.stdout.rstrip().endswith("ok: 3 stages analysed, 1 effect(s), nothing written")
    assert json.loads(as_json.stdout)["effects"] == [
        {
            "stage": "orders_out",
            "action": "produce",
            "target": f"kafka topic {target}",
            "mode": "append",
            "details": {"bootstrap_servers": bootstrap, "key_column": "order_id"},
            "partitions": None,
            "partitions_total": None,
        }
    ]
