"""Importing this module registers every built-in plug-in (each class is decorated with ``@register``).

It imports no pyspark: ``validate`` imports it to build the schema without starting a JVM.
"""

from __future__ import annotations

from etl_cli.plugins.metrics import pushgateway, textfile
from etl_cli.plugins.quality import dataset as dataset_checks
from etl_cli.plugins.quality import row as row_checks
from etl_cli.plugins.sinks import files as sink_files
from etl_cli.plugins.sinks import jdbc as sink_jdbc
from etl_cli.plugins.sinks import kafka as sink_kafka
from etl_cli.plugins.sources import files as source_files
from etl_cli.plugins.sources import geojson as source_geojson
from etl_cli.plugins.sources import jdbc as source_jdbc
from etl_cli.plugins.sources import kafka as source_kafka
from etl_cli.plugins.transforms import (
    aggregate,
    columns,
    crypto,
    deduplicate,
    geo,
    housekeeping,
    join,
    lookup,
    mask,
    ml,
    nested,
    ordering,
    reshape,
    split,
    sql,
    text,
    timeseries,
    union,
    values,
    window,
)

__all__ = [
    "aggregate",
    "columns",
    "crypto",
    "dataset_checks",
    "deduplicate",
    "geo",
    "housekeeping",
    "join",
    "lookup",
    "mask",
    "ml",
    "nested",
    "ordering",
    "pushgateway",
    "reshape",
    "row_checks",
    "sink_files",
    "sink_jdbc",
    "sink_kafka",
    "source_files",
    "source_geojson",
    "source_jdbc",
    "source_kafka",
    "split",
    "sql",
    "text",
    "textfile",
    "timeseries",
    "union",
    "values",
    "window",
]
