"""``etl-cli dag``: the project's pipelines as one DAG (use cases in :mod:`etl_cli.usecases.dag` and
:mod:`etl_cli.usecases.dag_run`; see docs/orchestration.md)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from etl_cli.cli.options import (
    ConfirmEnvOpt,
    EnvOpt,
    ExcludeOpt,
    LogFormatOpt,
    ParamOpt,
    ProjectPathArg,
    ResultsDirOpt,
    SelectOpt,
    SetOpt,
    TakesDebug,
    TextOrJson,
)
from etl_cli.errors import UsageError

dag_app = typer.Typer(
    name="dag",
    help="Show the project's pipelines as one DAG and run them in order (see docs/orchestration.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class DagFormat(StrEnum):
    """``--format`` of ``etl-cli dag show`` (etl_cli/orchestration/dag_render.py writes each)."""

    text = "text"
    json = "json"
    mermaid = "mermaid"
    dot = "dot"
    html = "html"


@dag_app.command("show", cls=TakesDebug)
def show_command(
    path: ProjectPathArg = Path("."),
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    env: EnvOpt = None,
    sets: SetOpt = None,
    output_format: Annotated[
        DagFormat,
        typer.Option(
            "--format",
            "-f",
            help="text for people, json for scripts; mermaid or dot: a diagram's source; html: a page to open in a "
            "browser, with nothing to download.",
        ),
    ] = DagFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.", metavar="FILE")
    ] = None,
) -> None:
    """Show the project's pipelines in the order they run, what each waits for and why, and how its last run went.

    A pipeline waits for those it names under depends_on and for those whose sinks write what its
    sources read. Offline: no JVM starts.
    """
    from etl_cli.orchestration.dag_render import render
    from etl_cli.usecases.dag import DagShowRequest, dag_view

    request = DagShowRequest(path, env, tuple(sets or ()), tuple(select or ()), tuple(exclude or ()))
    text = render(dag_view(request), output_format.value)
    if output is None:
        print(text, end="")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"cannot write --output {output}: {error.strerror}", hint="pass a file in a folder that exists"
        ) from error


@dag_app.command("run", cls=TakesDebug)
def run_command(
    path: ProjectPathArg = Path("."),
    select: SelectOpt = None,
    exclude: ExcludeOpt = None,
    env: EnvOpt = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, metavar="N", help="Run up to N pipelines at a time (default 1)."),
    ] = None,
    sets: SetOpt = None,
    params: ParamOpt = None,
    results_dir: ResultsDirOpt = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="DAG_RUN_ID",
            help="Run again only what failed, was skipped or did not run in that DAG run (same selection, env "
            "and params).",
        ),
    ] = None,
    log_format: LogFormatOpt = TextOrJson.text,
    confirm_env: ConfirmEnvOpt = None,
) -> None:
    """Run the project's pipelines in dependency order, up to --jobs at a time; a failure skips what depends on it.

    Each pipeline is an `etl-cli run` of its own, given the --param values its pipeline declares (every
    value is checked before anything runs); the DAG run exits with the worst of their exit codes
    (143, 130, 4, 3, 1, 2, 5, then 0) and writes .etl/dag-runs/DAG_RUN_ID.json.
    """
    from etl_cli.cli.dag_run_view import DagRunConsole, DagRunJsonLines
    from etl_cli.cli.output import stderr_console
    from etl_cli.usecases.dag_run import DagRunOptions, run_dag

    view = DagRunJsonLines() if log_format is TextOrJson.json else DagRunConsole(stderr_console())
    options = DagRunOptions(
        start=path,
        selectors=tuple(select or ()),
        exclude=tuple(exclude or ()),
        env=env,
        sets=tuple(sets or ()),
        jobs=jobs,
        results_dir=results_dir,
        resume=resume,
        params=tuple(params or ()),
        confirm_env=confirm_env,
    )
    outcome = run_dag(options, view)
    if outcome.record is None or outcome.record_file is None:
        stderr_console().print(
            f"dag run {outcome.nothing_to_resume}: every pipeline succeeded, nothing to resume",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(0)
    view.dag_run_finished(outcome.record, outcome.record_file)
    raise typer.Exit(outcome.record.exit_code or 0)
