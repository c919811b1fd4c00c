"""The audit log: one JSON line per access with the reference, never the value."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from etl_cli.secrets.audit import AuditContext, AuditLog, read_audit
from etl_cli.secrets.redaction import Redactor
from etl_cli.secrets.resolver import SecretResolver
from etl_cli.secrets.settings import ProviderContext, ProviderSettings

VALUE = "audited-value-77"


def resolver(tmp_path: Path, environ: dict[str, str]) -> SecretResolver:
    audit = AuditLog(tmp_path / "audit" / "secrets.jsonl", AuditContext("run-1", "orders", "prod"))
    settings = {"env": ProviderSettings("env", "env")}
    return SecretResolver(settings, ProviderContext(tmp_path, environ), Redactor(), audit)


def lines(tmp_path: Path) -> list[dict[str, object]]:
    text = (tmp_path / "audit" / "secrets.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_each_access_appends_one_record_with_every_field(tmp_path: Path) -> None:
    resolver(tmp_path, {"PG": VALUE}).resolve("env:PG")
    [record] = lines(tmp_path)
    assert set(record) == {
        "timestamp", "run_id", "pipeline", "environment", "provider", "type", "reference", "user", "outcome",
    }  # fmt: skip
    assert record["run_id"] == "run-1"
    assert record["pipeline"] == "orders"
    assert record["environment"] == "prod"
    assert record["provider"] == "env"
    assert record["reference"] == "env:PG"
    assert record["outcome"] == "resolved"
    assert record["user"]
    assert datetime.fromisoformat(str(record["timestamp"])) > datetime.now(UTC) - timedelta(minutes=1)


def test_the_value_is_never_written(tmp_path: Path) -> None:
    r = resolver(tmp_path, {"PG": VALUE})
    r.resolve("env:PG")
    r.resolve("env:PG")
    assert VALUE not in (tmp_path / "audit" / "secrets.jsonl").read_text()


def test_cache_hits_and_failures_are_recorded(tmp_path: Path) -> None:
    r = resolver(tmp_path, {"PG": VALUE})
    r.resolve("env:PG")
    r.resolve("env:PG")
    with contextlib.suppress(Exception):
        r.resolve("env:MISSING")
    assert [x["outcome"] for x in lines(tmp_path)] == ["resolved", "cached", "not_found"]
    assert lines(tmp_path)[2]["error"] == "SecretNotFound"


def test_the_log_file_is_private(tmp_path: Path) -> None:
    resolver(tmp_path, {"PG": VALUE}).resolve("env:PG")
    assert (tmp_path / "audit" / "secrets.jsonl").stat().st_mode & 0o777 == 0o600


def test_read_audit_filters_by_pipeline_provider_and_time(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    AuditLog(path, AuditContext("r1", "orders", "dev")).record("vault", "vault", "vault:a#b", "resolved")
    AuditLog(path, AuditContext("r2", "billing", "dev")).record("db", "keyring", "db:x", "resolved")
    assert [e["run_id"] for e in read_audit(path, pipeline="billing")] == ["r2"]
    assert [e["run_id"] for e in read_audit(path, provider="vault")] == ["r1"]
    assert [e["run_id"] for e in read_audit(path, provider="keyring")] == ["r2"]
    assert list(read_audit(path, since=datetime.now(UTC) + timedelta(minutes=1))) == []
    assert len(list(read_audit(path, since=datetime.now(UTC) - timedelta(minutes=1)))) == 2
