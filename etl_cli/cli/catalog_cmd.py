"""``etl-cli catalog list|show|search``: the tables the project's sinks registered (use case in
:mod:`etl_cli.usecases.catalog`).

Text output is plain aligned columns, never cut, so it reads the same on a terminal, in a pipe and in a log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from etl_cli.cli.options import FormatOpt, TakesDebug, TextOrJson
from etl_cli.usecases.catalog import Column, TableEntry, find_table, registered_tables, search

catalog_app = typer.Typer(
    name="catalog",
    help="List, show and search the tables the project's sinks registered in its catalogs (see docs/catalog.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ProjectOpt = Annotated[
    Path,
    typer.Option("--project", "-p", help="A folder of the project (its etl-project.yaml is there or above)."),
]
CatalogOpt = Annotated[str | None, typer.Option("--catalog", "-c", help="Only this catalog of etl-project.yaml.")]
HEADER = ("CATALOG", "TABLE", "FORMAT", "PARTITIONS", "PII", "REGISTERED BY", "LOCATION")


@catalog_app.command("list", cls=TakesDebug)
def list_command(
    catalog: CatalogOpt = None, project: ProjectOpt = Path("."), output_format: FormatOpt = TextOrJson.text
) -> None:
    """Every table the project's sinks registered: catalog, table, format, partitions, PII columns, location.

    Reads the catalogs themselves: Glue through its API, the Hive metastore through a local Spark session.
    """
    tables = registered_tables(project, catalog)
    if output_format is TextOrJson.json:
        print(json.dumps({"tables": [t.to_json() for t in tables]}, indent=2))
    elif not tables:
        print("no tables registered by this project")
    else:
        _print_rows([HEADER, *(_row(t) for t in tables)])


@catalog_app.command("show", cls=TakesDebug)
def show_command(
    table: Annotated[str, typer.Argument(help="database.table (or table, or catalog:database.table).")],
    catalog: CatalogOpt = None,
    project: ProjectOpt = Path("."),
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """One table: location, format, owner, description, tags, columns with their types and tags, partitions."""
    found = find_table(registered_tables(project, catalog), table)
    if output_format is TextOrJson.json:
        print(json.dumps(found.to_json(), indent=2))
    else:
        _print_table(found)


@catalog_app.command("search", cls=TakesDebug)
def search_command(
    query: Annotated[str, typer.Argument(help="Text to look for (case-insensitive).")],
    catalog: CatalogOpt = None,
    project: ProjectOpt = Path("."),
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """The tables whose name, description, column names or tags (PII among them) contain QUERY, and where."""
    matches = search(registered_tables(project, catalog), query)
    if output_format is TextOrJson.json:
        found = [{"catalog": m.table.catalog, "table": m.table.qualified_name, "matched": m.matched} for m in matches]
        print(json.dumps({"query": query, "matches": found}, indent=2))
    elif not matches:
        print(f"no registered table matches '{query}'")
    else:
        _print_rows([(m.table.catalog, m.table.qualified_name, ", ".join(m.matched)) for m in matches])


def _row(table: TableEntry) -> tuple[str, ...]:
    by = table.registered_by
    return (
        table.catalog,
        table.qualified_name,
        table.format,
        str(len(table.partitions)) if table.partition_keys else "-",
        ", ".join(table.pii_columns) or "-",
        f"{by.get('pipeline', '?')}.{by.get('sink', '?')}",
        table.location,
    )


def _print_rows(rows: list[tuple[str, ...]]) -> None:
    """Aligned columns, the last one as long as it is."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]))


def _print_table(table: TableEntry) -> None:
    by = table.registered_by
    print(f"{table.catalog}:{table.qualified_name}")
    fields = [
        ("location", table.location),
        ("format", table.format),
        ("owner", table.owner or "-"),
        ("description", table.description or "-"),
        ("tags", ", ".join(f"{k}={v}" for k, v in table.tags.items()) or "-"),
        ("pii columns", ", ".join(table.pii_columns) or "-"),
        ("registered by", f"pipeline {by.get('pipeline')}, sink {by.get('sink')}, run {by.get('run_id')}"),
    ]
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        print(f"  {label.ljust(width)}  {value}")
    print("  columns:")
    _print_columns(table.columns)
    if table.partition_keys:
        print("  partition keys:")
        _print_columns(table.partition_keys)
        print(f"  partitions ({len(table.partitions)}): {', '.join(table.partitions) or '-'}")


def _print_columns(columns: tuple[Column, ...]) -> None:
    rows = [(c.name, c.type, ", ".join(c.tags)) for c in columns]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
    for name, type_text, tags in rows:
        print(f"    {name.ljust(widths[0])}  {type_text.ljust(widths[1])}  {tags}".rstrip())
