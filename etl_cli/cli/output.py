"""The consoles commands print to, and printing diagnostics, validation reports and rendered documents."""

from __future__ import annotations

import io
import json
import os
import sys
from typing import IO, TYPE_CHECKING, Any, TextIO, cast

import yaml
from rich.console import Console
from rich.markup import escape

from etl_cli.app import ValidationReport
from etl_cli.diagnostics import Diagnostic

if TYPE_CHECKING:
    from etl_cli.config.nodes import Provenance

_STYLE = {"error": "bold red", "warning": "yellow"}

#: how ASCII-only output spells the few symbols etl-cli prints; any other character is escaped (``\xe9``)
_ASCII_SPELLING = str.maketrans({"·": "-", "—": "-", "…": "...", "→": "->", "✗": "x"})


def stdout_console() -> Console:
    """Where a command's result goes: no guessed highlighting, long lines left whole for pipes."""
    return Console(file=_console_stream(sys.stdout), highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    """Where progress, errors and hints go, so stdout stays the result alone."""
    return Console(file=_console_stream(sys.stderr), stderr=True, highlight=False, soft_wrap=True)


def ascii_only() -> bool:
    """``ETL_ASCII=1``: logs that must hold ASCII alone (old log shippers, mail gateways, code pages)."""
    return os.environ.get("ETL_ASCII", "") not in ("", "0", "false")


def _console_stream(stream: TextIO) -> IO[str] | None:
    """``stream`` as is (None: rich follows sys.stdout/stderr), or behind :class:`AsciiStream` when ASCII is asked."""
    return cast("IO[str]", AsciiStream(stream)) if ascii_only() else None


class AsciiStream(io.TextIOBase):
    """Writes only ASCII to ``stream``: etl-cli's symbols spelt out, any other character escaped.

    Its ``encoding`` is ``ascii``, which makes rich draw tables, trees and rules with ``+``, ``-`` and ``|``.
    """

    encoding = "ascii"

    def __init__(self, stream: TextIO):
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(text.translate(_ASCII_SPELLING).encode("ascii", "backslashreplace").decode("ascii"))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


def print_diagnostic(console: Console, diagnostic: Diagnostic) -> None:
    where = f"{diagnostic.location}: " if diagnostic.location else ""
    style = _STYLE[diagnostic.severity]
    console.print(
        f"{escape(where)}[{style}]{diagnostic.severity}[/]: {escape(diagnostic.message)} [dim]\\[{diagnostic.code}][/]",
        highlight=False,
        soft_wrap=True,
    )
    if diagnostic.hint:
        console.print(f"    [cyan]hint[/]: {escape(diagnostic.hint)}", highlight=False, soft_wrap=True)


def print_validation_text(console: Console, reports: list[ValidationReport]) -> None:
    errors = warnings = 0
    for report in reports:
        label = f"{report.pipeline}" + (f" (env {report.env})" if report.env else "")
        for diagnostic in report.diagnostics:
            print_diagnostic(console, diagnostic)
        errors += sum(d.severity == "error" for d in report.diagnostics)
        warnings += sum(d.severity == "warning" for d in report.diagnostics)
        mark = "[green]ok[/]" if report.ok else "[red]invalid[/]"
        console.print(f"{mark} {escape(label)}", highlight=False)
    console.print(
        f"{len(reports)} pipeline check(s): {errors} error(s), {warnings} warning(s)",
        highlight=False,
    )


def validation_json(reports: list[ValidationReport]) -> str:
    errors = sum(d.severity == "error" for r in reports for d in r.diagnostics)
    warnings = sum(d.severity == "warning" for r in reports for d in r.diagnostics)
    payload = {
        "version": 1,
        "ok": errors == 0,
        "summary": {"pipelines": len(reports), "errors": errors, "warnings": warnings},
        "results": [r.to_json() for r in reports],
    }
    return json.dumps(payload, indent=2)


def document_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)


def explain_lines(document: Any, provenance: Provenance) -> list[tuple[str, str, str]]:
    """(key path, value, where it was set) for every leaf of the document."""
    lines: list[tuple[str, str, str]] = []

    def walk(value: Any, path: tuple[str | int, ...], shown: str) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk(child, (*path, key), f"{shown}.{key}" if shown else key)
        elif isinstance(value, list) and value:
            for i, child in enumerate(value):
                name = child.get("name") if isinstance(child, dict) else None
                walk(child, (*path, i), f"{shown}[{name if isinstance(name, str) else i}]")
        else:
            where = provenance.value_location(path)
            lines.append((shown, json.dumps(value, default=str), str(where) if where else "(default)"))

    walk(document, (), "")
    return lines
