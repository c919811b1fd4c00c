"""Importing this module registers every built-in plug-in (each class is decorated with ``@register``).

It imports no pyspark: ``validate`` imports it to build the schema without starting a JVM.
"""

from __future__ import annotations

from etl_cli.plugins.sinks import files as sink_files
from etl_cli.plugins.sources import files as source_files
from etl_cli.plugins.transforms import aggregate, columns, deduplicate, join, sql, union, window

__all__ = ["aggregate", "columns", "deduplicate", "join", "sink_files", "source_files", "sql", "union", "window"]
