"""Plain option values are converted without pydantic, exactly as Typer converts them (etl_cli/cli/coercion.py).

Each case runs one probe command twice, once with Typer's own conversion and once with
:func:`convert_plainly` applied, and expects the same outcome: the values the command received
(their types included), or the same usage error with the same message.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer

from etl_cli.cli.coercion import PlainValues, convert_plainly
from etl_cli.cli.main import CLICK_EXCEPTION


class Shade(StrEnum):
    light = "light"
    dark = "dark"


def probe(
    paths: Annotated[list[Path], typer.Argument()],
    name: Annotated[str, typer.Option("--name")] = "x",
    where: Annotated[Path | None, typer.Option("--where")] = None,
    shade: Annotated[Shade, typer.Option("--shade")] = Shade.light,
    sets: Annotated[list[str] | None, typer.Option("--set")] = None,
    flag: Annotated[bool, typer.Option("--flag")] = False,
    count: Annotated[int, typer.Option("--count", min=1)] = 1,
    existing: Annotated[Path | None, typer.Option("--existing", exists=True)] = None,
) -> None:
    print(repr((paths, name, where, shade, sets, flag, count, existing)))


def command(plain: bool) -> Any:
    holder = typer.Typer(rich_markup_mode=None, add_completion=False)
    holder.command()(probe)
    built = typer.main.get_command(holder)
    if plain:
        convert_plainly(built, built.context_class(built, info_name="probe"))
    return built


CASES = [
    ["a"],
    ["a", "b/c", "", "-"],
    ["a", "--name", "n", "--where", "w/x", "--shade", "dark", "--set", "k=v", "--set", "k2=v2", "--flag"],
    ["a", "--shade", "DARK"],
    ["a", "--shade", "dim"],
    ["a", "--count", "3"],
    ["a", "--count", "0"],
    ["a", "--count", "many"],
    ["a", "--existing", "/no/such/file"],
    ["a", "--existing", "."],
    [],
]


def outcome(argv: list[str], plain: bool, capsys: pytest.CaptureFixture[str]) -> tuple[str, ...]:
    try:
        command(plain).main(argv, prog_name="probe", standalone_mode=False)
    except CLICK_EXCEPTION as exc:
        return "usage error", type(exc).__name__, exc.format_message()
    return "ran", capsys.readouterr().out


@pytest.mark.parametrize("argv", CASES, ids=lambda argv: " ".join(argv) or "(none)")
def test_plain_conversion_gives_what_typer_gives(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert outcome(argv, True, capsys) == outcome(argv, False, capsys)


def test_every_parameter_and_the_help_option_get_the_plain_conversion() -> None:
    built = command(plain=True)
    converted = [*built.params, built._help_option]
    assert [type(param._runtime_param) for param in converted] == [PlainValues] * 9


def test_a_conversion_typer_built_already_is_kept() -> None:
    built = command(plain=False)
    typer_built = built.params[0].get_runtime_param()
    convert_plainly(built, built.context_class(built, info_name="probe"))
    assert built.params[0]._runtime_param is typer_built
