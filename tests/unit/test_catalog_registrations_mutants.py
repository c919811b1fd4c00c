"""What ``validate`` says of a sink registering in an iceberg catalog, found untested by mutation testing (mutmut)
of etl_cli/model/catalog.py (``check_registrations``, ``_registering_sinks``).

Pins the error of each sink whose ``catalog:`` names an iceberg catalog of the project, word for word with its hint
and at the catalog's name (the value of ``catalog: tables``, the ``name:`` of ``catalog: {name: tables}``); one such
sink does not end the walk over the sinks after it, and neither does a sink without ``catalog:`` before them.
Expected places are computed from the YAML lines below. No JVM.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.model.catalog import check_registrations

from .helpers import column, make_project, said

PROJECT = """\
name: shop
catalogs:
  hive: {type: hive_metastore}
  tables: {type: iceberg, catalog_type: hadoop, warehouse: lake}
"""

# a sink without catalog: first, then two sinks registering in the iceberg catalog (short and long form)
SINKS = [
    "sources: [{name: s, type: csv, path: s.csv}]",
    "sinks:",
    "  - {name: plain, type: json, input: s, path: p}",
    "  - {name: short, type: parquet, input: s, path: a, catalog: tables}",
    "  - {name: long, type: parquet, input: s, path: b, catalog: {name: tables}}",
]


def registration_problems(root: Path, lines: list[str]) -> list[tuple[str, str, str | None, int, int]]:
    """What ``check_registrations`` says of pipeline p/pipeline.yaml (``lines``) in the project above."""
    make_project(root, {"p/pipeline.yaml": "\n".join(lines) + "\n"}, project=PROJECT)
    loaded = load_pipeline(root / "p", None, environ={})
    return [said(d) for d in check_registrations(loaded.document, loaded.project, loaded.provenance, registry())]


def test_each_sink_registering_in_an_iceberg_catalog_is_an_error_at_the_catalog_name_saying_what_to_do_instead(
    tmp_path: Path,
) -> None:
    hint = "write the table with the iceberg sink, or register in a hive_metastore or glue catalog"

    def said_of(sink: str) -> str:
        return f"sink '{sink}': catalog 'tables' is an iceberg catalog, which holds iceberg tables"

    assert registration_problems(tmp_path, SINKS) == [
        ("catalog-kind", said_of("short"), hint, 4, column(SINKS[3], "tables")),
        ("catalog-kind", said_of("long"), hint, 5, column(SINKS[4], "tables")),
    ]
