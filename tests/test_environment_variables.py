"""The environment variables of docs/environment.md, each through the CLI: what it sets, and that an option wins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from etl_cli import app
from etl_cli.cli.main import cli, main
from etl_cli.errors import ExitCode
from etl_cli.events import Reporter
from tests.clihelp import REPO, etl_cli
from tests.ptyhelp import Terminal

QUICKSTART = str(REPO / "pipelines" / "quickstart")
BROKEN = str(REPO / "tests" / "corpus" / "broken" / "unknown_input")
#: an escape sequence that sets a colour (foreground 30-38, 90-97; background 40-48, 100-107), not bold or dim
COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9]+)*m")


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[app.RunOptions, Reporter]]:
    """Stands in for ``app.run``: records the options and reporter each ``etl-cli run`` passes, and logs one line."""
    recorded: list[tuple[app.RunOptions, Reporter]] = []

    def run(path: Path, options: app.RunOptions, reporter: Reporter) -> tuple[ExitCode, None]:
        recorded.append((options, reporter))
        reporter.message("info", "run recorded")
        return ExitCode.OK, None

    monkeypatch.setattr(app, "run", run)
    for name in ("ETL_MASTER", "ETL_RESULTS_DIR", "ETL_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    return recorded


def cli_run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    return int(exited.value.code or 0), capsys.readouterr().err


def test_etl_master_sets_the_spark_master_of_run(
    runs: list[tuple[app.RunOptions, Reporter]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ETL_MASTER", "spark://spark.internal:7077")
    assert cli_run(["run", QUICKSTART], capsys)[0] == 0
    assert runs[0][0].master == "spark://spark.internal:7077"


def test_the_master_option_wins_over_etl_master(
    runs: list[tuple[app.RunOptions, Reporter]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ETL_MASTER", "spark://spark.internal:7077")
    cli_run(["run", QUICKSTART, "--master", "local[1]"], capsys)
    assert runs[0][0].master == "local[1]"


def test_etl_results_dir_sets_where_run_results_go(
    runs: list[tuple[app.RunOptions, Reporter]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ETL_RESULTS_DIR", "/srv/etl/results")
    cli_run(["run", QUICKSTART], capsys)
    assert runs[0][0].results_dir == Path("/srv/etl/results")


def test_etl_log_format_json_makes_run_log_json_lines(
    runs: list[tuple[app.RunOptions, Reporter]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ETL_LOG_FORMAT", "json")
    code, err = cli_run(["run", QUICKSTART], capsys)
    assert code == 0
    assert '"event": "message"' in err and '"text": "run recorded"' in err


def test_an_invalid_etl_log_format_is_a_usage_error_naming_the_variable() -> None:
    result = etl_cli("run", QUICKSTART, env={"ETL_LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert "ETL_LOG_FORMAT" in result.stderr and "'xml' is not one of 'text', 'json'" in result.stderr


def commands_taking(option: str, command: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The words of each ``etl-cli`` command that has ``option``."""
    command = command or typer.main.get_command(cli)
    for name, child in getattr(command, "commands", {}).items():
        yield from commands_taking(option, child, (*path, name))
    if any(option in getattr(p, "opts", ()) for p in command.params):
        yield path


@pytest.mark.parametrize(
    ("option", "variable"), [("--master", "ETL_MASTER"), ("--results-dir", "ETL_RESULTS_DIR"),
                             ("--log-format", "ETL_LOG_FORMAT")],
)  # fmt: skip
def test_every_command_with_the_option_names_its_variable_in_help(
    option: str, variable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    without = []
    for words in commands_taking(option):
        with pytest.raises(SystemExit):
            main([*words, "--help"])
        if f"env var: {variable}" not in " ".join(capsys.readouterr().out.split()):  # help wraps lines
            without.append(" ".join(words))
    assert without == []


def test_etl_env_chooses_the_environment() -> None:
    result = etl_cli("validate", QUICKSTART, env={"ETL_ENV": "nosuch"})
    assert result.returncode == 2
    assert "unknown environment 'nosuch'" in result.stderr


def test_the_env_option_wins_over_etl_env() -> None:
    assert etl_cli("validate", QUICKSTART, "--env", "prod", env={"ETL_ENV": "nosuch"}).returncode == 0


def test_etl_debug_shows_tracebacks_as_the_debug_option_does() -> None:
    result = etl_cli("validate", "no/such/pipeline", env={"ETL_DEBUG": "1"})
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr


def test_without_etl_debug_an_error_has_no_traceback() -> None:
    result = etl_cli("validate", "no/such/pipeline", env={"ETL_DEBUG": ""})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_errors_are_coloured_on_a_terminal() -> None:
    terminal = Terminal("etl-cli", "validate", BROKEN, cwd=REPO, env={"NO_COLOR": ""})
    assert terminal.wait() == 1
    assert COLOUR.search(terminal.transcript.getvalue())


def test_no_color_turns_colours_off_on_a_terminal() -> None:
    terminal = Terminal("etl-cli", "validate", BROKEN, cwd=REPO, env={"NO_COLOR": "1"})
    assert terminal.wait() == 1
    assert "error" in terminal.screen
    assert COLOUR.findall(terminal.transcript.getvalue()) == []
