"""Importing this module registers every built-in plug-in (each class is decorated with ``@register``).

It imports no pyspark: ``validate`` imports it to build the schema without starting a JVM.
"""

from __future__ import annotations

from etl_cli.plugins.metrics import pushgateway, textfile
from etl_cli.plugins.quality import dataset as dataset_checks
from etl_cli.plugins.quality import row as row_checks
from etl_cli.plugins.sinks import delta as sink_delta
from etl_cli.plugins.sinks import files as sink_files
from etl_cli.plugins.sinks import iceberg as sink_iceberg
from etl_cli.plugins.sinks import jdbc as sink_jdbc
from etl_cli.plugins.sinks import kafka as sink_kafka
from etl_cli.plugins.sinks import mongodb as sink_mongodb
from etl_cli.plugins.sinks import opensearch as sink_opensearch
from etl_cli.plugins.sinks import redis as sink_redis
from etl_cli.plugins.sinks import rest as sink_rest
from etl_cli.plugins.sources import delta as source_delta
from etl_cli.plugins.sources import files as source_files
from etl_cli.plugins.sources import geojson as source_geojson
from etl_cli.plugins.sources import iceberg as source_iceberg
from etl_cli.plugins.sources import jdbc as source_jdbc
from etl_cli.plugins.sources import kafka as source_kafka
from etl_cli.plugins.sources import mongodb as source_mongodb
from etl_cli.plugins.sources import opensearch as source_opensearch
from etl_cli.plugins.sources import redis as source_redis
from etl_cli.plugins.sources import rest as source_rest
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
    "sink_delta",
    "sink_files",
    "sink_iceberg",
    "sink_jdbc",
    "sink_kafka",
    "sink_mongodb",
    "sink_opensearch",
    "sink_redis",
    "sink_rest",
    "source_delta",
    "source_files",
    "source_geojson",
    "source_iceberg",
    "source_jdbc",
    "source_kafka",
    "source_mongodb",
    "source_opensearch",
    "source_redis",
    "source_rest",
    "split",
    "sql",
    "text",
    "textfile",
    "timeseries",
    "union",
    "values",
    "window",
]
