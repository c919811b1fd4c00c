"""``etl-cli lineage --analyze``: the lineage completed by Spark's analysis, and what was completed.

The text output ends with the nodes Spark completed (and those still unknown); the JSON has them
as the member ``analyzed``; a picture (mermaid, dot, html) stays as drawn and they go to stderr,
with the problems Spark found, each at the file:line of its stage.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from etl_cli.cli.output import print_diagnostic, stderr_console
from etl_cli.cli.progress import StatusReporter
from etl_cli.usecases.lineage import LineageRequest, LineageResult
from etl_cli.usecases.lineage_analyze import Completion, analyzed_lineage

HEADING = "completed by Spark's analysis (--analyze)"


def analyzed_output(
    request: LineageRequest, output_format: str, write: Callable[[LineageResult], str]
) -> tuple[str, int]:
    """What ``lineage --analyze`` prints in ``output_format`` (``write`` draws the lineage), and its exit code."""
    reporter = StatusReporter(stderr_console(), verb="analysing")
    try:
        result, completion = analyzed_lineage(request, reporter)
    finally:
        reporter.stop()
    console = stderr_console()
    for diagnostic in completion.diagnostics:
        print_diagnostic(console, diagnostic)
    text = write(result)
    if output_format == "json":
        return json.dumps({**json.loads(text), "analyzed": completion.to_dict()}, indent=2) + "\n", completion.exit_code
    if output_format == "text":
        return text + "\n" + "\n".join(completion_lines(completion)) + "\n", completion.exit_code
    for line in completion_lines(completion):
        console.print(line, highlight=False, soft_wrap=True, markup=False)
    return text, completion.exit_code


def completion_lines(completion: Completion) -> list[str]:
    """The nodes Spark completed, then those still unknown, one per line."""
    if not completion.pipelines:
        return [f"{HEADING}: nothing, every column is known offline"]
    lines = [f"{HEADING}:", *(f"  {node}" for node in completion.completed)]
    if not completion.completed:
        lines = [f"{HEADING}: nothing"]
    if completion.unknown:
        lines += ["still unknown after Spark's analysis:", *(f"  {node}" for node in completion.unknown)]
    return lines
