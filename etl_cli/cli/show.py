"""Rendering what dry-run and debug found: schema trees, row tables, null counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from etl_cli.cli.tables import FittedTable, WholeLines, natural_width

if TYPE_CHECKING:
    from etl_cli.runtime.execution.describe import SchemaField


def schema_tree(label: str, fields: Sequence[SchemaField]) -> WholeLines:
    """The columns as a tree: ``name: type`` (``not null`` when not nullable), nested fields below.

    Off a terminal no line of it is wrapped or cut, however long a nested type is.
    """
    tree = Tree(escape(label), guide_style="dim")
    for item in fields:
        _add(tree, item)
    return WholeLines(tree)


def _add(parent: Tree, item: SchemaField) -> None:
    suffix = "" if item.nullable else " [dim]not null[/]"
    branch = parent.add(f"{escape(item.name)}: [cyan]{escape(item.type)}[/]{suffix}")
    for child in item.fields:
        _add(branch, child)


def rows_table(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> FittedTable:
    """Rows as a table, every value already display text (masked where needed); whole values off a terminal."""
    table = Table(title=escape(title) if title else None, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(escape(column), overflow="fold")
    for row in rows:
        table.add_row(*[escape(cell) for cell in row])
    return FittedTable(table)


def null_counts_text(columns: Sequence[str], nulls: Mapping[str, int]) -> str:
    """``nulls: email 2 · country 1 · 0 in the other 5 columns``."""
    with_nulls = [f"{escape(c)} [yellow]{nulls[c]:,}[/]" for c in columns if nulls.get(c)]
    others = len(columns) - len(with_nulls)
    if not with_nulls:
        return f"nulls: none in {others} column{'s' if others != 1 else ''}"
    tail = f" · 0 in the other {others}" if others else ""
    return "nulls: " + " · ".join(with_nulls) + tail


def print_indented(console: Console, renderable: RenderableType, indent: int = 2) -> None:
    """Print ``renderable`` shifted right, without the trailing blanks rich's Padding would add.

    On a terminal it fits the terminal's width; elsewhere lines stay whole (a pipe has no width to fit).
    """
    width = max(console.width - indent, 20) if console.is_terminal else natural_width(console, renderable)
    for segments in console.render_lines(renderable, console.options.update_width(width), pad=False):
        line = Text(" " * indent)
        for segment in segments:
            line.append(segment.text, segment.style)
        line.rstrip()
        console.print(line, soft_wrap=True)
