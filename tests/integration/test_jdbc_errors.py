"""Connection failures through ``etl-cli run``: an unreachable server is retried, then exit 4 naming
host and port; a wrong password fails at once, and the password appears nowhere.
"""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

from tests.integration.dbhelp import latest_results, pg_env, run_example

UPSERT = "csv_to_postgres_upsert"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_retried_then_the_run_exits_4_naming_host_and_port(tmp_path: Path) -> None:
    port = closed_port()
    result = run_example(
        UPSERT,
        tmp_path / "state",
        "--set", "sinks.customers_table.retry.attempts=3",
        "--set", "sinks.customers_table.retry.initial_delay=0.1",
        "--set", "sinks.customers_table.retry.max_delay=0.2",
        env={**pg_env(), "PG_HOST": "127.0.0.1", "PG_PORT": str(port)},
    )  # fmt: skip

    assert result.returncode == 4, result.stderr
    assert f"cannot reach PostgreSQL at 127.0.0.1:{port}" in result.stderr
    assert "failed 3 times" in result.stderr
    results = latest_results(tmp_path / "state", UPSERT)
    assert results["exit_code"] == 4 and results["error"]["stage"] == "customers_table"
    assert results["resilience"][f"postgresql://127.0.0.1:{port}"]["attempts"] == 3


def test_a_wrong_password_fails_at_once_and_is_never_shown(tmp_path: Path) -> None:
    password = f"wrong-{uuid.uuid4().hex}"
    started = time.monotonic()
    result = run_example(
        UPSERT,
        tmp_path / "state",
        # if the refusal were retried, the first wait alone would take ten minutes
        "--set", "sinks.customers_table.retry.initial_delay=600",
        "--set", "sinks.customers_table.retry.max_delay=600",
        env={**pg_env(), "PG_PASSWORD": password},
    )  # fmt: skip
    elapsed = time.monotonic() - started

    assert result.returncode == 4, result.stderr
    assert "refused the login" in result.stderr and "28P01" in result.stderr
    assert "not retried" in result.stderr
    assert elapsed < 240, f"a refused login must not be retried (took {elapsed:.0f}s)"
    results = latest_results(tmp_path / "state", UPSERT)
    server = f"postgresql://{pg_env()['PG_HOST']}:{pg_env()['PG_PORT']}"
    assert results["resilience"][server]["attempts"] == 1
    written = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    assert written, "the run leaves its results and logs"
    for text in [result.stdout, result.stderr, *(p.read_text(errors="replace") for p in written)]:
        assert password not in text
