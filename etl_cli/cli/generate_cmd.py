"""``etl-cli generate``: seeded data for a pipeline's sources (use case in :mod:`etl_cli.usecases.generate`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from etl_cli.cli.options import EnvOpt, MasterOpt, ParamOpt, PipelineArg, SetOpt
from etl_cli.errors import UsageError

DEFAULT_ROWS = 100


class DataFormat(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"


class EngineChoice(StrEnum):
    auto = "auto"
    python = "python"
    spark = "spark"


def generate_command(
    pipeline: PipelineArg,
    sources: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            metavar="NAME",
            help="Generate for this source (repeatable; default: every source with a declared schema or contract).",
        ),
    ] = None,
    rows: Annotated[
        list[str] | None,
        typer.Option(
            "--rows",
            "-n",
            metavar="N|SOURCE=N",
            help="Rows per source (default 100); SOURCE=N for one source (repeatable).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same rows.")] = 0,
    data_format: Annotated[
        DataFormat | None,
        typer.Option("--format", help="File format (default: the source's own; csv with --output for other sources)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Write DIR/<source>.<format> instead of the path each source reads.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace existing data (a file, or a folder etl-cli generate wrote)."),
    ] = False,
    engine: Annotated[
        EngineChoice,
        typer.Option("--engine", help="auto: Spark for Parquet or more than 100,000 rows, else this process."),
    ] = EngineChoice.auto,
    env: EnvOpt = None,
    sets: SetOpt = None,
    params: ParamOpt = None,
    master: MasterOpt = None,
) -> None:
    """Write seeded, reproducible data for a pipeline's sources from their schemas, contracts and checks."""
    from etl_cli.usecases.generate import GenerateOptions, generate

    counts = _row_counts(rows or [])
    options = GenerateOptions(
        sources=tuple(sources or ()),
        rows=counts.get("", DEFAULT_ROWS),
        rows_by_source=tuple((name, n) for name, n in counts.items() if name),
        seed=seed,
        format=data_format.value if data_format else None,
        output=output,
        force=force,
        engine=engine.value,
        env=env,
        sets=tuple(sets or ()),
        params=tuple(params or ()),
        master=master,
    )
    for done in generate(pipeline, options):
        print(f"{done.source}: {done.rows} rows -> {_shown(done.path)} ({done.format}, {done.engine})")


def _row_counts(given: list[str]) -> dict[str, int]:
    """``--rows`` values by source name ("" for the plain ``N``); the last one given for a name wins."""
    counts: dict[str, int] = {}
    for text in given:
        name, _, number = text.rpartition("=")
        if not number.isdigit():
            raise UsageError(f"--rows {text}: expected a count N or SOURCE=N (N a whole number, 0 or more)")
        counts[name.strip()] = int(number)
    return counts


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it lies inside it, as the user would type it."""
    absolute = path.absolute()
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(path)
