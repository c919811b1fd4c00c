"""``etl-cli secrets``: store, inspect, test and audit secrets. Values are never printed unasked.

``set`` reads the value from a hidden prompt (on a terminal) or from stdin, never
from the command line, where it would land in shell history and ``ps`` output.
``get`` masks the value unless ``--reveal`` is given and stdout is a terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from etl_cli.config.loader import load_pipeline
from etl_cli.config.project import Project, load_project
from etl_cli.config.yaml_loader import display_path
from etl_cli.diagnostics import has_errors, sorted_diagnostics
from etl_cli.errors import EtlError, ExitCode, InvalidPipeline, UsageError
from etl_cli.secrets.audit import audit_path, read_audit
from etl_cli.secrets.redaction import MASK
from etl_cli.secrets.refs import parse_ref
from etl_cli.secrets.resolver import SecretResolver
from etl_cli.secrets.usage import SecretCheck, check_uses, secret_uses

secrets_app = typer.Typer(
    name="secrets",
    help="Store, inspect, test and audit the secrets pipelines use (values are never printed unasked).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Format(StrEnum):
    text = "text"
    json = "json"


EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", help="Environment whose provider settings apply (default: $ETL_ENV, then the project's)."
    ),
]
_HERE = Path()
ProjectOpt = Annotated[
    Path, typer.Option("--project", "-C", help="A folder inside the project (default: the current folder).")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="text for people, json for scripts.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
RefArg = Annotated[str, typer.Argument(help="provider:path#key, e.g. keyring:warehouse#password", metavar="REFERENCE")]


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _resolver(project: Project, env: str | None, pipeline: str | None = None) -> SecretResolver:
    chosen = project.choose_env(env or os.environ.get("ETL_ENV") or None)
    run_id = "secrets-cli-" + uuid.uuid4().hex[:8]
    return SecretResolver.for_project(project, chosen, pipeline=pipeline, run_id=run_id)


@secrets_app.command("set")
def set_secret(reference: RefArg, env: EnvOpt = None, project: ProjectOpt = _HERE, debug: DebugOpt = False) -> None:
    """Store a secret in the keyring or the encrypted file store (value from a hidden prompt or stdin)."""
    ref = parse_ref(reference)
    resolver = _resolver(load_project(project), env)
    provider = resolver.provider(ref.provider)
    if not provider.writable:
        raise UsageError(
            f"'{ref.provider}' is a {provider.type} provider; etl-cli cannot write to it",
            hint="store the value with that system's own tools, or use a keyring or file provider",
        )
    resolver.store(ref, _read_value())
    print(f"stored {ref} in {provider.describe()}", file=sys.stderr)


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


@secrets_app.command("get")
def get_secret(
    reference: RefArg,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the value itself (only to a terminal).")] = False,
    env: EnvOpt = None,
    project: ProjectOpt = _HERE,
    debug: DebugOpt = False,
) -> None:
    """Check that a secret resolves; print it only with --reveal on a terminal."""
    ref = parse_ref(reference)
    resolver = _resolver(load_project(project), env)
    if reveal:
        if not sys.stdout.isatty():
            raise UsageError(
                "refusing to reveal a secret to a pipe or a file", hint="run it in a terminal, or leave out --reveal"
            )
        print(resolver.reveal(ref))
        return
    resolver.resolve(ref)
    print(f"{ref}: {MASK} (resolved from {resolver.provider(ref.provider).describe()})")


@secrets_app.command("list")
def list_secrets(
    pipeline: Annotated[
        Path | None, typer.Argument(help="A pipeline file or folder: list the references it uses.")
    ] = None,
    env: EnvOpt = None,
    project: ProjectOpt = _HERE,
    output_format: FormatOpt = Format.text,
    debug: DebugOpt = False,
) -> None:
    """The references a pipeline uses, and the entry names stored in keyring and file providers."""
    uses: list[dict[str, Any]] = []
    if pipeline is not None:
        loaded = load_pipeline(pipeline, env)
        the_project, chosen = loaded.project, loaded.env
        uses = [
            {"reference": str(u.ref) if u.ref else u.text, "key": u.key_path, "at": str(u.location or "")}
            for u in secret_uses(loaded.document, loaded.provenance)
        ]
    else:
        the_project, chosen = load_project(project), env
    stored = _stored_names(_resolver(the_project, chosen))
    if output_format is Format.json:
        print(json.dumps({"references": uses, "stored": stored}, indent=2))
        return
    console = _out()
    if pipeline is not None:
        console.print(f"references in {escape(str(pipeline))}: {len(uses)}")
        for use in uses:
            console.print(f"  {escape(use['reference'])}  {escape(use['key'])}  [dim]{escape(use['at'])}[/]")
    for entry in stored:
        console.print(f"stored in {escape(entry['provider'])} ({escape(entry['where'])}): {len(entry['names'])}")
        for name in entry["names"]:
            console.print(f"  {escape(entry['provider'])}:{escape(name)}")
        if entry.get("error"):
            console.print(f"  [yellow]{escape(entry['error'])}[/]")


def _stored_names(resolver: SecretResolver) -> list[dict[str, Any]]:
    names = [n for n, s in resolver.settings.items() if resolver.registry.get(s.type).writable]
    names += [t for t in resolver.registry.types() if resolver.registry.get(t).writable and t not in names]
    found = []
    for name in names:
        entry: dict[str, Any] = {"provider": name, "where": "", "names": []}
        try:
            provider = resolver.provider(name)
            entry["names"] = provider.names()
            entry["where"] = provider.describe()
        except EtlError as exc:
            entry["error"] = resolver.redactor.mask(exc.message.splitlines()[0])
        found.append(entry)
    return found


@secrets_app.command("test")
def test_secrets(
    pipeline: Annotated[Path, typer.Argument(help="Pipeline file or folder.")],
    env: EnvOpt = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Override a key, as for run.", metavar="KEY.PATH=VALUE")
    ] = None,
    output_format: FormatOpt = Format.text,
    debug: DebugOpt = False,
) -> None:
    """Resolve every secret reference of a pipeline and report which fail (values are never printed)."""
    loaded = load_pipeline(pipeline, env, sets or [])
    if not loaded.document and has_errors(loaded.diagnostics):
        raise InvalidPipeline(
            sorted_diagnostics(loaded.diagnostics), f"{display_path(loaded.pipeline_file)} is invalid"
        )
    name = loaded.document.get("name") or loaded.pipeline_dir.name
    resolver = SecretResolver.for_project(
        loaded.project, loaded.env, pipeline=str(name), run_id="secrets-test-" + uuid.uuid4().hex[:8]
    )
    checks = check_uses(secret_uses(loaded.document, loaded.provenance), resolver)
    if output_format is Format.json:
        print(
            json.dumps(
                {"pipeline": str(name), "env": loaded.env, "results": [_check_json(c) for c in checks]}, indent=2
            )
        )
    else:
        _print_checks(_out(), checks)
    raise typer.Exit(int(ExitCode.INVALID_CONFIG if any(not c.ok for c in checks) else ExitCode.OK))


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


@secrets_app.command("audit")
def show_audit(
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline's accesses.")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider (name or type).")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only after this: 2026-01-31, 2026-01-31T08:00, or 30m / 12h / 7d ago."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show the last N records (0: all).")] = 0,
    project: ProjectOpt = _HERE,
    output_format: FormatOpt = Format.text,
    debug: DebugOpt = False,
) -> None:
    """Show the secret access log (references and outcomes, never values)."""
    path = audit_path(load_project(project))
    entries = list(read_audit(path, pipeline=pipeline, provider=provider, since=parse_since(since)))
    entries = entries[-limit:] if limit > 0 else entries
    if output_format is Format.json:
        for entry in entries:
            print(json.dumps(entry))
        return
    console = _out()
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


_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``--since``: an ISO date or time (UTC unless it says otherwise) or an age such as ``30m``, ``12h``, ``7d``."""
    if not text:
        return None
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since '{text}' is neither a date nor an age", hint="for example --since 2026-01-31 or --since 12h"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
