"""How ``run`` shows where the time went: Spark's start-up, and with ``--profile`` each stage's operator time."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from etl_cli.cli.tables import FittedTable

#: unattributed parts listed under the table; the run results hold them all
SHOWN_PARTS = 5


def startup_line(startup_s: float) -> str:
    """The summary's line for Spark's start-up, which no stage's time includes."""
    return f"Spark start-up: {startup_s:.1f}s (before the first stage, in no stage's time)"


def print_profile(console: Console, profile: dict[str, Any]) -> None:
    """The profile table, then what of the time no single stage can be given, largest first."""
    console.print(profile_table(profile))
    unattributed = profile["unattributed"]
    parts = unattributed["parts"]
    if parts:
        console.print("unattributed (each measure covers the operators of several stages, or of no stage):")
    for part in parts[:SHOWN_PARTS]:
        console.print(f"  {part['time_s']:.2f}s  {_covering(part)}", markup=False, highlight=False)
    if len(parts) > SHOWN_PARTS:
        console.print(f"  … {len(parts) - SHOWN_PARTS} more in the run results (profile.unattributed.parts)")


def profile_table(profile: dict[str, Any]) -> FittedTable:
    """One row per stage and one for the unattributed time: seconds and share of the operator time."""
    title = (
        f"where the time went: {profile['operator_time_s']:.2f}s of operator time Spark measured "
        f"in {profile['queries']} {'query' if profile['queries'] == 1 else 'queries'} (summed over tasks)"
    )
    table = Table(title=title, title_justify="left")
    for column in ("stage", "kind", "time", "share"):
        table.add_column(column, justify="right" if column in ("time", "share") else "left")
    for stage in profile["stages"]:
        table.add_row(escape(stage["stage"]), stage["kind"], f"{stage['time_s']:.2f}s", f"{stage['share_pct']:.1f}%")
    unattributed = profile["unattributed"]
    table.add_row("unattributed", "", f"{unattributed['time_s']:.2f}s", f"{unattributed['share_pct']:.1f}%")
    return FittedTable(table)


def _covering(part: dict[str, Any]) -> str:
    """``orders, paid: code run in tasks (WholeStageCodegen (2)) · query 1, run for sink 'out' (parquet)``."""
    stages = ", ".join(part["stages"]) or "no stage"
    return f"{stages}: {part['what']} · query {part['query']}, run for {part['step']}"
