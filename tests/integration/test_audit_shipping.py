"""Audit records shipped to a real Kafka broker (scripts/services.sh), read back with a plain consumer.

Each record is produced after it is appended, as the JSON line the trail holds; the copy on the topic is
a chain of its own that verifies with the same HMAC key, recomputed here with hmac and hashlib.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from etl_cli.config.project import load_project
from etl_cli.runtime.bookkeeping.audit_trail import append_record, read_lines, trail_path
from tests.integration.kafkahelp import kafka_bootstrap, new_topic, read_topic

pytestmark = pytest.mark.integration

KEY = "audit-hmac-key-for-the-shipping-test"


def shipping_project(root: Path, bootstrap_ref: str, topic: str, extra: str = "") -> Path:
    (root / "etl-project.yaml").write_text(
        "name: shop\n"
        "audit:\n"
        "  hmac_key: ${secret:env:ETL_TEST_AUDIT_KEY}\n"
        "  ship:\n"
        "    kafka:\n"
        f'      bootstrap_servers: "{bootstrap_ref}"\n'
        f"      topic: {topic}\n" + extra,
        encoding="utf-8",
    )
    return root


def canonical(record: dict[str, object]) -> bytes:
    rest = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_each_record_reaches_the_topic_as_the_trail_holds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kafka_bootstrap()
    topic = new_topic("audit")
    monkeypatch.setenv("ETL_TEST_AUDIT_KEY", KEY)
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    project = load_project(shipping_project(tmp_path, "${secret:env:ETL_TEST_KAFKA_BOOTSTRAP}", topic))

    summaries = [append_record(project, {"pipeline": f"p{n}", "run_id": f"run-{n}"}) for n in range(3)]

    assert [s["shipped"] for s in summaries] == [True, True, True]
    shipped = read_topic(kafka_bootstrap(), topic)
    assert [record.key for record in shipped] == ["1", "2", "3"]
    lines = read_lines(trail_path(tmp_path / "state"))
    assert [json.loads(record.value or "") for record in shipped] == [json.loads(line) for line in lines]
    previous = "0" * 64
    for record in (json.loads(r.value or "") for r in shipped):
        assert record["prev"] == previous
        assert record["hash"] == hmac.new(KEY.encode(), canonical(record), hashlib.sha256).hexdigest()
        previous = record["hash"]


def test_a_broker_that_is_down_leaves_the_record_in_the_trail_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_TEST_AUDIT_KEY", KEY)
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))
    timeout = "      config: {message.timeout.ms: 1500}\n"
    project = load_project(shipping_project(tmp_path, "127.0.0.1:9", new_topic("audit-down"), timeout))

    summary = append_record(project, {"pipeline": "p", "run_id": "run-1"})

    assert summary["shipped"] is False
    assert "not delivered" in summary["ship_error"]
    [line] = read_lines(trail_path(tmp_path / "state"))
    assert json.loads(line)["hash"] == summary["hash"]
