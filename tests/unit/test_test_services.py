"""The test loop starts the services of scripts/services.sh only when a selected test needs one.

tests/integration/serviceshelp.py drives the script; here it drives a stand-in with the same
commands (``env``, ``status``, ``up``, ``down``) that records how it was called, so these tests
need no server. The real script is exercised by the integration tests that use the services.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.serviceshelp import Services, parse_exports

REPO = Path(__file__).resolve().parents[2]

STAND_IN = """#!/usr/bin/env bash
# scripts/services.sh as the tests need it: a service is running while the file $STATE/NAME exists
echo "$*" >> "$CALLS"
case "$1" in
  env) echo "export ETL_TEST_${2^^}_HOST=127.0.0.1"
       echo "export ETL_TEST_${2^^}_URL=\\"jdbc:x://127.0.0.1/db?flag\\"" ;;
  status) [[ -e "$STATE/$2" ]] || exit 3 ;;
  up) if [[ -n "${FAIL_UP:-}" ]]; then echo "[services] ERROR: $2 failed to start" >&2; exit 1; fi
      touch "$STATE/$2" ;;
  down) shift; for name in "$@"; do rm -f "$STATE/$name"; done ;;
esac
"""


@pytest.fixture
def stand_in(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    script = tmp_path / "services.sh"
    script.write_text(STAND_IN, encoding="utf-8")
    script.chmod(0o755)
    (tmp_path / "state").mkdir()
    environ = {"PATH": os.environ["PATH"], "CALLS": str(tmp_path / "calls"), "STATE": str(tmp_path / "state")}
    return script, environ


def calls(environ: dict[str, str]) -> list[str]:
    path = Path(environ["CALLS"])
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_exports_are_read_with_quotes_removed() -> None:
    text = 'export A=1\nexport B="jdbc:mysql://h:1/db?permitMysqlScheme"\nnot an export\n'
    assert parse_exports(text) == {"A": "1", "B": "jdbc:mysql://h:1/db?permitMysqlScheme"}


def test_a_service_not_running_is_started_and_its_settings_exported(stand_in: tuple[Path, dict[str, str]]) -> None:
    script, environ = stand_in
    services = Services(script, environ)
    assert services.ensure(["pg"]) is None
    assert calls(environ) == ["env pg", "status pg", "up pg"]
    assert environ["ETL_TEST_PG_HOST"] == "127.0.0.1"
    assert environ["ETL_TEST_PG_URL"] == "jdbc:x://127.0.0.1/db?flag"


def test_a_service_is_brought_up_once_per_session(stand_in: tuple[Path, dict[str, str]]) -> None:
    script, environ = stand_in
    services = Services(script, environ)
    services.ensure(["kafka"])
    services.ensure(["kafka", "pg"])
    assert [call for call in calls(environ) if call.startswith("up")] == ["up kafka", "up pg"]


def test_only_the_services_the_session_started_are_stopped_at_the_end(stand_in: tuple[Path, dict[str, str]]) -> None:
    script, environ = stand_in
    (Path(environ["STATE"]) / "pg").touch()  # started by hand before the session
    services = Services(script, environ)
    services.ensure(["pg", "kafka"])
    assert services.stop_started() is None
    assert calls(environ)[-1] == "down kafka"
    assert (Path(environ["STATE"]) / "pg").exists()
    assert services.summary() == ["pg: was running already, left running", "kafka: started, stopped"]


def test_keep_services_leaves_what_the_session_started_running(stand_in: tuple[Path, dict[str, str]]) -> None:
    script, environ = stand_in
    services = Services(script, {**environ, "ETL_KEEP_SERVICES": "1"})
    services.ensure(["s3"])
    services.stop_started()
    assert not any(call.startswith("down") for call in calls(environ))
    assert services.summary() == ["s3: started, left running (ETL_KEEP_SERVICES=1)"]


def test_settings_already_in_the_environment_are_used_without_starting_anything(
    stand_in: tuple[Path, dict[str, str]],
) -> None:
    script, environ = stand_in
    environ.update({"ETL_TEST_VAULT_HOST": "10.0.0.7", "ETL_TEST_VAULT_URL": "http://10.0.0.7:8200"})
    services = Services(script, environ)
    assert services.ensure(["vault"]) is None
    assert calls(environ) == ["env vault"]
    assert environ["ETL_TEST_VAULT_HOST"] == "10.0.0.7"


def test_skip_services_starts_nothing_and_says_so(stand_in: tuple[Path, dict[str, str]]) -> None:
    script, environ = stand_in
    services = Services(script, {**environ, "ETL_SKIP_SERVICES": "1"})
    assert services.ensure(["mysql"]) == "ETL_SKIP_SERVICES=1: mysql was not started"
    assert calls(environ) == ["env mysql"]


def test_a_service_that_fails_to_start_is_reported_with_the_scripts_words_and_not_retried(
    stand_in: tuple[Path, dict[str, str]],
) -> None:
    script, environ = stand_in
    services = Services(script, {**environ, "FAIL_UP": "1"})
    first = services.ensure(["pushgateway"])
    assert first == "scripts/services.sh up pushgateway failed: [services] ERROR: pushgateway failed to start"
    assert services.ensure(["pushgateway"]) == first
    assert [call for call in calls(environ) if call.startswith("up")] == ["up pushgateway"]


def test_an_unknown_service_name_is_a_mistake_in_the_test(stand_in: tuple[Path, dict[str, str]]) -> None:
    script, environ = stand_in
    with pytest.raises(ValueError, match="unknown test service 'postgres'"):
        Services(script, environ).ensure(["postgres"])


def test_unit_tests_run_without_asking_for_any_service(tmp_path: Path) -> None:
    """The fast loop: selecting unit tests brings up nothing (no summary of test services)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/unit/test_test_services.py",
         "-k", "exports_are_read"],
        cwd=REPO,
        env={**os.environ, "ETL_SERVICES_DIR": str(tmp_path / "services")},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    assert "test services" not in result.stdout
    assert not (tmp_path / "services").exists()
