"""The audit trail: a hash chain that ``etl-cli audit verify`` checks, and the confirmation protected
environments ask for. Hashes are recomputed here with hashlib and hmac, not with the module's own function."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.project import load_project
from etl_cli.errors import UsageError
from etl_cli.runtime.bookkeeping.audit_trail import (
    GENESIS,
    AuditTrail,
    head_path,
    read_head,
    read_lines,
    trail_path,
    verify_lines,
)
from etl_cli.usecases.backfill import BackfillOptions, run_backfill
from tests.clihelp import etl_cli
from tests.unit.helpers import make_project
from tests.unit.test_backfill import FakeLauncher, Quiet, pipeline

KEY = b"audit-key-for-tests-0123456789"


def body(record: dict[str, Any]) -> bytes:
    """The canonical bytes, written out independently: sorted keys, no spaces, UTF-8, without ``hash``."""
    rest = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def filled(state: Path, count: int, key: bytes | None = None, label: str = "p") -> list[str]:
    trail = AuditTrail(state, key)
    for number in range(count):
        trail.append({"time": f"2026-01-0{number + 1}T00:00:00+00:00", "pipeline": f"{label}{number}", "note": "é"})
    return read_lines(trail_path(state))


def rewrite(state: Path, lines: list[str]) -> None:
    trail_path(state).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_each_record_chains_to_the_one_before_by_sha256_of_its_canonical_json(tmp_path: Path) -> None:
    records = [json.loads(line) for line in filled(tmp_path, 3)]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev"] == GENESIS
    for record in records:
        assert record["alg"] == "sha256"
        assert record["hash"] == hashlib.sha256(body(record)).hexdigest()
    assert records[1]["prev"] == records[0]["hash"]
    assert records[2]["prev"] == records[1]["hash"]
    assert read_head(tmp_path) == {"seq": 3, "hash": records[2]["hash"], "at": "2026-01-03T00:00:00+00:00"}


def test_the_trail_and_its_head_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    filled(tmp_path, 1)
    for path in (trail_path(tmp_path), head_path(tmp_path)):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_with_a_key_the_hash_is_an_hmac(tmp_path: Path) -> None:
    record = json.loads(filled(tmp_path, 1, KEY)[0])
    assert record["alg"] == "hmac-sha256"
    assert record["hash"] == hmac.new(KEY, body(record), hashlib.sha256).hexdigest()
    assert verify_lines(read_lines(trail_path(tmp_path)), KEY, read_head(tmp_path)).ok
    assert verify_lines(read_lines(trail_path(tmp_path)), b"another key").problem == "edited"
    assert verify_lines(read_lines(trail_path(tmp_path)), None).problem == "no-key"


def test_an_intact_trail_verifies(tmp_path: Path) -> None:
    found = verify_lines(filled(tmp_path, 4), None, read_head(tmp_path))
    assert (found.ok, found.records, found.problem) == (True, 4, None)


def test_an_edited_line_is_named(tmp_path: Path) -> None:
    lines = filled(tmp_path, 4)
    lines[1] = lines[1].replace('"p1"', '"px"')
    found = verify_lines(lines, None, read_head(tmp_path))
    assert (found.problem, found.line) == ("edited", 2)


def test_an_edit_whose_hash_was_recomputed_is_named_by_the_next_line(tmp_path: Path) -> None:
    lines = filled(tmp_path, 4)
    forged = json.loads(lines[1]) | {"pipeline": "px"}
    forged["hash"] = hashlib.sha256(body(forged)).hexdigest()
    lines[1] = json.dumps(forged)
    found = verify_lines(lines, None, read_head(tmp_path))
    assert (found.problem, found.line) == ("edited", 2)


def test_a_deleted_line_is_named(tmp_path: Path) -> None:
    lines = filled(tmp_path, 4)
    found = verify_lines(lines[:2] + lines[3:], None, read_head(tmp_path))
    assert (found.problem, found.line) == ("deleted", 3)
    assert "record 3 deleted" in found.message
    first = verify_lines(lines[1:], None, read_head(tmp_path))
    assert (first.problem, first.line) == ("deleted", 1)


def test_reordered_lines_are_named(tmp_path: Path) -> None:
    lines = filled(tmp_path, 4)
    found = verify_lines([lines[0], lines[2], lines[1], lines[3]], None, read_head(tmp_path))
    assert (found.problem, found.line) == ("reordered", 2)
    assert "record 2 is at line 3" in found.message


def test_an_inserted_line_is_named(tmp_path: Path) -> None:
    lines = filled(tmp_path, 3)
    garbage = verify_lines([lines[0], '{"seq": 2, "hash": "00", "prev": "x"}', *lines[1:]], None, read_head(tmp_path))
    assert (garbage.problem, garbage.line) == ("inserted", 2)
    # a forged record with a valid hash, chained to line 1: the original record 2 no longer follows it
    forged = {"time": "t", "pipeline": "forged", "seq": 2, "prev": json.loads(lines[0])["hash"], "alg": "sha256"}
    forged["hash"] = hashlib.sha256(body(forged)).hexdigest()
    found = verify_lines([lines[0], json.dumps(forged), *lines[1:]], None, read_head(tmp_path))
    assert (found.problem, found.line) == ("inserted", 2)


def test_a_removed_tail_is_caught_by_the_head_and_not_without_it(tmp_path: Path) -> None:
    lines = filled(tmp_path, 4)
    found = verify_lines(lines[:3], None, read_head(tmp_path))
    assert found.problem == "truncated"
    unguarded = verify_lines(lines[:3], None, None)
    assert unguarded.ok
    assert any("removed tail" in note for note in unguarded.notes)


def test_an_anchor_kept_elsewhere_catches_a_rewritten_trail(tmp_path: Path) -> None:
    lines = filled(tmp_path, 3)
    anchor = (2, json.loads(lines[1])["hash"])
    assert verify_lines(lines, None, None, anchor).ok
    other = filled(tmp_path / "other", 3, label="q")  # a whole trail written anew: every hash valid, other content
    assert verify_lines(other, None, None, anchor).problem == "edited"
    assert verify_lines(lines[:1], None, None, anchor).problem == "truncated"


def test_an_append_after_a_cut_line_starts_a_line_of_its_own(tmp_path: Path) -> None:
    filled(tmp_path, 1)
    with trail_path(tmp_path).open("a", encoding="utf-8") as out:
        out.write('{"seq": 2, "cut')
    AuditTrail(tmp_path).append({"pipeline": "after"})
    lines = read_lines(trail_path(tmp_path))
    assert len(lines) == 3
    assert json.loads(lines[2])["seq"] == 2
    found = verify_lines(lines, None, read_head(tmp_path))
    assert (found.problem, found.line) == ("inserted", 2)


def _append_many(state: str, label: str) -> None:
    trail = AuditTrail(Path(state))
    for number in range(25):
        trail.append({"pipeline": label, "n": number})


def test_concurrent_writers_do_not_fork_the_chain(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), f"w{i}")) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    lines = read_lines(trail_path(tmp_path))
    assert len(lines) == 100
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == list(range(1, 101))
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(records))
    assert verify_lines(lines, None, read_head(tmp_path)).ok


# --- the commands -------------------------------------------------------------------------------------------

PROJECT = "name: shop\nenvironments: {dev: {}, prod: {protected: true}}\n"
PIPELINE = """\
name: orders
sources:
  - {name: raw, type: csv, path: data/orders.csv}
sinks:
  - {name: out, type: parquet, input: raw, path: out/orders}
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "etl-project.yaml").write_text(PROJECT)
    (tmp_path / "pipelines" / "orders").mkdir(parents=True)
    (tmp_path / "pipelines" / "orders" / "pipeline.yaml").write_text(PIPELINE)
    return tmp_path


def test_run_into_a_protected_environment_without_confirmation_is_refused_and_recorded(tmp_path: Path) -> None:
    root = project(tmp_path)
    env = {"ETL_STATE_DIR": str(root / ".etl"), "ETL_PRINCIPAL": "alice"}
    refused = etl_cli("run", "pipelines/orders", "--env", "prod", cwd=root, env=env)
    assert refused.returncode == 2, refused.stderr
    assert "--confirm-env prod" in refused.stderr
    wrong = etl_cli("run", "pipelines/orders", "--env", "prod", "--confirm-env", "dev", cwd=root, env=env)
    assert wrong.returncode == 2, wrong.stderr
    assert "--confirm-env dev does not match" in wrong.stderr
    dag = etl_cli("dag", "run", "--env", "prod", cwd=root, env=env)
    assert dag.returncode == 2, dag.stderr
    assert "--confirm-env prod" in dag.stderr
    shown = etl_cli("audit", "show", "--format", "json", cwd=root, env=env)
    records = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [(r["command"], r["outcome"], r["environment"], r["principal"]) for r in records][:2] == [
        ("run", "refused", "prod", "alice"),
        ("run", "refused", "prod", "alice"),
    ]
    assert records[-1]["command"] == "dag run"
    verified = etl_cli("audit", "verify", cwd=root, env=env)
    assert verified.returncode == 0, verified.stderr
    assert f"{len(records)} record(s)" in verified.stdout


def test_a_backfill_into_a_protected_environment_needs_the_flag_and_passes_it_to_each_run(tmp_path: Path) -> None:
    make_project(tmp_path, {"daily/pipeline.yaml": pipeline(), "data/events.csv": "day\n2026-01-01\n"}, project=PROJECT)
    asked = {"pipeline": tmp_path / "daily", "start": "2026-01-01", "stop": "2026-01-02", "env": "prod"}
    launcher = FakeLauncher()
    with pytest.raises(UsageError, match="needs --confirm-env prod"):
        run_backfill(BackfillOptions(**asked), Quiet(), launcher)  # type: ignore[arg-type]
    assert launcher.requests == []
    run_backfill(BackfillOptions(**asked, confirm_env="prod"), Quiet(), launcher)  # type: ignore[arg-type]
    assert [r.extra_args for r in launcher.requests] == [("--confirm-env", "prod")] * 2
    refused = json.loads(read_lines(trail_path(load_project(tmp_path).run_state_dir()))[-1])
    assert (refused["command"], refused["outcome"], refused["pipeline"]) == ("backfill", "refused", "daily")


def test_audit_verify_exits_1_naming_the_edited_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    state = root / ".etl"
    lines = filled(state, 3)
    lines[2] = lines[2].replace('"p2"', '"p9"')
    rewrite(state, lines)
    found = etl_cli("audit", "verify", cwd=root, env={"ETL_STATE_DIR": str(state)})
    assert found.returncode == 1
    assert "line 3 was edited" in found.stderr
    as_json = etl_cli("audit", "verify", "--format", "json", cwd=root, env={"ETL_STATE_DIR": str(state)})
    assert json.loads(as_json.stdout)["line"] == 3


def test_audit_show_filters_by_pipeline(tmp_path: Path) -> None:
    root = project(tmp_path)
    filled(root / ".etl", 3)
    shown = etl_cli("audit", "show", "--pipeline", "p1", "--format", "json", cwd=root,
                    env={"ETL_STATE_DIR": str(root / ".etl")})  # fmt: skip
    assert [json.loads(line)["seq"] for line in shown.stdout.splitlines()] == [2]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("audit: {hmac_key: plain-text}", "audit.hmac_key must be one ${secret:...} reference"),
        ("audit: {ship: {jdbc: {url: x}}}", "unknown key 'jdbc' in audit.ship"),
        ("audit: {ship: {kafka: {topic: t}}}", "audit.ship.kafka.bootstrap_servers must be a non-empty string"),
    ],
)
def test_a_wrong_audit_block_is_a_project_error(tmp_path: Path, block: str, message: str) -> None:
    (tmp_path / "etl-project.yaml").write_text(f"name: shop\n{block}\n")
    with pytest.raises(Exception, match=r"etl-project.yaml is invalid") as raised:
        load_project(tmp_path)
    assert message in str(raised.value)


def test_the_secrets_a_run_used_come_from_the_access_log_of_that_run_only(tmp_path: Path) -> None:
    from etl_cli.runtime.bookkeeping.audit_trail import secrets_used
    from etl_cli.secrets.audit import AuditContext, AuditLog, audit_path

    root = project(tmp_path)
    os.environ["ETL_STATE_DIR"] = str(root / ".etl")
    try:
        loaded = load_project(root)
        mine = AuditLog(audit_path(loaded), AuditContext("run-1", "orders", "prod"))
        other = AuditLog(audit_path(loaded), AuditContext("run-2", "orders", "prod"))
        mine.record("vault", "vault", "vault:etl/pg#password", "resolved")
        other.record("env", "env", "env:OTHER", "resolved")
        mine.record("vault", "vault", "vault:etl/pg#password", "cached")
        mine.record("env", "env", "env:MISSING", "not_found", "SecretNotFound")
        assert secrets_used(loaded, "run-1") == [
            {"reference": "vault:etl/pg#password", "type": "vault", "outcomes": ["resolved", "cached"]},
            {"reference": "env:MISSING", "type": "env", "outcomes": ["not_found"]},
        ]
    finally:
        del os.environ["ETL_STATE_DIR"]
