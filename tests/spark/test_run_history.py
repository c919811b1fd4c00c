"""End to end, with real ``etl-cli`` processes: a project from ``etl-cli init`` validates and runs at once, and
every finished run records itself in the run history, which never fails a run.

The example reads 5 orders (FR twice, DE twice, NL once) and writes one row per country: 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clihelp import etl_cli


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project made by ``etl-cli init``."""
    root = tmp_path_factory.mktemp("history") / "shop"
    done = etl_cli("init", str(root), env={"ETL_STATE_DIR": ""})
    assert done.returncode == 0, done.stderr
    return root


def cli(project: Path, *args: str) -> tuple[int, str, str]:
    done = etl_cli(*args, cwd=project, env={"ETL_STATE_DIR": "", "ETL_ENV": ""})
    return done.returncode, done.stdout, done.stderr


def test_the_new_project_validates_runs_and_records_the_run(project: Path) -> None:
    assert cli(project, "validate", "pipelines/example")[0] == 0
    code, _, err = cli(project, "run", "pipelines/example")
    assert code == 0, err
    results = json.loads((project / ".etl" / "runs" / "example" / "dev" / "latest.json").read_text())
    assert results["history"]["recorded"] is True  # by the run itself, before any `runs` command reads it

    _, out, _ = cli(project, "runs", "list", "--format", "json")
    (listed,) = json.loads(out)["runs"]
    outcome = [listed[key] for key in ("pipeline", "env", "status", "exit_code", "rows_written")]
    assert outcome == ["example", "dev", "success", 0, 3]
    _, out, _ = cli(project, "runs", "show", listed["run_id"], "--format", "json")
    stages = [(s["name"], s["rows_out"]) for s in json.loads(out)["stages"]]
    assert stages == [("orders", 5), ("per_country", 3), ("per_country_out", 3)]


def test_a_damaged_history_is_a_warning_and_the_run_succeeds(project: Path) -> None:
    history = project / ".etl" / "history.sqlite"
    history.parent.mkdir(exist_ok=True)
    history.write_bytes(b"not a database " * 100)

    code, _, err = cli(project, "run", "pipelines/example")

    assert code == 0, err
    assert "warning: run not recorded in the history" in err
    results = json.loads((project / ".etl" / "runs" / "example" / "dev" / "latest.json").read_text())
    assert results["status"] == "success"
    assert results["history"]["recorded"] is False
    assert "file is not a database" in results["history"]["warning"]
