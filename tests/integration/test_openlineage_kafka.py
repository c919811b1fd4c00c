"""OpenLineage events delivered to a real consumer: the client's Kafka transport into the test broker.

Marquez cannot be had here, so the consumer is a plain Kafka consumer (confluent-kafka): three
``etl-cli run`` of one pipeline (it succeeds, it fails, it is interrupted) produce their events to
one topic, through a broker address that reaches the transport as a ``${secret:env:...}``
reference; the test reads the topic back and validates every event against the specification.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.kafkahelp import kafka_bootstrap, new_topic, read_topic
from tests.lineage.openlineage_runs import (
    FAILS,
    IS_SLOW,
    PARENT,
    PARENT_ID,
    SLOW_DATA,
    SUCCEEDS,
    interrupt_orders,
    orders_project,
    run_orders,
)
from tests.lineage.openlineage_validation import problems

KAFKA_TRANSPORT = """
    lineage:
      namespace: shop-team
      transport:
        type: kafka
        topic: {topic}
        config: {{bootstrap.servers: "${{secret:env:ETL_TEST_KAFKA_BOOTSTRAP}}", acks: all}}
"""


def test_the_events_of_a_successful_a_failed_and_an_interrupted_run_are_read_back_from_kafka(tmp_path: Path) -> None:
    bootstrap = kafka_bootstrap()
    topic = new_topic("openlineage")
    lineage = KAFKA_TRANSPORT.format(topic=topic)

    succeeded = run_orders(orders_project(tmp_path / "ok", lineage, SUCCEEDS), "--parent-run", PARENT)
    assert succeeded.returncode == 0, succeeded.stderr
    failed = run_orders(orders_project(tmp_path / "failed", lineage, FAILS))
    assert failed.returncode == 4, failed.stderr
    assert interrupt_orders(orders_project(tmp_path / "stopped", lineage, IS_SLOW, SLOW_DATA)) == 130

    records = read_topic(bootstrap, topic)
    events = [json.loads(record.value or "") for record in records]
    assert {record.key for record in records} == {"run:airflow/nightly.orders", "run:shop-team/orders"}
    assert [problems(event) for event in events] == [[]] * 6
    by_run: dict[str, list[str]] = {}
    for event in sorted(events, key=lambda e: e["eventTime"]):
        by_run.setdefault(event["run"]["runId"], []).append(event["eventType"])
    assert sorted(by_run.values()) == [["START", "ABORT"], ["START", "COMPLETE"], ["START", "FAIL"]]
    complete = _one(events, "COMPLETE")
    assert complete["run"]["facets"]["parent"]["run"]["runId"] == PARENT_ID
    assert complete["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert "too much" in _one(events, "FAIL")["run"]["facets"]["errorMessage"]["message"]
    for folder, run_id in (("ok", complete["run"]["runId"]), ("failed", _one(events, "FAIL")["run"]["runId"])):
        record = _results(tmp_path / folder)["lineage"]
        assert record["run_id"] == run_id and all(event["sent"] for event in record["events"])


def _one(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [event for event in events if event["eventType"] == kind]
    return found


def _results(root: Path) -> dict[str, Any]:
    return json.loads((root / ".etl" / "runs" / "orders" / "dev" / "latest.json").read_text(encoding="utf-8"))
