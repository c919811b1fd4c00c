"""``etl-cli state show|reset``: incremental watermarks shown, and one forgotten, never anything else.

The state files are written by RunState, as runs write them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_cli.cli.main import main
from etl_cli.runtime.bookkeeping.lock import run_lock
from etl_cli.runtime.bookkeeping.state import RunState, state_folder
from tests.ptyhelp import Terminal
from tests.unit.helpers import PROJECT, make_project

ORDERS = {"column": "updated_at", "value": "2026-11-30 23:59:00", "numeric": False}
CUSTOMERS = {"column": "id", "value": "4711", "numeric": True}


def save(state_dir: Path, pipeline: str, env: str, run_id: str, values: dict[str, dict[str, object]]) -> None:
    state = RunState(state_folder(state_dir, pipeline, env), run_id)
    for stage, value in values.items():
        state.save_on_success(stage, value)
    state.commit()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """shop in dev: orders and customers; shop in prod: orders; billing in dev: invoices."""
    monkeypatch.delenv("ETL_STATE_DIR", raising=False)
    monkeypatch.delenv("ETL_ENV", raising=False)
    make_project(tmp_path, project=PROJECT)
    state_dir = tmp_path / ".etl"
    save(state_dir, "shop", "dev", "run-1", {"orders": ORDERS, "customers": CUSTOMERS})
    save(state_dir, "shop", "prod", "run-2", {"orders": ORDERS})
    save(state_dir, "billing", "dev", "run-3", {"invoices": {"offset": 12}})
    return tmp_path


def state_files(project: Path) -> list[str]:
    return sorted(str(p.relative_to(project / ".etl")) for p in (project / ".etl").rglob("*") if p.is_file())


def etl(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_show_lists_every_pipeline_env_and_source(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = etl(["state", "show", "--project", str(project), "--format", "json"], capsys)

    assert code == 0, err
    shown = [(s["pipeline"], s["env"], s["source"], s["value"], s["run_id"]) for s in json.loads(out)["state"]]
    assert shown == [
        ("billing", "dev", "invoices", {"offset": 12}, "run-3"),
        ("shop", "dev", "customers", CUSTOMERS, "run-1"),
        ("shop", "dev", "orders", ORDERS, "run-1"),
        ("shop", "prod", "orders", ORDERS, "run-2"),
    ]


def test_show_of_one_pipeline_and_env_as_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = etl(["state", "show", "shop", "--env", "dev", "--project", str(project)], capsys)

    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["pipeline", "env", "source", "watermark", "saved", "at", "by", "run"]
    assert [row.split()[:6] for row in rows] == [
        ["shop", "dev", "customers", "id", "=", "4711"],
        ["shop", "dev", "orders", "updated_at", "=", "2026-11-30"],
    ]
    assert all(row.endswith("run-1") for row in rows)


def test_reset_forgets_that_state_file_and_nothing_else(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = state_files(project)

    code, out, err = etl(
        ["state", "reset", "shop", "orders", "--env", "dev", "--yes", "--project", str(project)], capsys
    )

    assert code == 0, err
    assert "forgot the saved state of source 'orders' of pipeline 'shop' (env dev)" in out
    kept = [f for f in before if f != "state/shop/dev/orders.json"]
    assert state_files(project) == sorted([*kept, "locks/shop.dev.lock"])  # the lock file every run leaves too


def test_reset_uses_the_project_default_env(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = etl(["state", "reset", "shop", "customers", "--yes", "--project", str(project)], capsys)

    assert code == 0, err
    assert not (project / ".etl" / "state" / "shop" / "dev" / "customers.json").exists()


def test_reset_without_a_terminal_needs_yes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = etl(["state", "reset", "shop", "orders", "--project", str(project)], capsys)

    assert code == 2
    assert "pass --yes" in err
    assert (project / ".etl" / "state" / "shop" / "dev" / "orders.json").is_file()


def test_reset_of_an_unknown_source_names_those_with_state(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = etl(["state", "reset", "shop", "payments", "--yes", "--project", str(project)], capsys)

    assert code == 2
    assert "source 'payments' of pipeline 'shop' has no saved state (env dev)" in err
    assert "sources with state: customers, orders" in err


def test_reset_of_a_pipeline_without_state_suggests_one(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = etl(["state", "reset", "shopp", "orders", "--yes", "--project", str(project)], capsys)

    assert code == 2
    assert "did you mean 'shop'?" in err


def test_reset_is_refused_while_a_run_holds_the_lock(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with run_lock(project / ".etl", "shop", "dev", "run-in-progress"):
        code, _, err = etl(["state", "reset", "shop", "orders", "--yes", "--project", str(project)], capsys)

    assert code == 5
    assert "run run-in-progress" in err
    assert (project / ".etl" / "state" / "shop" / "dev" / "orders.json").is_file()


def test_reset_in_a_terminal_asks_first(project: Path) -> None:
    terminal = Terminal("etl-cli", "state", "reset", "shop", "orders", cwd=project)
    terminal.expect("updated_at = 2026-11-30 23:59:00")
    terminal.expect("Forget it?")
    terminal.line("y")

    assert terminal.wait() == 0
    assert not (project / ".etl" / "state" / "shop" / "dev" / "orders.json").exists()


def test_reset_in_a_terminal_answered_no_changes_nothing(project: Path) -> None:
    terminal = Terminal("etl-cli", "state", "reset", "shop", "orders", cwd=project)
    terminal.expect("Forget it?")
    terminal.line("n")

    assert terminal.wait() == 2
    assert (project / ".etl" / "state" / "shop" / "dev" / "orders.json").is_file()
