"""The CLI contract without Spark: exit codes, machine-readable output, render, schema."""

from __future__ import annotations

import ast
import inspect
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from filelock import FileLock

from etl_cli import app
from etl_cli.cli.main import cli, main
from etl_cli.runtime.bookkeeping.lock import lock_path

from .clihelp import REPO, etl_cli

CORPUS = REPO / "tests" / "corpus" / "broken"


def test_validate_repository_pipelines_is_clean() -> None:
    result = etl_cli("validate", "pipelines", "--all-envs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s)" in result.stdout


def test_validate_json_lists_each_problem_with_its_place() -> None:
    result = etl_cli("validate", str(CORPUS / "unknown_input"), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["summary"]["errors"] == 1
    (diag,) = [d for d in report["results"][0]["diagnostics"] if d["severity"] == "error"]
    assert diag["file"].endswith("unknown_input/pipeline.yaml")
    assert (diag["line"], diag["column"]) == (8, 14)
    assert diag["hint"] == "did you mean 'orders'?"


def test_validate_reports_all_pipelines_of_a_folder_at_once() -> None:
    result = etl_cli("validate", str(CORPUS), "--format", "json")
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["summary"]["pipelines"] == len([p for p in CORPUS.iterdir() if p.is_dir()])


def test_validate_missing_path_is_a_usage_error() -> None:
    result = etl_cli("validate", "no/such/pipeline")
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr


def test_validate_unknown_option_is_a_usage_error() -> None:
    assert etl_cli("validate", "pipelines", "--frmat", "json").returncode == 2


def test_validate_unknown_env_is_a_usage_error_with_suggestion() -> None:
    result = etl_cli("validate", "pipelines/quickstart", "--env", "prd")
    assert result.returncode == 2
    assert "did you mean 'prod'?" in result.stderr


def test_validate_strict_fails_on_warnings(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        "sources:\n  - {name: a, type: csv, path: a.csv}\n  - {name: unused, type: csv, path: b.csv}\n"
        "sinks:\n  - {name: out, type: parquet, input: a, path: out}\n"
    )
    assert etl_cli("validate", str(pipeline)).returncode == 0
    assert etl_cli("validate", str(pipeline), "--strict").returncode == 1


def test_render_applies_the_overlay_and_interpolates() -> None:
    result = etl_cli(
        "render", "pipelines/quickstart", "--env", "prod", "--format", "json", env={"ETL_WAREHOUSE_DIR": "/wh"}
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["sinks"][0]["path"] == "/wh/quickstart/daily_revenue"
    assert doc["spark"]["conf"]["spark.sql.shuffle.partitions"] == 64


def test_render_explain_names_the_file_and_line_of_each_key() -> None:
    result = etl_cli("render", "pipelines/quickstart", "--env", "prod", "--explain")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert lines["spark.conf.spark.sql.shuffle.partitions"].endswith("pipelines/quickstart/env/prod.yaml:8:35")
    assert "pipelines/quickstart/pipeline.yaml" in lines["sources[orders_raw].type"]
    assert lines["sinks[daily_revenue_out].mode"].endswith("pipelines/quickstart/pipeline.yaml:81:11")


def test_render_keeps_secret_references_unresolved(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        "sources:\n  - {name: a, type: jdbc, url: 'jdbc:postgresql://db/x', table: t,"
        " password: '${secret:vault:db#pw}'}\n"
        "sinks:\n  - {name: out, type: parquet, input: a, path: out}\n"
    )
    result = etl_cli("render", str(pipeline))
    assert result.returncode == 0, result.stderr
    assert "${secret:vault:db#pw}" in result.stdout


def test_set_overrides_from_the_command_line() -> None:
    result = etl_cli("render", "pipelines/quickstart", "--set", "sinks.daily_revenue_out.mode=append", "-f", "json")
    assert json.loads(result.stdout)["sinks"][0]["mode"] == "append"


def test_render_of_invalid_pipeline_exits_1_with_diagnostics() -> None:
    result = etl_cli("render", str(CORPUS / "cycle"))
    assert result.returncode == 1
    assert "a -> b -> a" in result.stderr


def test_schema_command_prints_the_published_schema() -> None:
    result = etl_cli("schema")
    published = (REPO / "etl_cli" / "model" / "pipeline.schema.json").read_text()
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads(published)


def test_run_of_invalid_pipeline_exits_1_before_spark(tmp_path: Path) -> None:
    result = etl_cli("run", str(CORPUS / "unknown_input"))
    assert result.returncode == 1
    assert "unknown_input/pipeline.yaml:8:14" in result.stderr


def test_run_while_another_run_holds_the_lock_exits_5(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "quickstart", "dev")
    path.parent.mkdir(parents=True)
    with FileLock(str(path)).acquire(timeout=0):
        result = etl_cli("run", "pipelines/quickstart", env={"ETL_STATE_DIR": str(tmp_path)})
    assert result.returncode == 5
    assert "another run of pipeline 'quickstart'" in result.stderr


def test_run_without_java_says_so_and_how_to_fix_it(tmp_path: Path) -> None:
    python_dir = Path(shutil.which("python3") or "/usr/bin/python3").parent
    env = {"PATH": f"{tmp_path}:{python_dir}", "JAVA_HOME": ""}
    env_without_java = {k: v for k, v in {**os.environ, **env}.items() if k != "JAVA_HOME"}
    result = etl_cli("run", "pipelines/quickstart", env=env_without_java, in_process=False)  # a JVM of its own
    assert result.returncode == 4
    assert "Java was not found" in result.stderr
    assert "JAVA_HOME" in result.stderr


def test_version_and_module_entry_point() -> None:
    result = etl_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("etl-cli ")


def leaf_commands(command: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every command a user can run (``dlq count``, ``validate``...) with its click command."""
    command = command or typer.main.get_command(cli)
    children = getattr(command, "commands", None)
    if children is None:
        yield " ".join(path), command
        return
    for name, child in children.items():
        yield from leaf_commands(child, (*path, name))


def in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_every_command_but_schema_takes_debug_and_lists_it_in_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    with_debug = []
    for name, _ in leaf_commands():
        code, out, _ = in_process([*name.split(), "--help"], capsys)
        assert code == 0, name
        with_debug += [name] if "--debug  " in out and "Show tracebacks on errors." in out else []
    assert sorted(with_debug) == [
        "alerts export", "audit show", "audit verify",
        "backfill", "catalog list", "catalog search", "catalog show", "create-pipeline", "dag run", "dag show", "debug",
        "dlq count", "dlq replay", "dlq show", "dry-run", "engine start", "engine status", "engine stop", "export k8s",
        "generate", "init", "keys create", "keys list",
        "keys rotate", "lineage", "plugins list", "recover",
        "render", "run",
        "runs diff", "runs list", "runs report", "runs show", "schedule export", "schedule next", "secrets audit",
        "secrets get", "secrets list", "secrets set", "secrets test", "state reset", "state show",
        "streams list", "streams status", "streams stop", "studio", "submit",
        "table expire-snapshots", "table optimize", "table vacuum", "test", "validate",
    ]  # fmt: skip


def test_no_command_takes_a_debug_parameter_it_would_never_read() -> None:
    """main() decides from argv whether to show tracebacks, before any command parses its options."""
    taking_debug = [
        name for name, command in leaf_commands() if "debug" in inspect.signature(command.callback).parameters
    ]
    assert taking_debug == []


def test_debug_after_the_command_is_accepted_by_validate_and_run() -> None:
    assert etl_cli("validate", "pipelines/quickstart", "--debug").returncode == 0
    result = etl_cli("run", str(CORPUS / "unknown_input"), "--debug")
    assert result.returncode == 1, result.stderr
    assert "unknown_input/pipeline.yaml:8:14" in result.stderr


def _broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("broken on purpose")


def test_debug_shows_the_traceback_of_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ETL_DEBUG", raising=False)
    monkeypatch.setattr(app, "validate", _broken)
    code, _, err = in_process(["validate", str(REPO / "pipelines" / "quickstart"), "--debug"], capsys)
    assert code == 4
    assert "error: internal error: RuntimeError: broken on purpose" in err
    assert "Traceback (most recent call last)" in err


def test_without_debug_an_internal_error_names_the_option_instead_of_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ETL_DEBUG", raising=False)
    monkeypatch.setattr(app, "validate", _broken)
    code, _, err = in_process(["validate", str(REPO / "pipelines" / "quickstart")], capsys)
    assert code == 4
    assert "run again with --debug to see the traceback" in err
    assert "Traceback" not in err


CORE = ("etl_cli.config", "etl_cli.model", "etl_cli.plan", "etl_cli.runtime", "etl_cli.plugins", "etl_cli.secrets",
        "etl_cli.authoring")  # fmt: skip


def imports_at_run_time(tree: ast.AST) -> Iterator[str]:
    """Modules a file imports when it runs (imports under ``if TYPE_CHECKING:`` are for the type checker only)."""
    if isinstance(tree, ast.If) and isinstance(tree.test, ast.Name) and tree.test.id == "TYPE_CHECKING":
        return
    if isinstance(tree, ast.ImportFrom) and tree.module:
        yield tree.module
    elif isinstance(tree, ast.Import):
        yield from (alias.name for alias in tree.names)
    for child in ast.iter_child_nodes(tree):
        yield from imports_at_run_time(child)


def test_commands_reach_the_core_only_through_the_use_cases() -> None:
    """A command parses options, calls one function of app or usecases, and prints; nothing below that."""
    reaching = [
        f"{path.name}: {module}"
        for path in sorted((REPO / "etl_cli" / "cli").glob("*.py"))
        for module in imports_at_run_time(ast.parse(path.read_text(encoding="utf-8")))
        if module.startswith(CORE)
    ]
    assert reaching == []
