"""``etl-cli secrets``: set from stdin, get masked, list, test and audit, without ever printing a value."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pexpect
import pytest

from etl_cli.cli.main import main
from etl_cli.config.project import load_project
from etl_cli.errors import UsageError
from etl_cli.secrets.resolver import SecretResolver
from etl_cli.usecases.secrets import parse_since
from tests.ptyhelp import default_interrupt
from tests.unit.helpers import write

REPO = Path(__file__).resolve().parents[2]
VALUE = "cli-secret-value-42"
PROJECT = """
    default_env: dev
    secrets:
      file: {key_file: keys/store.key}
      keyring: {backend: keyrings.alt.file.PlaintextKeyring, service: etl-cli-tests, allow_plaintext: true}
    environments:
      dev: {}
      prod: {protected: true}
"""
PIPELINE = """
    name: orders
    sources:
      - name: pg
        type: csv
        path: in.csv
        options:
          password: ${secret:file:warehouse#password}
          token: ${secret:keyring:api#token}
          other: ${secret:env:NOT_SET_ANYWHERE_42}
    sinks:
      - {name: out, type: parquet, input: pg, path: out/}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ETL_ENV", raising=False)
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)  # the audit log under this project
    write(tmp_path, "etl-project.yaml", PROJECT)
    write(tmp_path, "p/pipeline.yaml", PIPELINE)
    return tmp_path


def etl(args: list[str], capsys: pytest.CaptureFixture[str], stdin: str = "") -> tuple[int, str, str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exited:
            main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_set_reads_the_value_from_stdin_and_get_masks_it(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = etl(["secrets", "set", "file:warehouse#password", "-C", str(project)], capsys, VALUE + "\n")
    assert code == 0, err
    code, out, err = etl(["secrets", "get", "file:warehouse#password", "-C", str(project)], capsys)
    assert code == 0, err
    assert "file:warehouse#password: ********" in out
    assert VALUE not in out + err


def test_get_refuses_to_reveal_to_a_pipe(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etl(["secrets", "set", "keyring:api#token", "-C", str(project)], capsys, VALUE)
    code, out, err = etl(["secrets", "get", "keyring:api#token", "--reveal", "-C", str(project)], capsys)
    assert code == 2
    assert "refusing to reveal" in err
    assert VALUE not in out + err


def test_set_refuses_a_read_only_provider(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = etl(["secrets", "set", "env:X", "-C", str(project)], capsys, VALUE)
    assert code == 2
    assert "cannot write" in err


def test_set_refuses_an_empty_value(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = etl(["secrets", "set", "file:x", "-C", str(project)], capsys, "\n")
    assert code == 2
    assert "empty" in err


def test_test_reports_each_reference_and_fails_when_one_fails(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    etl(["secrets", "set", "file:warehouse#password", "-C", str(project)], capsys, VALUE)
    etl(["secrets", "set", "keyring:api#token", "-C", str(project)], capsys, VALUE + "-2")
    code, out, err = etl(["secrets", "test", str(project / "p"), "--format", "json"], capsys)
    assert code == 1, err
    results = {r["reference"]: r for r in json.loads(out)["results"]}
    assert results["file:warehouse#password"]["ok"] and results["keyring:api#token"]["ok"]
    failed = results["env:NOT_SET_ANYWHERE_42"]
    assert not failed["ok"] and "NOT_SET_ANYWHERE_42 is not set" in failed["error"]
    assert (failed["line"], failed["column"]) == (9, len("      other: ") + 1)
    assert VALUE not in out + err


def test_list_shows_references_and_stored_names(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etl(["secrets", "set", "file:warehouse#password", "-C", str(project)], capsys, VALUE)
    code, out, _ = etl(["secrets", "list", str(project / "p"), "-C", str(project), "--format", "json"], capsys)
    assert code == 0
    listing = json.loads(out)
    assert [u["reference"] for u in listing["references"]] == [
        "file:warehouse#password", "keyring:api#token", "env:NOT_SET_ANYWHERE_42",
    ]  # fmt: skip
    stored = {s["provider"]: s["names"] for s in listing["stored"]}
    assert stored["file"] == ["warehouse#password"]
    assert VALUE not in out


def test_audit_shows_accesses_filtered_by_provider(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    etl(["secrets", "set", "file:warehouse#password", "-C", str(project)], capsys, VALUE)
    etl(["secrets", "test", str(project / "p")], capsys)
    code, out, _ = etl(["secrets", "audit", "-C", str(project), "--provider", "file", "--format", "json"], capsys)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["outcome"] for r in records] == ["stored", "resolved"]
    assert records[1]["pipeline"] == "orders"
    code, out, _ = etl(["secrets", "audit", "-C", str(project), "--pipeline", "orders"], capsys)
    assert "not_found" in out and "env:NOT_SET_ANYWHERE_42" in out
    assert VALUE not in out


def test_since_accepts_dates_and_ages() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-02-01", now) == datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_since("yesterday", now)


def test_set_on_a_terminal_prompts_without_echo_and_confirms(project: Path) -> None:
    env = _terminal_env()
    args = ["-m", "etl_cli", "secrets", "set", "file:tty#password"]
    child = pexpect.spawn(sys.executable, args, cwd=str(project), env=env, timeout=30)
    child.logfile_read = screen = io.BytesIO()
    child.expect("Value: ")
    child.sendline(VALUE)
    child.expect("Repeat for confirmation: ")
    child.sendline(VALUE)
    child.expect(pexpect.EOF)
    child.close()
    shown = screen.getvalue().decode()
    assert child.exitstatus == 0, shown
    assert "stored file:tty#password" in shown
    assert VALUE not in shown
    assert SecretResolver.for_project(load_project(project), "dev").resolve("file:tty#password") == VALUE


def _terminal_env() -> dict[str, str]:
    """This environment with the repository first on PYTHONPATH (what was there stays: a tool running the tests
    may have put its own modules there)."""
    path = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), "NO_COLOR": "1"}


def _prompting_set(project: Path) -> tuple[pexpect.spawn, io.BytesIO]:
    """``secrets set`` on a terminal, stopped at its hidden ``Value:`` prompt."""
    env = _terminal_env()
    child = pexpect.spawn(sys.executable, ["-m", "etl_cli", "secrets", "set", "file:tty#password"], cwd=str(project),
                          env=env, timeout=30, preexec_fn=default_interrupt)  # fmt: skip
    child.logfile_read = screen = io.BytesIO()
    child.expect("Value: ")
    return child, screen


@pytest.mark.parametrize("stop", ["sendintr", "sendeof"], ids=["ctrl-c", "end-of-input"])
def test_stopping_at_the_set_prompt_ends_as_interrupted(project: Path, stop: str) -> None:
    child, screen = _prompting_set(project)
    getattr(child, stop)()
    child.expect(pexpect.EOF)
    child.close()
    shown = screen.getvalue().decode()
    assert child.exitstatus == 130, shown
    assert "interrupted" in shown
    assert "internal error" not in shown
