"""``etl-cli``: thin commands over :mod:`etl_cli.app`, and the one error boundary."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from etl_cli import __version__
from etl_cli.cli.completion import complete_pipeline
from etl_cli.cli.lazy import LazyGroup, LazySpec
from etl_cli.cli.options import (
    AsOpt,
    ConfirmEnvOpt,
    EnvOpt,
    EtlCommand,
    FormatOpt,
    LogFileOpt,
    LogFormatOpt,
    MasterOpt,
    ParamOpt,
    PipelineArg,
    RemoteOpt,
    RenderFormat,
    ResultsDirOpt,
    SetOpt,
    TakesDebug,
    TextOrJson,
    VerboseOpt,
    spark_target,
)
from etl_cli.errors import EtlError, ExitCode, InvalidPipeline, RunInterrupted, UsageError

if TYPE_CHECKING:
    from etl_cli import app

# The base of the usage errors Typer raises (click's ClickException in older Typer, its own copy in newer ones),
# found through the public typer.BadParameter: click is not a dependency of newer Typer, typer._click is private.
CLICK_EXCEPTION: type[Any] = next(base for base in typer.BadParameter.__mro__ if base.__name__ == "ClickException")


class _Commands(LazyGroup):
    """The commands defined below, then these, imported only when used (a summary is the first paragraph of the
    command's help: tests/unit/test_cli_lazy.py fails when one differs)."""

    lazy_commands = (
        LazySpec(
            "dry-run",
            "etl_cli.cli.dryrun_cmd:dry_run_command",
            "Let Spark analyse every stage and list every effect, without writing anything.",
            TakesDebug,
        ),
        LazySpec(
            "debug",
            "etl_cli.cli.debug:debug_command",
            "Run a pipeline stage by stage and look at each stage's output; sinks are written only with --write.",
            TakesDebug,
        ),
        LazySpec(
            "create-pipeline",
            "etl_cli.cli.wizard:create_pipeline_command",
            "Create a pipeline from templates by answering questions; it is validated before anything is written.",
            TakesDebug,
        ),
        LazySpec(
            "secrets",
            "etl_cli.cli.secrets_cmd:secrets_app",
            "Store, inspect, test and audit the secrets pipelines use (values are never printed unasked).",
        ),
        LazySpec(
            "dlq",
            "etl_cli.cli.dlq_cmd:dlq_app",
            "Inspect a pipeline's dead-letter queue and replay fixed rows (see docs/dead-letter.md).",
        ),
        LazySpec(
            "plugins",
            "etl_cli.cli.plugins_cmd:plugins_app",
            "List the plug-ins etl-cli knows: built-in and installed ones (see docs/plugins.md).",
        ),
        LazySpec(
            "catalog",
            "etl_cli.cli.catalog_cmd:catalog_app",
            "List, show and search the tables the project's sinks registered in its catalogs (see docs/catalog.md).",
        ),
        LazySpec(
            "lineage",
            "etl_cli.cli.lineage_cmd:lineage_command",
            "Show which input columns make each output column, and how, without running anything.",
            TakesDebug,
        ),
        LazySpec(
            "runs",
            "etl_cli.cli.runs_cmd:runs_app",
            "List, show, compare and chart the project's past runs: stages, rows, durations, checks, errors.",
        ),
        LazySpec(
            "state",
            "etl_cli.cli.state_cmd:state_app",
            "Show the incremental watermarks pipelines keep between runs, or forget one source's.",
        ),
        LazySpec(
            "streams",
            "etl_cli.cli.streams_cmd:streams_app",
            "List the streaming runs on this machine, show their progress and Kafka lag, stop one gracefully.",
        ),
        LazySpec(
            "init",
            "etl_cli.cli.init_cmd:init_command",
            "Create a project: etl-project.yaml (dev, staging, prod), an example pipeline that runs, templates/, "
            ".gitignore.",
            TakesDebug,
        ),
        LazySpec(
            "dag",
            "etl_cli.cli.dag_cmd:dag_app",
            "Show the project's pipelines as one DAG and run them in order (see docs/orchestration.md).",
        ),
        LazySpec(
            "backfill",
            "etl_cli.cli.backfill_cmd:backfill_command",
            "Run a pipeline once per interval of a date range, giving it each interval's start as a parameter.",
            TakesDebug,
        ),
        LazySpec(
            "schedule",
            "etl_cli.cli.schedule_cmd:schedule_app",
            "Show when the project's pipelines run next and export their schedules to cron, systemd, Airflow or "
            "Kubernetes.",
        ),
        LazySpec(
            "test",
            "etl_cli.cli.test_cmd:test_command",
            "Run the pipelines' tests: given rows for the sources, expected rows for the stages and sinks.",
            TakesDebug,
        ),
        LazySpec(
            "alerts",
            "etl_cli.cli.alerts_cmd:alerts_app",
            "Export Prometheus alerting rules for the project's pipelines (see docs/observability.md#alerts).",
        ),
        LazySpec(
            "audit",
            "etl_cli.cli.audit_cmd:audit_app",
            "Show and verify the audit trail: who ran what, where, on which data (see docs/data-security.md).",
        ),
        LazySpec(
            "keys",
            "etl_cli.cli.keys_cmd:keys_app",
            "List, create and rotate the encryption keys of encrypt/decrypt (see docs/data-security.md).",
        ),
        LazySpec(
            "generate",
            "etl_cli.cli.generate_cmd:generate_command",
            "Write seeded, reproducible data for a pipeline's sources from their schemas, contracts and checks.",
            TakesDebug,
        ),
        LazySpec(
            "table",
            "etl_cli.cli.table_cmd:table_app",
            "Maintain the Delta or Iceberg table a pipeline's sink writes: optimize, vacuum, expire snapshots.",
        ),
        LazySpec(
            "engine",
            "etl_cli.cli.engine_cmd:engine_app",
            "Keep a warm local Spark (a Spark Connect server) for the project: commands skip the JVM's start.",
        ),
        LazySpec(
            "studio",
            "etl_cli.cli.studio_cmd:studio_command",
            "Serve a local web page to see, edit, inspect and run the project's pipelines (see docs/studio.md).",
            TakesDebug,
        ),
        LazySpec(
            "submit",
            "etl_cli.cli.submit_cmd:submit_command",
            "Run a pipeline on a cluster through spark-submit: etl-cli, the project's files and jars go with it.",
            TakesDebug,
        ),
        LazySpec(
            "export",
            "etl_cli.cli.submit_cmd:export_app",
            "Write a pipeline's run for a cluster manager to run: a SparkApplication of the Kubernetes Spark operator.",
        ),
    )


cli = typer.Typer(
    cls=_Commands,
    name="etl-cli",
    help="YAML pipelines (sources, transforms, sinks) compiled to Apache Spark jobs.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"etl-cli {__version__}")
        raise typer.Exit()


@cli.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """etl-cli: write pipelines in YAML, validate them offline, run them on Spark.

    Exit codes: 0 ok · 1 invalid pipeline · 2 usage error · 3 data-quality gate failed ·
    4 run failed · 5 another run holds the lock · 130 interrupted (SIGINT) · 143 terminated (SIGTERM).
    """


@cli.command(cls=TakesDebug)
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Pipeline files, pipeline folders, or folders of pipelines.",
            metavar="PATH...",
            autocompletion=complete_pipeline,
        ),
    ],
    env: EnvOpt = None,
    all_envs: Annotated[bool, typer.Option("--all-envs", help="Validate every environment of each pipeline.")] = False,
    output_format: FormatOpt = TextOrJson.text,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    sets: SetOpt = None,
    params: ParamOpt = None,
    remote: RemoteOpt = None,
) -> None:
    """Check pipelines offline (no JVM, no network) and report every problem with file:line:col."""
    if env and all_envs:
        raise UsageError("--env and --all-envs cannot be used together")
    from etl_cli import app

    reports = app.validate(
        paths, env=env, all_envs=all_envs, sets=sets or [], params=params or [], remote=spark_target(None, remote)
    )
    if output_format is TextOrJson.json:
        print(_json_validation(reports))
    else:
        _print_validation(reports)
    failed = any(not r.ok for r in reports) or (strict and any(r.diagnostics for r in reports))
    raise typer.Exit(int(ExitCode.INVALID_CONFIG if failed else ExitCode.OK))


def _json_validation(reports: list[app.ValidationReport]) -> str:
    from etl_cli.cli.output import validation_json

    return validation_json(reports)


def _print_validation(reports: list[app.ValidationReport]) -> None:
    from etl_cli.cli.output import print_validation_text, stdout_console

    print_validation_text(stdout_console(), reports)


@cli.command(cls=TakesDebug)
def render(
    pipeline: PipelineArg,
    env: EnvOpt = None,
    sets: SetOpt = None,
    params: ParamOpt = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show the file and line that set each key.")] = False,
    output_format: Annotated[RenderFormat, typer.Option("--format", "-f", help="Output format.")] = RenderFormat.yaml,
) -> None:
    """Print the fully merged, interpolated pipeline (secret references stay references)."""
    import json

    from etl_cli import app
    from etl_cli.cli.output import document_yaml, explain_lines
    from etl_cli.cli.params_view import param_rows, params_header

    loaded = app.render(pipeline, env, sets or [], params or [])
    if explain:
        rows = explain_lines(loaded.document, loaded.provenance) + param_rows(loaded.params)
        if output_format is RenderFormat.json:
            print(json.dumps([{"key": k, "value": json.loads(v), "set_at": w} for k, v, w in rows], indent=2))
        else:
            width = max((len(k) for k, _, _ in rows), default=0)
            for key, value, where in rows:
                print(f"{key:<{width}}  {value}  # {where}")
        return
    if output_format is RenderFormat.json:
        print(json.dumps(loaded.document, indent=2, default=str))
    else:
        sys.stdout.write(params_header(loaded.params) + document_yaml(loaded.document))


@cli.command(cls=TakesDebug)
def run(
    pipeline: PipelineArg,
    env: EnvOpt = None,
    sets: SetOpt = None,
    params: ParamOpt = None,
    master: MasterOpt = None,
    remote: RemoteOpt = None,
    results_dir: ResultsDirOpt = None,
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Forget incremental watermarks: read everything, then keep the new ones."),
    ] = False,
    log_format: LogFormatOpt = TextOrJson.text,
    log_file: LogFileOpt = None,
    verbose: VerboseOpt = False,
    profile: Annotated[
        bool,
        typer.Option("--profile", help="Show where the time went: each stage's share of Spark's operator time."),
    ] = False,
    parent_run: Annotated[
        str | None,
        typer.Option(
            "--parent-run",
            metavar="NAMESPACE/JOB/RUN_ID",
            help="The run that started this one, for the OpenLineage events (else $OPENLINEAGE_PARENT_ID).",
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", metavar="ID", help="Run under this id (names the results file) instead of a new one."),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            metavar="STAGE|STAGE+|+STAGE",
            help="Run only these stages (STAGE+: and what reads them), reading their other inputs from checkpoints.",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option("--resume", metavar="RUN_ID", help="Finish that failed run, starting from its checkpoints."),
    ] = None,
    monitoring_port: Annotated[
        int | None,
        typer.Option(
            "--monitoring-port",
            metavar="PORT",
            min=0,
            max=65535,
            help="Serve /metrics, /healthz and /readyz on this port while the run goes on (0: any free port).",
        ),
    ] = None,
    confirm_env: ConfirmEnvOpt = None,
    principal: AsOpt = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Streaming pipelines: watch the pipeline's files; apply a change the checkpoints can take by "
            "restarting after the current micro-batch, report any other (see docs/streaming.md).",
        ),
    ] = False,
) -> None:
    """Run a pipeline on Spark, once, without prompts (safe for cron)."""
    from etl_cli import app
    from etl_cli.cli.reporters import run_log

    options = app.RunOptions(
        env=env,
        sets=tuple(sets or []),
        master=spark_target(master, remote),
        verbose=verbose,
        results_dir=results_dir,
        full_refresh=full_refresh,
        profile=profile,
        parent_run=parent_run,
        params=tuple(params or []),
        run_id=run_id,
        select=tuple(select or []),
        resume=resume,
        monitoring_port=monitoring_port,
        confirm_env=confirm_env,
        principal=principal,
    )
    with run_log(log_format, log_file) as reporter:
        if watch:
            from etl_cli.usecases.watch import run_watching

            code, _ = run_watching(pipeline, options, reporter)
        else:
            code, _ = app.run(pipeline, options, reporter)
    raise typer.Exit(int(code))


@cli.command(cls=TakesDebug)
def recover(pipeline: PipelineArg, env: EnvOpt = None, sets: SetOpt = None) -> None:
    """Put right what killed runs left: roll back half-done publishes, remove their staging folders.

    Every run does this first; exits 0 (with nothing to do too), 5 while a run holds the lock.
    """
    from etl_cli import app
    from etl_cli.cli.output import stderr_console
    from etl_cli.cli.reporters import ConsoleReporter

    done = app.recover(pipeline, env, tuple(sets or []), ConsoleReporter(stderr_console()))
    for line in done:
        print(f"recovered: {line}")
    if not done:
        print("nothing to recover")


@cli.command(cls=EtlCommand)
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the pipeline JSON Schema (for editors and the YAML language server)."""
    from etl_cli import app

    text = app.schema_text()
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _wants_debug(argv: list[str]) -> bool:
    """The one place ``--debug`` is read: commands only accept it (options.TakesDebug), this boundary acts on it."""
    return "--debug" in argv or os.environ.get("ETL_DEBUG", "") not in ("", "0", "false")


def _report_error(exc: EtlError, debug: bool) -> None:
    from etl_cli.cli.output import print_diagnostic, stderr_console

    console = stderr_console()
    if isinstance(exc, InvalidPipeline):
        console.print(f"[red]error[/]: {exc.message}", highlight=False)
        for diagnostic in exc.diagnostics:
            print_diagnostic(console, diagnostic)
    else:
        from rich.markup import escape

        console.print(f"[bold red]error[/]: {escape(str(exc))}", highlight=False, soft_wrap=True)
    if debug:
        console.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)


def main(argv: list[str] | None = None, *, cli_app: typer.Typer | None = None, prog_name: str = "etl-cli") -> None:
    """Entry point: run the command, map every failure to its exit code (``etl-debug`` passes its own app)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _wants_debug(args)
    try:
        code = (cli_app or cli)(args=args, prog_name=prog_name, standalone_mode=False)
    except EtlError as exc:
        _report_error(exc, debug)
        sys.exit(int(exc.exit_code))
    except CLICK_EXCEPTION as exc:
        exc.show()
        sys.exit(int(ExitCode.USAGE))
    except RunInterrupted as exc:
        print(exc.status, file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except (KeyboardInterrupt, typer.Abort):
        print("interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:  # the one boundary: an unexpected error is still a message and an exit code
        from etl_cli.cli.output import stderr_console

        stderr_console().print(f"error: internal error: {type(exc).__name__}: {exc}", markup=False, highlight=False)
        if debug:
            stderr_console().print("".join(traceback.format_exception(exc)), markup=False, highlight=False)
        else:
            print("  (run again with --debug to see the traceback)", file=sys.stderr)
        sys.exit(int(ExitCode.RUN_FAILED))
    sys.exit(code if isinstance(code, int) else 0)
