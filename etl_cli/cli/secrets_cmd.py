"""``etl-cli secrets``: store, inspect, test and audit secrets. Values are never printed unasked.

``set`` reads the value from a hidden prompt (on a terminal) or from stdin, never
from the command line, where it would land in shell history and ``ps`` output.
``get`` masks the value unless ``--reveal`` is given and stdout is a terminal.
The use cases are in :mod:`etl_cli.usecases.secrets`; this module parses and prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from etl_cli.cli.options import EnvOpt, FormatOpt, PipelineArg, SetOpt, TakesDebug, TextOrJson
from etl_cli.cli.output import stdout_console
from etl_cli.errors import ExitCode, UsageError
from etl_cli.usecases import secrets

if TYPE_CHECKING:
    from etl_cli.secrets.usage import SecretCheck, SecretUse

secrets_app = typer.Typer(
    name="secrets",
    help="Store, inspect, test and audit the secrets pipelines use (values are never printed unasked).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_HERE = Path()
ProjectOpt = Annotated[
    Path, typer.Option("--project", "-C", help="A folder inside the project (default: the current folder).")
]
RefArg = Annotated[str, typer.Argument(help="provider:path#key, e.g. keyring:warehouse#password", metavar="REFERENCE")]


@secrets_app.command("set", cls=TakesDebug)
def set_secret(reference: RefArg, env: EnvOpt = None, project: ProjectOpt = _HERE) -> None:
    """Store a secret in the keyring or the encrypted file store (value from a hidden prompt or stdin)."""
    ref, where = secrets.store_secret(reference, env, project, _read_value)
    print(f"stored {ref} in {where}", file=sys.stderr)


def _read_value() -> str:
    """The value from a hidden, confirmed prompt on a terminal, else all of stdin (one final newline dropped).

    ``typer.prompt``, not ``click.prompt``: Ctrl-C or end of input there raise ``typer.Abort``, which the CLI
    reports as interrupted (exit 130); click is not a dependency of recent Typer.
    """
    if sys.stdin.isatty():
        value = str(typer.prompt("Value", hide_input=True, confirmation_prompt=True, err=True))
    else:
        value = sys.stdin.read()
        value = value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value
    if not value:
        raise UsageError("refusing to store an empty secret", hint='pipe the value in: printf %s "$VALUE" | ...')
    return value


@secrets_app.command("get", cls=TakesDebug)
def get_secret(
    reference: RefArg,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the value itself (only to a terminal).")] = False,
    env: EnvOpt = None,
    project: ProjectOpt = _HERE,
) -> None:
    """Check that a secret resolves; print it only with --reveal on a terminal."""
    if reveal:
        print(secrets.reveal_secret(reference, env, project, to_terminal=sys.stdout.isatty()))
        return
    ref, where = secrets.find_secret(reference, env, project)
    print(f"{ref}: {secrets.MASK} (resolved from {where})")


@secrets_app.command("list", cls=TakesDebug)
def list_secrets(
    pipeline: Annotated[
        Path | None, typer.Argument(help="A pipeline file or folder: list the references it uses.")
    ] = None,
    env: EnvOpt = None,
    project: ProjectOpt = _HERE,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """The references a pipeline uses, and the entry names stored in keyring and file providers."""
    listing = secrets.list_secrets(pipeline, env, project)
    uses = [_use_json(use) for use in listing.uses]
    if output_format is TextOrJson.json:
        print(json.dumps({"references": uses, "stored": listing.stored}, indent=2))
        return
    console = stdout_console()
    if pipeline is not None:
        console.print(f"references in {escape(str(pipeline))}: {len(uses)}")
        for use in uses:
            console.print(f"  {escape(use['reference'])}  {escape(use['key'])}  [dim]{escape(use['at'])}[/]")
    for entry in listing.stored:
        console.print(f"stored in {escape(entry['provider'])} ({escape(entry['where'])}): {len(entry['names'])}")
        for name in entry["names"]:
            console.print(f"  {escape(entry['provider'])}:{escape(name)}")
        if entry.get("error"):
            console.print(f"  [yellow]{escape(entry['error'])}[/]")


def _use_json(use: SecretUse) -> dict[str, str]:
    return {"reference": str(use.ref) if use.ref else use.text, "key": use.key_path, "at": str(use.location or "")}


@secrets_app.command("test", cls=TakesDebug)
def test_secrets(
    pipeline: PipelineArg, env: EnvOpt = None, sets: SetOpt = None, output_format: FormatOpt = TextOrJson.text
) -> None:
    """Resolve every secret reference of a pipeline and report which fail (values are never printed)."""
    tested = secrets.check_pipeline_secrets(pipeline, env, sets or [])
    if output_format is TextOrJson.json:
        results = [_check_json(c) for c in tested.checks]
        print(json.dumps({"pipeline": tested.pipeline, "env": tested.env, "results": results}, indent=2))
    else:
        _print_checks(stdout_console(), tested.checks)
    raise typer.Exit(int(ExitCode.OK if tested.ok else ExitCode.INVALID_CONFIG))


def _check_json(check: SecretCheck) -> dict[str, Any]:
    use = check.use
    return {
        "reference": str(use.ref) if use.ref else use.text,
        "key": use.key_path,
        "file": use.location.file if use.location else None,
        "line": use.location.line if use.location else None,
        "column": use.location.column if use.location else None,
        "ok": check.ok,
        "error": check.error,
    }


def _print_checks(console: Console, checks: list[SecretCheck]) -> None:
    for check in checks:
        use = check.use
        mark = "[green]ok  [/]" if check.ok else "[bold red]FAIL[/]"
        shown = str(use.ref) if use.ref else use.text
        console.print(f"{mark} {escape(shown)}  {escape(use.key_path)}  [dim]{escape(str(use.location or ''))}[/]")
        for line in (check.error or "").splitlines():
            console.print(f"     {escape(line.strip())}")
    failed = sum(not c.ok for c in checks)
    console.print(f"{len(checks)} reference(s): {len(checks) - failed} ok, {failed} failed")


@secrets_app.command("audit", cls=TakesDebug)
def show_audit(
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline's accesses.")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider (name or type).")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only after this: 2026-01-31, 2026-01-31T08:00, or 30m / 12h / 7d ago."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show the last N records (0: all).")] = 0,
    project: ProjectOpt = _HERE,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Show the secret access log (references and outcomes, never values)."""
    path, entries = secrets.read_secret_audit(project, pipeline=pipeline, provider=provider, since=since, limit=limit)
    if output_format is TextOrJson.json:
        for entry in entries:
            print(json.dumps(entry))
        return
    console = stdout_console()
    if not entries:
        console.print(f"no matching records in {escape(str(path))}")
    for e in entries:
        outcome = str(e.get("outcome"))
        style = "green" if outcome in ("resolved", "cached", "refreshed", "stored") else "yellow"
        console.print(
            f"{escape(str(e.get('timestamp')))}  [{style}]{escape(outcome):<11}[/] {escape(str(e.get('reference')))}  "
            f"[dim]pipeline={escape(str(e.get('pipeline')))} env={escape(str(e.get('environment')))} "
            f"run={escape(str(e.get('run_id')))} user={escape(str(e.get('user')))}[/]"
        )
