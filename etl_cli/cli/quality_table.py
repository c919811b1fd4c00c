"""The quality report as a terminal table, with a few sample failing rows under it."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from etl_cli.cli.tables import FittedTable

_STYLE = {"passed": "green", "tolerated": "cyan", "warned": "yellow", "failed": "bold red", "skipped": "dim"}
_SAMPLE_WIDTH = 160


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def quality_table(report: dict[str, Any]) -> FittedTable:
    """One row per check (boxed on a terminal, plain aligned text elsewhere)."""
    table = Table(title=f"data quality: {report.get('status', '?')}", title_justify="left")
    for column in ("check", "stage", "type", "action", "evaluated", "failed", "rate", "outcome"):
        numeric = column in ("evaluated", "failed", "rate")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric)
    for check in report.get("checks", []):
        outcome = check["outcome"]
        if check.get("rows_failed") is None and check.get("observed"):
            failed = ", ".join(f"{k}={v}" for k, v in check["observed"].items() if k != "max_age_s")
        else:
            failed = _count(check.get("rows_failed"))
        table.add_row(
            escape(check["name"]),
            escape(check["stage"]),
            check["type"],
            check["action"],
            _count(check.get("rows_evaluated")),
            escape(failed),
            _rate(check.get("failure_rate")),
            f"[{_STYLE.get(outcome, '')}]{outcome}[/]",
        )
    return FittedTable(table)


def print_quality_report(console: Console, report: dict[str, Any]) -> None:
    """The table, then up to three samples of each check that found failures, then contract notes."""
    if report.get("checks"):
        console.print(quality_table(report))
    for check in report.get("checks", []):
        if check["outcome"] == "skipped" and check.get("note"):
            console.print(f"  [dim]{escape(check['name'])}: {escape(check['note'])}[/]", highlight=False)
    for check in report.get("checks", []):
        samples = check.get("samples") or []
        if not samples or not check.get("rows_failed"):
            continue
        console.print(f"  samples failing [bold]{escape(check['name'])}[/]:", highlight=False)
        for sample in samples[:3]:
            text = json.dumps(sample, default=str, ensure_ascii=False)
            if len(text) > _SAMPLE_WIDTH:
                text = text[: _SAMPLE_WIDTH - 1] + "…"
            console.print(f"    {escape(text)}", highlight=False, soft_wrap=True)
    for contract in report.get("contracts", []):
        for key, label in (("new_columns", "new columns kept"), ("removed_columns", "extra columns removed")):
            if contract.get(key):
                console.print(
                    f"  contract of {escape(contract['stage'])} ({contract['policy']}): {label}: "
                    + escape(", ".join(contract[key])),
                    highlight=False,
                )
