"""How tables, indented blocks and run summaries print on a terminal, off one, and in ASCII.

A console writing to a StringIO is not a terminal (a pipe, a file, cron); ``force_terminal`` makes one that is.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from etl_cli.cli.output import AsciiStream
from etl_cli.cli.reporters import output_lines
from etl_cli.cli.show import print_indented, schema_tree
from etl_cli.cli.tables import FittedTable
from etl_cli.events import StageResult
from etl_cli.runtime.execution.describe import SchemaField

LONG = "daily_revenue_per_country_and_day"


def printed(renderable: object, *, terminal: bool = False, width: int = 40, ascii_only: bool = False) -> str:
    out = io.StringIO()
    file = AsciiStream(out) if ascii_only else out
    console = Console(file=file, force_terminal=terminal or None, width=width, color_system=None, soft_wrap=True)
    console.print(renderable)
    return out.getvalue()


def stages_table() -> FittedTable:
    table = Table(title="run success in 3.0s", title_justify="left")
    table.add_column("stage")
    table.add_column("rows", justify="right")
    table.add_row(LONG, "1,204")
    table.add_row("daily_revenue", "[bold]7[/]")
    return FittedTable(table)


def test_off_a_terminal_a_table_is_plain_aligned_text_with_every_cell_whole() -> None:
    assert printed(stages_table(), width=20) == (
        "run success in 3.0s\n"
        "stage                               rows\n"
        "daily_revenue_per_country_and_day  1,204\n"
        "daily_revenue                          7\n"
    )


def test_on_a_terminal_a_table_is_boxed_and_fitted_to_the_width() -> None:
    text = printed(stages_table(), terminal=True, width=30)
    assert "┃ stage" in text
    assert "…" in text and LONG not in text
    assert max(len(line) for line in text.splitlines()) <= 30


def test_off_a_terminal_a_cell_holding_a_line_break_stays_on_its_row() -> None:
    table = Table()
    table.add_column("note")
    table.add_row("two\nlines")
    assert printed(FittedTable(table)) == "note\ntwo\\nlines\n"


def test_ascii_output_spells_out_etl_clis_symbols_and_escapes_other_characters() -> None:
    out = io.StringIO()
    AsciiStream(out).write("run 1 · 5 rows — 0.2s … a → b café")
    assert out.getvalue() == "run 1 - 5 rows - 0.2s ... a -> b caf\\xe9"


def test_ascii_output_draws_a_terminal_table_with_ascii_lines() -> None:
    text = printed(stages_table(), terminal=True, width=60, ascii_only=True)
    assert text.isascii()
    assert "| stage" in text and LONG in text


def test_off_a_terminal_an_indented_block_keeps_long_lines_whole() -> None:
    out = io.StringIO()
    console = Console(file=out, width=40, color_system=None)
    print_indented(console, Text("x" * 100 + "\nshort"), indent=4)
    assert out.getvalue() == "    " + "x" * 100 + "\n    short\n"


def sink(status: str, rows: int | None, **details: object) -> StageResult:
    return StageResult("out", "sink", "parquet", status, rows_out=rows, details=dict(details))


def test_outputs_name_each_sink_its_rows_and_its_target() -> None:
    results = [
        StageResult("orders", "source", "csv", "ok", rows_out=1204),
        StageResult("orders_out", "sink", "parquet", "ok", 1204, 1204, details={"target": "/srv/o", "mode": "append"}),
        StageResult("t", "sink", "kafka", "ok", 3, 3, details={"target": "kafka topic t", "mode": "append"}),
    ]
    assert output_lines(results) == [
        "  orders_out  1,204 rows written to /srv/o (append)",
        "  t           3 rows written to kafka topic t (append)",
    ]


def test_outputs_name_the_database_of_a_table() -> None:
    details = {"target": "public.orders", "mode": "upsert", "database": "jdbc:postgresql://db:5432/shop"}
    assert output_lines([sink("ok", 2, **details)]) == [
        "  out  2 rows written to public.orders at jdbc:postgresql://db:5432/shop (upsert)"
    ]


def test_outputs_say_a_sink_that_did_not_publish_wrote_nothing() -> None:
    assert output_lines([sink("failed", None), sink("not_run", None)]) == [
        "  out  nothing written (failed)",
        "  out  nothing written (not_run)",
    ]


def test_outputs_say_an_ignore_sink_left_its_existing_target_alone() -> None:
    details = {"target": "/srv/o", "mode": "ignore", "skipped": "target exists"}
    assert output_lines([sink("skipped", None, **details)]) == ["  out  nothing written: /srv/o exists (mode ignore)"]


def test_outputs_of_a_stopped_stream_count_the_rows_its_micro_batches_wrote() -> None:
    assert output_lines([sink("stopped", 42, checkpoint="/c")]) == ["  out  42 rows written (stopped)"]


def test_off_a_terminal_a_schema_tree_keeps_long_lines_whole() -> None:
    struct = "struct<" + ", ".join(f"field_{i}: string" for i in range(8)) + ">"
    tree = schema_tree("schema", [SchemaField("order", struct, True), SchemaField("id", "int", False)])
    assert printed(tree, width=30) == f"schema\n├── order: {struct}\n└── id: int not null\n"
