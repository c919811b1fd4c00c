"""``etl-cli lineage``: column-level lineage of a pipeline or a project, computed offline (use case in
:mod:`etl_cli.usecases.lineage`; the model and the ``--column`` spellings in docs/lineage.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from etl_cli.cli.completion import complete_pipeline
from etl_cli.cli.options import EnvOpt, SetOpt
from etl_cli.errors import UsageError
from etl_cli.lineage.listing import listing
from etl_cli.lineage.render import page_heading, render
from etl_cli.usecases.lineage import Direction, LineageRequest, LineageResult, lineage


class LineageFormat(StrEnum):
    """``--format`` of ``etl-cli lineage``, the one list of them: each has its writer in :data:`WRITERS`."""

    text = "text"
    json = "json"
    mermaid = "mermaid"
    dot = "dot"
    html = "html"


def _picture(fmt: str) -> Callable[[LineageResult], str]:
    """A writer that draws the result in ``fmt`` (etl_cli/lineage/render.py), titled by what was asked."""

    def draw(result: LineageResult) -> str:
        return render(result.graph, fmt, heading=page_heading(result.pipelines, result.column, result.direction))

    return draw


#: how each format writes the result (what is printed, with its final newline)
WRITERS: dict[LineageFormat, Callable[[LineageResult], str]] = {
    LineageFormat.text: lambda result: listing(result.graph, result.column, result.direction),
    LineageFormat.json: lambda result: json.dumps(result.graph.to_dict(), indent=2) + "\n",
    LineageFormat.mermaid: _picture("mermaid"),
    LineageFormat.dot: _picture("dot"),
    LineageFormat.html: _picture("html"),
}

TargetArg = Annotated[
    Path,
    typer.Argument(
        help="A pipeline (its file or folder), or a project folder: every pipeline under it, joined through "
        "the datasets one writes and another reads.",
        autocompletion=complete_pipeline,
        metavar="PIPELINE|PROJECT_DIR",
    ),
]
ColumnOpt = Annotated[
    str | None,
    typer.Option(
        "--column",
        "-c",
        help="Only this column's lineage: PIPELINE.STAGE.COLUMN, STAGE.COLUMN or DATASET.COLUMN (docs/lineage.md).",
        metavar="DATASET.COLUMN",
    ),
]
UpstreamOpt = Annotated[bool, typer.Option("--upstream", help="With --column: only what makes the column.")]
DownstreamOpt = Annotated[
    bool, typer.Option("--downstream", help="With --column: only what a change of the column reaches (impact).")
]
FormatOpt = Annotated[
    LineageFormat,
    typer.Option(
        "--format",
        "-f",
        help="text for people, json for scripts; mermaid or dot: a diagram's source; html: a page to open in a "
        "browser, with nothing to download (docs/lineage.md, Pictures).",
    ),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.", metavar="FILE")
]
AnalyzeOpt = Annotated[
    bool,
    typer.Option(
        "--analyze",
        help="Let Spark analyse the pipelines with columns not known offline, as dry-run does (starts a JVM, "
        "writes nothing), and complete the lineage with the columns it resolves.",
    ),
]


def lineage_command(
    target: TargetArg,
    env: EnvOpt = None,
    sets: SetOpt = None,
    column: ColumnOpt = None,
    upstream: UpstreamOpt = False,
    downstream: DownstreamOpt = False,
    output_format: FormatOpt = LineageFormat.text,
    output: OutputOpt = None,
    analyze: AnalyzeOpt = False,
) -> None:
    """Show which input columns make each output column, and how, without running anything.

    Reads expressions, SQL, joins and aggregations with a SQL parser; starts no JVM. Columns that
    cannot be known offline (a source without a declared schema) are listed with what to do;
    --analyze lets Spark's analysis complete them.
    """
    request = LineageRequest(target, env, tuple(sets or ()), column, _direction(column, upstream, downstream))
    exit_code = 0
    if analyze:
        from etl_cli.cli.lineage_analyze import analyzed_output

        text, exit_code = analyzed_output(request, output_format, WRITERS[output_format])
    else:
        text = WRITERS[output_format](lineage(request))
    if output is None:
        print(text, end="")
    else:
        _write(output, text)
    if exit_code:
        raise typer.Exit(exit_code)


def _write(path: Path, text: str) -> None:
    """Write ``--output``; a file that cannot be written is a usage error naming it, not a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"cannot write --output {path}: {error.strerror}", hint="pass a file in a folder that exists"
        ) from error


def _direction(column: str | None, upstream: bool, downstream: bool) -> Direction:
    if upstream and downstream:
        raise UsageError("--upstream and --downstream exclude each other", hint="leave both out to get both")
    if (upstream or downstream) and column is None:
        raise UsageError("--upstream and --downstream need --column", hint="--column PIPELINE.STAGE.COLUMN")
    return "upstream" if upstream else "downstream" if downstream else "both"
