"""The options and arguments several commands share, declared once: one spelling, one help text.

``--debug`` is not a parameter of any command: :func:`etl_cli.cli.main.main` reads it from
argv, because the error boundary around the whole command line needs it, whichever command
ran and however far it got. :class:`TakesDebug` adds it to a command's options, so
``--debug`` is accepted after the command and listed in its ``--help``, without a parameter
nobody would read.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand


class TextOrJson(StrEnum):
    text = "text"
    json = "json"


class RenderFormat(StrEnum):
    yaml = "yaml"
    json = "json"


PipelineArg = Annotated[Path, typer.Argument(help="Pipeline file or folder.")]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        help="Environment whose overlay and settings apply (default: $ETL_ENV, then the project default).",
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a key: --set sinks.out.mode=append (repeatable).", metavar="KEY.PATH=VALUE"),
]
MasterOpt = Annotated[
    str | None, typer.Option("--master", help="Spark master, overriding the pipeline's spark.master.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show Spark's own log output.")]
FormatOpt = Annotated[TextOrJson, typer.Option("--format", "-f", help="text for people, json for scripts.")]
LogFormatOpt = Annotated[TextOrJson, typer.Option("--log-format", help="text for people, json for log collectors.")]
ResultsDirOpt = Annotated[
    Path | None, typer.Option("--results-dir", help="Where to write the run-results JSON (default .etl/runs/...).")
]


def _debug_carrier(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.", expose_value=False)] = False,
) -> None:
    """Never called: Typer turns its one parameter into the click option :class:`TakesDebug` adds."""


def _debug_option() -> Any:
    carrier = typer.Typer()
    carrier.command()(_debug_carrier)
    return typer.main.get_command(carrier).params[0]


_DEBUG = _debug_option()


class TakesDebug(TyperCommand):
    """A command that accepts ``--debug`` (main() acts on it) as its last option: ``cli.command(cls=TakesDebug)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = [*self.params, _DEBUG]
