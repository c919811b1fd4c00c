"""``dlq replay`` and ``debug --write`` write into sinks: into a protected environment they need ``--confirm-env``
as ``run`` does, and a refusal is recorded in the audit trail. These tests stop before Spark starts."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from etl_cli import app
from etl_cli.config.project import load_project
from etl_cli.runtime.bookkeeping.audit_trail import read_lines, session_record, trail_path
from tests.clihelp import etl_cli

PROJECT = "name: shop\nenvironments: {dev: {}, prod: {protected: true}}\n"
PIPELINE = """\
name: orders
sources:
  - {name: raw, type: csv, path: data/orders.csv, schema: "id INT, amount DOUBLE", on_malformed: dead_letter}
sinks:
  - {name: out, type: parquet, input: raw, path: out/orders}
dead_letter: {type: json, path: dlq}
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "etl-project.yaml").write_text(PROJECT)
    (tmp_path / "pipelines" / "orders").mkdir(parents=True)
    (tmp_path / "pipelines" / "orders" / "pipeline.yaml").write_text(PIPELINE)
    return tmp_path


def trail(root: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in read_lines(trail_path(root / ".etl"))]


def cli(root: Path, *args: str) -> tuple[int, str]:
    done = etl_cli(*args, cwd=root, env={"ETL_STATE_DIR": str(root / ".etl"), "ETL_PRINCIPAL": "alice"})
    return done.returncode, done.stderr


def test_a_dlq_replay_into_a_protected_environment_needs_the_flag_and_a_refusal_is_recorded(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, err = cli(root, "dlq", "replay", "pipelines/orders", "--env", "prod", "--run", "r1")
    assert code == 2, err
    assert "environment 'prod' is protected: dlq replay into it needs --confirm-env prod" in err
    code, err = cli(root, "dlq", "replay", "pipelines/orders", "--env", "prod", "--run", "r1", "--confirm-env", "dev")
    assert code == 2, err
    assert "--confirm-env dev does not match the environment of this dlq replay: prod" in err
    records = trail(root)
    assert [(r["command"], r["outcome"], r["environment"], r["pipeline"]) for r in records] == [
        ("dlq replay", "refused", "prod", "orders"),
        ("dlq replay", "refused", "prod", "orders"),
    ]
    assert (records[0]["principal"], records[0]["exit_code"]) == ("alice", 2)


def test_a_confirmed_dlq_replay_goes_on_to_its_own_checks(tmp_path: Path) -> None:
    root = project(tmp_path)
    # confirmed: the replay goes past the confirmation and stops at its next check (no run chosen), before Spark
    code, err = cli(root, "dlq", "replay", "pipelines/orders", "--env", "prod", "--confirm-env", "prod")
    assert code == 2, err
    assert "say which run's dead letters to replay with --run RUN_ID" in err
    # dev is not protected: no flag needed
    code, err = cli(root, "dlq", "replay", "pipelines/orders", "--env", "dev")
    assert code == 2, err
    assert "say which run's dead letters to replay" in err
    assert trail(root) == []


def test_debug_write_into_a_protected_environment_needs_the_flag_and_a_refusal_is_recorded(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, err = cli(root, "debug", "pipelines/orders", "--env", "prod", "--write", "--non-interactive")
    assert code == 2, err
    assert "environment 'prod' is protected: debug --write into it needs --confirm-env prod" in err
    # without --write nothing is written, but a --confirm-env naming another environment is refused all the same
    code, err = cli(root, "debug", "pipelines/orders", "--env", "prod", "--confirm-env", "dev", "--non-interactive")
    assert code == 2, err
    assert "--confirm-env dev does not match the environment of this debug: prod" in err
    assert [(r["command"], r["outcome"]) for r in trail(root)] == [
        ("debug --write", "refused"),
        ("debug", "refused"),
    ]


def test_a_confirmed_debug_write_session_record_says_who_confirmed_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    _, spec = app.load_spec(root / "pipelines" / "orders", "prod")
    options = app.DebugOptions(env="prod", write=True, confirm_env="prod")
    confirmation = app._confirmed_write(spec, options, "debug --write", "r1")
    assert confirmation is not None
    record = session_record(spec, "debug --write", "r1", None, confirmation)
    assert record["confirmation"] == {
        "env": "prod",
        "by": getpass.getuser(),
        "at": confirmation.at,
        "flag": "--confirm-env prod",
    }
    # reading only (no --write) needs no confirmation, protected or not
    assert app._confirmed_write(spec, app.DebugOptions(env="prod"), "debug", "r2") is None
    assert not trail_path(load_project(root).run_state_dir()).exists()
