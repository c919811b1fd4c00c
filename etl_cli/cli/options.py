"""The options and arguments several commands share, declared once: one spelling, one help text.

``--debug`` is not a parameter of any command: :func:`etl_cli.cli.main.main` reads it from
argv, because the error boundary around the whole command line needs it, whichever command
ran and however far it got. :class:`TakesDebug` adds it to a command's options, so
``--debug`` is accepted after the command and listed in its ``--help``, without a parameter
nobody would read.

Every command is an :class:`EtlCommand` (``TakesDebug`` is one), whose help names values
as people read them (``PIPELINE``, ``PATH...``, ``FILE``, ``N``) instead of Python types.
Options a cron job or a shell profile would rather set once read an ``ETL_*`` environment
variable (``envvar=``); docs/environment.md lists them all.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from enum import Enum, StrEnum
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from etl_cli import __version__
from etl_cli.cli.completion import complete_env, complete_pipeline
from etl_cli.errors import UsageError


class TextOrJson(StrEnum):
    text = "text"
    json = "json"


class RenderFormat(StrEnum):
    yaml = "yaml"
    json = "json"


PipelineArg = Annotated[Path, typer.Argument(help="Pipeline file or folder.", autocompletion=complete_pipeline)]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        help="Environment whose overlay and settings apply (default: $ETL_ENV, then the project default).",
        autocompletion=complete_env,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a key: --set sinks.out.mode=append (repeatable).", metavar="KEY.PATH=VALUE"),
]
ProjectPathArg = Annotated[
    Path, typer.Argument(metavar="PATH", help="The project, or a folder or file in it (default: here).")
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        "-s",
        metavar="SELECTOR",
        help="Only these pipelines: name, name+, +name, tag:x, path:folder (repeatable; default all).",
    ),
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option("--exclude", metavar="SELECTOR", help="Leave these pipelines out (same syntax; repeatable)."),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="Give a parameter the pipeline declares under params: --param ds=2026-01-31 (repeatable).",
        metavar="NAME=VALUE",
    ),
]
MasterOpt = Annotated[
    str | None,
    typer.Option(
        "--master", help="Spark master, overriding the pipeline's spark.master.", metavar="URL", envvar="ETL_MASTER"
    ),
]
RemoteOpt = Annotated[
    str | None,
    typer.Option(
        "--remote",
        help="Run over this Spark Connect server (sc://host:port), overriding the pipeline's spark settings "
        "(needs the connect extra; docs/cluster.md).",
        metavar="URL",
        envvar="ETL_REMOTE",
    ),
]


def spark_target(master: str | None, remote: str | None) -> str | None:
    """Where ``--master`` or ``--remote`` says to run (a ``sc://`` URL is a Spark Connect server); None: neither."""
    if remote is None:
        return master
    if master is not None:
        raise UsageError("--master and --remote cannot be used together: choose a Spark master or a Connect server")
    if not remote.startswith("sc://"):
        raise UsageError(f"--remote {remote}: a Spark Connect URL starts with sc:// (sc://host:port)")
    return remote


VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show Spark's own log output.")]
AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="NAME",
        help="Read as this principal: the project's access rules filter source rows for it "
        "(else $ETL_PRINCIPAL, else the OS user).",
    ),
]
FormatOpt = Annotated[TextOrJson, typer.Option("--format", "-f", help="text for people, json for scripts.")]
LogFormatOpt = Annotated[
    TextOrJson,
    typer.Option("--log-format", help="text for people, json for log collectors.", envvar="ETL_LOG_FORMAT"),
]
LogFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--log-file",
        help="Append the run's log lines (as --log-format writes them) to this file too; a new file is made "
        "readable by its owner only.",
    ),
]
ResultsDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--results-dir", help="Where to write the run-results JSON (default .etl/runs/...).", envvar="ETL_RESULTS_DIR"
    ),
]

ConfirmEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--confirm-env",
        metavar="ENV",
        help="Confirm a run into a protected environment: ENV must be its name (recorded in the audit trail).",
    ),
]

#: Path options whose value is a folder (``--project``, ``--dir``, ``--results-dir``); other Path options take a file
_FOLDER_WORDS = ("dir", "project")


class EtlCommand(TyperCommand):
    """What every etl-cli command shares: help that names values by what they are, and completion of a value
    that sees the arguments before it.

    Help: Typer's plain help (``rich_markup_mode=None``, which etl-cli uses so
    help stays plain text in pipes and logs) prints each parameter's Python type after every
    option that has no metavar and after every argument (``--env <str>``, ``--limit <int range>``,
    ``PATH... <list[Path]>``), and writes arguments in the usage line as ``{pipeline}`` or
    ``{PATH...}...``. Here every parameter without a metavar gets one made from its annotation
    and name (:func:`readable_metavar`), and the usage line and the argument list are written
    from the metavars, for every command at once.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        annotations = _annotations(self.callback)
        for param in self.params:
            if param.metavar is None and not _is_flag(param):
                param.metavar = readable_metavar(param, annotations.get(param.name or ""))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Completion: an option still waiting for its value (``--stage`` Tab) ends the words, and click's parser
        stops there and drops the arguments before it, the pipeline whose stages ``--stage`` offers."""
        if ctx.resilient_parsing and args and self._takes_value(ctx, args[-1]):
            args = args[:-1]
        return super().parse_args(ctx, args)

    def _takes_value(self, ctx: Any, word: str) -> bool:
        return any(
            word in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ())) and not _is_flag(p)
            for p in self.get_params(ctx)
            if p.param_type_name == "option"
        )

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        arguments = [p for p in self.get_params(ctx) if p.param_type_name == "argument"]
        return [*([self.options_metavar] if self.options_metavar else []), *map(_usage_piece, arguments)]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append((_value_name(param), record[1]))
            else:
                options.append(record)
        for title, records in (("Arguments", arguments), ("Options", options)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


def readable_metavar(param: Any, annotation: Any) -> str:
    """What ``--help`` calls a parameter's value: its choices, ``N``, ``FILE``/``DIR``, else its name in capitals."""
    base = _base_type(annotation)
    if isinstance(base, type) and issubclass(base, Enum):
        return "|".join(str(member.value) for member in base)
    if base in (int, float):
        return "N"
    name = _long_name(param)
    if base is Path and param.param_type_name == "option":
        return "DIR" if any(name == w or name.endswith(f"_{w}") for w in _FOLDER_WORDS) else "FILE"
    return name.upper()


def _annotations(callback: Callable[..., Any] | None) -> dict[str, Any]:
    if callback is None:
        return {}
    try:
        return typing.get_type_hints(callback)
    except (NameError, TypeError):  # an annotation that cannot be evaluated here: names alone decide
        return {}


def _base_type(annotation: Any) -> Any:
    """``Path`` of ``Path | None``, ``str`` of ``list[str] | None``: the type one value has."""
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        members = [a for a in typing.get_args(annotation) if a is not NoneType]
        annotation = members[0] if len(members) == 1 else annotation
    if typing.get_origin(annotation) in (list, tuple):
        annotation = typing.get_args(annotation)[0]
    return annotation


def _long_name(param: Any) -> str:
    """``break_at`` for ``--break-at``, ``run`` for ``--run`` (whatever the Python parameter is called)."""
    longs = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
    return longs[0][2:].replace("-", "_") if longs else str(param.name)


def _is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False) or getattr(param, "count", False))


def _value_name(param: Any) -> str:
    name = str(param.metavar or str(param.name).upper())
    return name if param.nargs == 1 or name.endswith("...") else f"{name}..."


def _usage_piece(param: Any) -> str:
    return _value_name(param) if param.required else f"[{_value_name(param)}]"


def _carried_option(carrier: Callable[..., None]) -> Any:
    """The click option Typer makes of ``carrier``'s one parameter, to add to commands that do not declare it."""
    holder = typer.Typer()
    holder.command()(carrier)
    return typer.main.get_command(holder).params[0]


def _debug_carrier(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks on errors. ETL_DEBUG=1 does the same.", expose_value=False),
    ] = False,
) -> None:
    """Never called: Typer turns its one parameter into the click option :class:`TakesDebug` adds."""


def _print_version(ctx: typer.Context, value: bool) -> None:
    if value:
        print(f"{ctx.find_root().info_name} {__version__}")
        raise typer.Exit()


def _version_carrier(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, expose_value=False, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Never called: Typer turns its one parameter into the click option :class:`TakesVersion` adds."""


_DEBUG = _carried_option(_debug_carrier)
_VERSION = _carried_option(_version_carrier)


class TakesDebug(EtlCommand):
    """A command that accepts ``--debug`` (main() acts on it) as its last option: ``cli.command(cls=TakesDebug)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = [*self.params, _DEBUG]


class TakesVersion(TakesDebug):
    """The command of a program that is one command (``etl-debug``): ``--version`` too, as ``etl-cli`` has."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = [*self.params, _VERSION]
