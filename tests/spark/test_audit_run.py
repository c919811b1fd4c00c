"""End to end, with real ``etl-cli`` processes: a run into a protected environment needs ``--confirm-env``,
and every run leaves one audit record saying who ran it, where, on which data, with what outcome.

The project is ``etl-cli init``'s (prod is protected); its example reads 5 orders and writes 3 rows.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from tests.clihelp import etl_cli


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audit") / "shop"
    done = etl_cli("init", str(root), env={"ETL_STATE_DIR": ""})
    assert done.returncode == 0, done.stderr
    return root


def cli(project: Path, *args: str) -> tuple[int, str, str]:
    done = etl_cli(*args, cwd=project, env={"ETL_STATE_DIR": "", "ETL_ENV": "", "ETL_PRINCIPAL": "alice"})
    return done.returncode, done.stdout, done.stderr


def trail(project: Path) -> list[dict[str, object]]:
    text = (project / ".etl" / "audit" / "trail.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_a_confirmed_run_into_prod_is_recorded_with_who_what_where_and_the_data(project: Path) -> None:
    code, _, err = cli(project, "run", "pipelines/example", "--env", "prod")
    assert code == 2
    assert "needs --confirm-env prod" in err
    assert not (project / "output").exists()

    code, _, err = cli(project, "run", "pipelines/example", "--env", "prod", "--confirm-env", "prod")
    assert code == 0, err

    refused, record = trail(project)
    results = json.loads((project / ".etl" / "runs" / "example" / "prod" / "latest.json").read_text())
    assert (refused["outcome"], refused["exit_code"], refused["environment"]) == ("refused", 2, "prod")
    user = getpass.getuser()
    assert (record["user"], record["principal"]) == (user, "alice")
    assert (record["command"], record["pipeline"], record["environment"]) == ("run", "example", "prod")
    assert (record["run_id"], record["outcome"], record["exit_code"]) == (results["run_id"], "success", 0)
    assert record["confirmation"]["by"] == user
    assert record["confirmation"]["flag"] == "--confirm-env prod"
    source = project / "pipelines" / "example" / "data" / "orders.csv"
    sink = project / "output" / "example" / "per_country"
    read = {"stage": "orders", "type": "csv", "dataset": f"file/{source}", "status": "ok", "rows": 5}
    written = {"stage": "per_country_out", "type": "parquet", "dataset": f"file/{sink}", "status": "ok", "rows": 3}
    assert record["datasets"] == {"read": [read], "written": [written]}
    assert record["secrets"] == []
    assert record["prev"] == refused["hash"]
    assert results["audit"]["seq"] == record["seq"] == 2
    assert results["audit"]["hash"] == record["hash"]

    code, out, err = cli(project, "audit", "verify")
    assert code == 0, err
    assert "2 record(s)" in out
    code, out, _ = cli(project, "audit", "show", "--since", "1h")
    assert "confirmed by" in out and "read=1 written=1" in out


def test_a_run_in_dev_needs_no_confirmation_and_is_recorded_too(project: Path) -> None:
    before = len(trail(project))
    code, _, err = cli(project, "run", "pipelines/example")
    assert code == 0, err
    record = trail(project)[-1]
    assert len(trail(project)) == before + 1
    assert (record["environment"], record["outcome"], record["confirmation"]) == ("dev", "success", None)
