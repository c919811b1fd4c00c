"""``etl-cli run --log-file``: the run's lines reach the file as well as the console, and no secret reaches either.

The pipeline reads a JDBC source whose URL carries a secret as the value of ``sslmode``: the
PostgreSQL driver refuses it before connecting ("Invalid sslmode value: <the value>"), so
the secret is in the text of the retry, the failed stage and the run's error, and only
masking keeps it out. Nothing listens on port 1, and the driver never gets that far.
"""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clihelp import etl_cli
from tests.unit.helpers import write

SECRET = "Sslm0de-value-that-must-stay-hidden"
PIPELINE = """\
name: leaky
spark: {master: "local[1]"}
retry: {attempts: 2, initial_delay: 0.1, max_delay: 0.1, jitter: 0}
sources:
  - name: accounts
    type: jdbc
    url: "jdbc:postgresql://127.0.0.1:1/nowhere?sslmode=${secret:env:ETL_LOG_TEST_SECRET}"
    table: accounts
    user: etl
    password: ${secret:env:ETL_LOG_TEST_SECRET}
sinks:
  - {name: out, type: parquet, input: accounts, path: out}
"""
MASKED = "Invalid sslmode value: ********"


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ETL_STATE_DIR": str(root / "state"), "ETL_LOG_TEST_SECRET": SECRET}
    return etl_cli("run", "leaky", "--log-file", "run.log", *args, env=env, cwd=root)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[subprocess.CompletedProcess[str]]]]:
    """The same failing run twice into one log file: first with JSON lines, then with text."""
    root = tmp_path_factory.mktemp("logged")
    write(root, "etl-project.yaml", "name: logged\n")
    write(root, "leaky/pipeline.yaml", PIPELINE)
    yield root, [run(root, "--log-format", "json"), run(root)]


def json_part(root: Path) -> list[str]:
    lines = (root / "run.log").read_text().splitlines()
    return [line for line in lines if line.startswith("{")]


def test_both_runs_fail_at_the_source(runs: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    _, results = runs
    assert [r.returncode for r in results] == [4, 4], results[-1].stderr
    assert all(MASKED in r.stderr for r in results)


def test_the_log_file_holds_the_console_json_lines_then_the_error(
    runs: tuple[Path, list[subprocess.CompletedProcess[str]]],
) -> None:
    root, results = runs
    console = [line for line in results[0].stderr.splitlines() if line.startswith("{")]
    in_file = json_part(root)
    assert in_file[:-1] == console
    error = json.loads(in_file[-1])
    assert (error["event"], error["level"], error["stage"]) == ("message", "error", None)
    assert error["text"].startswith("source 'accounts' (jdbc) failed") and MASKED in error["text"]


def test_every_json_line_names_run_pipeline_and_env(
    runs: tuple[Path, list[subprocess.CompletedProcess[str]]],
) -> None:
    root, _ = runs
    events = [json.loads(line) for line in json_part(root)]
    assert len({e["run_id"] for e in events}) == 1
    assert {(e["pipeline"], e["env"]) for e in events} == {("leaky", None)}
    assert [e["stage"] for e in events if e["event"] == "retrying"] == ["accounts"]


def test_the_text_run_appends_its_lines(runs: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    root, _ = runs
    text = (root / "run.log").read_text()
    tail = text.splitlines()[len(json_part(root)) :]
    assert tail[0].startswith("run ") and tail[0].endswith(" · pipeline leaky · env default · 2 stages")
    errors = [line for line in tail if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: source 'accounts' (jdbc) failed") and MASKED in errors[0]


def test_no_secret_reaches_the_log_file_or_the_console(
    runs: tuple[Path, list[subprocess.CompletedProcess[str]]],
) -> None:
    root, results = runs
    assert SECRET not in (root / "run.log").read_text()
    assert all(SECRET not in r.stdout + r.stderr for r in results)


def test_the_log_file_is_readable_by_its_owner_only(runs: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    root, _ = runs
    assert stat.S_IMODE((root / "run.log").stat().st_mode) == 0o600
