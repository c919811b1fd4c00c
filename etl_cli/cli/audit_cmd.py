"""``etl-cli audit show|verify``: the hash-chained audit trail of runs and data access (use cases in
:mod:`etl_cli.usecases.audit`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from etl_cli.cli.options import FormatOpt, TakesDebug, TextOrJson
from etl_cli.cli.output import stderr_console, stdout_console
from etl_cli.errors import ExitCode
from etl_cli.usecases.audit import show_trail, verify_trail

audit_app = typer.Typer(
    name="audit",
    help="Show and verify the audit trail: who ran what, where, on which data (see docs/data-security.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ProjectOpt = Annotated[
    Path, typer.Option("--project", "-C", help="A folder inside the project (default: the current folder).")
]


@audit_app.command("show", cls=TakesDebug)
def show_command(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only after this: 2026-01-31, 2026-01-31T08:00, or 30m / 12h / 7d ago."),
    ] = None,
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline's records.")] = None,
    project: ProjectOpt = Path("."),
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """The trail's records, oldest first: who ran what, in which environment, what it read and wrote, the outcome."""
    path, records = show_trail(project, since, pipeline)
    if output_format is TextOrJson.json:
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
        return
    console = stdout_console()
    if not records:
        console.print(f"no matching records in {escape(str(path))}")
    for record in records:
        console.print(_line(record), highlight=False, soft_wrap=True)


def _line(record: dict[str, Any]) -> str:
    """One record on one line (rich markup; every value escaped)."""
    if record.get("unreadable"):
        return f"[bold red]line {record['line']}: not a record[/] (run etl-cli audit verify)"
    outcome = str(record.get("outcome"))
    style = {"success": "green", "started": "cyan"}.get(outcome, "yellow")
    who = str(record.get("user"))
    if record.get("principal") and record.get("principal") != record.get("user"):
        who += f" as {record.get('principal')}"
    data = record.get("datasets") or {}
    parts = [
        f"#{record.get('seq')}",
        str(record.get("time")),
        f"{record.get('command')} {record.get('pipeline')}",
        f"env={record.get('environment')}",
        f"run={record.get('run_id')}",
        f"by={who}",
    ]
    if data:
        parts.append(f"read={len(data.get('read') or [])} written={len(data.get('written') or [])}")
    if record.get("secrets"):
        parts.append(f"secrets={len(record['secrets'])}")
    if record.get("keys"):
        parts.append("keys=" + ",".join(str(k.get("name")) for k in record["keys"] if isinstance(k, dict)))
    confirmation = record.get("confirmation")
    if isinstance(confirmation, dict):
        parts.append(f"confirmed by {confirmation.get('by')}")
    shown = [escape(part) for part in parts]
    shown.insert(2, f"[{style}]{escape(outcome)}[/]")
    return "  ".join(shown)


@audit_app.command("verify", cls=TakesDebug)
def verify_command(
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor",
            metavar="SEQ:HASH",
            help="A record's seq and hash kept outside the project: the trail must still hold it.",
        ),
    ] = None,
    project: ProjectOpt = Path("."),
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Check the trail's hash chain: exit 0 when intact, 1 naming the first line edited, deleted, inserted or moved."""
    check = verify_trail(project, anchor)
    found = check.verification
    if output_format is TextOrJson.json:
        print(json.dumps({"trail": str(check.path), "keyed": check.keyed, **found.to_json()}, indent=2))
    else:
        console = stdout_console()
        if found.ok:
            keyed = " (HMAC-keyed)" if check.keyed else ""
            console.print(f"audit trail intact{keyed}: {found.records} record(s) in {escape(str(check.path))}")
        else:
            stderr_console().print(
                f"[bold red]audit trail broken[/] ({escape(str(found.problem))}): {escape(found.message)}",
                highlight=False,
                soft_wrap=True,
            )
            stderr_console().print(f"  {escape(str(check.path))}:{found.line}", highlight=False, soft_wrap=True)
        for note in found.notes:
            stderr_console().print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    raise typer.Exit(int(ExitCode.OK if found.ok else ExitCode.INVALID_CONFIG))
