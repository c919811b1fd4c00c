"""Tables and trees that suit where they are printed: fitted to a terminal, whole everywhere else.

A person at a terminal reads at its width, so there rich fits a table to it (cutting long cells with
``…`` or folding them). A pipe, a file or cron mail has no width: fitting to rich's assumed 80 columns
showed two stages both as ``daily_reven…``. There a table's cells are printed whole, on one line, in
columns two spaces apart, which ``grep`` and ``awk`` read as well as people do; and a tree's lines whole.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Column, Table
from rich.text import Text

_GAP = "  "
#: the width a renderable is measured in off a terminal: wider than any line etl-cli prints
_UNBOUNDED = 1_000_000
#: characters that would break a row over lines or out of its columns, shown escaped instead
_LINE_BREAKERS = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})


class FittedTable:
    """A rich :class:`Table` on a terminal; off a terminal, the same title, headers and cells as aligned text."""

    def __init__(self, table: Table):
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType | Segment]:
        if options.is_terminal:
            yield self.table
            return
        for line in plain_lines(self.table):
            yield Segment(line)
            yield Segment.line()


class WholeLines:
    """A tree or a plan: on a terminal folded to its width; off a terminal at its natural width, no line cut.

    Both whatever the console's ``soft_wrap``, under which rich would cut a tree's long lines at the width.
    """

    def __init__(self, renderable: RenderableType):
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        if options.is_terminal:
            fitted = options.update(no_wrap=False, overflow=None)
        else:
            fitted = options.update(width=natural_width(console, self.renderable), no_wrap=True, overflow="ignore")
        for segments in console.render_lines(self.renderable, fitted, pad=False):
            yield from segments
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


def natural_width(console: Console, renderable: RenderableType) -> int:
    """The width ``renderable`` takes when nothing limits it: its longest line."""
    return console.measure(renderable, options=console.options.update_width(_UNBOUNDED)).maximum


def plain_lines(table: Table) -> list[str]:
    """The title, the header row and every row of ``table``: cells whole, padded to their column's widest cell."""
    columns = table.columns
    rows = [[_plain(column.header) for column in columns]]
    rows += [list(row) for row in zip(*([_plain(cell) for cell in column.cells] for column in columns), strict=True)]
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [_plain(table.title)] if table.title else []
    for row in rows:
        cells = (_pad(text, width, column) for text, width, column in zip(row, widths, columns, strict=True))
        lines.append(_GAP.join(cells).rstrip())
    return lines


def _plain(renderable: RenderableType | None) -> str:
    """The text a cell shows, without its markup or styles."""
    if isinstance(renderable, Text):
        text = renderable.plain
    elif isinstance(renderable, str):
        text = Text.from_markup(renderable).plain
    else:
        text = "" if renderable is None else str(renderable)
    return text.translate(_LINE_BREAKERS)


def _pad(text: str, width: int, column: Column) -> str:
    blank = " " * (width - cell_len(text))
    return blank + text if column.justify == "right" else text + blank
