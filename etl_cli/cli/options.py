"""Options shared by dry-run, debug and create-pipeline (the same meaning as in the other commands)."""

from __future__ import annotations

from typing import Annotated

import typer

EnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment overlay to apply (default: $ETL_ENV, then the project default)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a key: --set sinks.out.mode=append (repeatable).", metavar="KEY.PATH=VALUE"),
]
MasterOpt = Annotated[
    str | None, typer.Option("--master", help="Spark master, overriding the pipeline's spark.master.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show Spark's own log output.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
