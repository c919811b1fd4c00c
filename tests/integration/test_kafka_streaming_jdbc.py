"""A Kafka stream upserted into PostgreSQL micro-batch by micro-batch (foreachBatch through the JDBC sink),
killed with SIGKILL and restarted: the table ends exactly as if every micro-batch had run once.

Needs the broker and PostgreSQL of scripts/services.sh (``up kafka pg``, then ``eval`` of ``env kafka pg``).
"""

from __future__ import annotations

import json
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.integration.dbhelp import pg_connect, pg_rows, pg_schema, require
from tests.integration.kafkahelp import BackgroundRun, kafka_bootstrap, new_topic, produce, wait_until

ACCOUNTS = ("acme", "globex", "initech", "umbrella")


def balance(account: str, round_: int) -> Decimal:
    return Decimal(100 * round_ + len(account)) + Decimal("0.25")


def rounds(first: int, last: int) -> list[tuple[str, str]]:
    """One update per account per round, a round at a time (each micro-batch takes exactly one round)."""
    return [
        (account, json.dumps({"account": account, "balance": str(balance(account, r)), "round": r}))
        for r in range(first, last)
        for account in ACCOUNTS
    ]


def table(schema: str) -> dict[str, tuple[Decimal, int]]:
    return {row[0]: (row[1], row[2]) for row in pg_rows(f"SELECT account, balance, round FROM {schema}.balances")}


def test_killed_stream_upserts_into_postgres_as_if_each_micro_batch_ran_once(tmp_path: Path) -> None:
    bootstrap = kafka_bootstrap()
    pg = require(("ETL_TEST_PG_JDBC_URL", "ETL_TEST_PG_USER", "ETL_TEST_PG_PASSWORD"), "pg")
    topic = new_topic("balances")
    produce(bootstrap, topic, rounds(0, 6))
    with pg_schema() as schema:
        with pg_connect() as conn:
            conn.execute(f"CREATE TABLE {schema}.balances (account TEXT PRIMARY KEY, balance NUMERIC(12,2), round INT)")
        pipeline = tmp_path / "balances" / "pipeline.yaml"
        pipeline.parent.mkdir()
        pipeline.write_text(
            f"""
name: balances
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2}}}}
streaming:
  checkpoint_location: {tmp_path}/checkpoints
  trigger: {{processing_time: 2 seconds}}
sources:
  - name: updates
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {topic}
    schema: {{account: STRING, balance: "DECIMAL(12,2)", round: INT}}
    metadata: []
    max_offsets_per_trigger: {len(ACCOUNTS)}
sinks:
  - name: balances_out
    type: jdbc
    input: updates
    url: {pg["ETL_TEST_PG_JDBC_URL"]}
    user: {pg["ETL_TEST_PG_USER"]}
    password: ${{env:PG_PASSWORD}}
    table: {schema}.balances
    mode: upsert
"""
        )
        run = BackgroundRun(
            [str(pipeline)],
            tmp_path / "run.log",
            {"ETL_STATE_DIR": str(tmp_path / "state"), "PG_PASSWORD": pg["ETL_TEST_PG_PASSWORD"]},
        )
        try:
            run.start()
            wait_until(lambda: _min_round(table(schema)) >= 1, 150, "two micro-batches upserted", run.assert_running)
            run.kill()
            assert _min_round(table(schema)) < 5, "the kill should land before the backlog is done"

            produce(bootstrap, topic, rounds(6, 9))
            run.start()
            expected = {account: (balance(account, 8), 8) for account in ACCOUNTS}
            wait_until(lambda: table(schema) == expected, 150, "the last round upserted", run.assert_running)
            assert run.stop(signal.SIGTERM) == 0, run.output()[-4000:]
        finally:
            run.cleanup()

        assert table(schema) == expected


def _min_round(rows: dict[str, Any]) -> int:
    return min((round_ for _, round_ in rows.values()), default=-1) if len(rows) == len(ACCOUNTS) else -1
