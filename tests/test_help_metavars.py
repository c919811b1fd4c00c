"""``--help`` names values as people read them (``PIPELINE``, ``PATH...``, ``FILE``, ``N``), never as Python types."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from etl_cli.cli.main import cli, main
from tests.ptyhelp import script

#: what Typer's plain help printed for a value: ``<str>``, ``<path>``, ``<list[Path]>``, ``<int range>``,
#: ``<text|json>`` after options and arguments, ``{pipeline}`` or ``{PATH...}...`` in usage lines
PYTHON_TYPE = re.compile(
    r"<(?:str|int|float|bool|path|file|directory|datetime|uuid|(?:int|float) range|\w+(?:\|\w+)+)>"
    r"|\b(?:list|dict|tuple)\[|\{\w+(?:\.\.\.)?\}|\bNoneType\b"
)


def every_command(command: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The words that reach each command and group of ``etl-cli``: (), ("secrets",), ("secrets", "set")..."""
    command = command or typer.main.get_command(cli)
    yield path
    for name, child in getattr(command, "commands", {}).items():
        yield from every_command(child, (*path, name))


def help_of(words: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*words, "--help"])
    out, err = capsys.readouterr()
    assert exited.value.code == 0, err
    return out


def test_no_help_of_any_etl_cli_command_shows_a_python_type(capsys: pytest.CaptureFixture[str]) -> None:
    leaking = {
        " ".join(words) or "etl-cli": PYTHON_TYPE.findall(text)
        for words in every_command()
        if PYTHON_TYPE.search(text := help_of(words, capsys))
    }
    assert leaking == {}


def test_the_help_of_etl_debug_shows_no_python_type() -> None:
    result = subprocess.run([script("etl-debug"), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert PYTHON_TYPE.findall(result.stdout) == []
    assert "Usage: etl-debug [OPTIONS] PIPELINE" in result.stdout


@pytest.mark.parametrize(
    ("words", "usage"),
    [
        (("validate",), "Usage: etl-cli validate [OPTIONS] PATH...\n"),
        (("run",), "Usage: etl-cli run [OPTIONS] PIPELINE\n"),
        (("secrets", "set"), "Usage: etl-cli secrets set [OPTIONS] REFERENCE\n"),
        (("secrets", "list"), "Usage: etl-cli secrets list [OPTIONS] [PIPELINE]\n"),
        (("dlq", "replay"), "Usage: etl-cli dlq replay [OPTIONS] PIPELINE\n"),
    ],
)
def test_usage_lines_name_arguments_without_brackets_for_required_ones(
    words: tuple[str, ...], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert help_of(words, capsys).startswith(usage)


@pytest.mark.parametrize(
    ("words", "entry"),
    [
        (("validate",), "  PATH...  "),
        (("run",), "  PIPELINE  "),
        (("run",), "  --master URL  "),
        (("run",), "  --results-dir DIR  "),
        (("run",), "  --log-format text|json  "),
        (("run",), "  -e, --env ENV  "),
        (("run",), "  --set KEY.PATH=VALUE  "),
        (("debug",), "  --limit N  "),
        (("debug",), "  --break-at STAGE  "),
        (("debug",), "  --stage STAGE  "),
        (("schema",), "  -o, --output FILE  "),
        (("secrets", "get"), "  -C, --project DIR  "),
        (("dlq", "replay"), "  --rows FILE  "),
        (("create-pipeline",), "  --answer KEY=VALUE  "),
    ],
)
def test_arguments_and_options_are_listed_with_a_readable_value_name(
    words: tuple[str, ...], entry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert entry in help_of(words, capsys)


def test_a_missing_argument_is_named_as_in_the_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run"])
    assert exited.value.code == 2
    assert "Missing argument 'PIPELINE'" in capsys.readouterr().err
