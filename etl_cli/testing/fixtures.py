"""The DataFrames that replace a pipeline's sources in a test: inline rows, fixture files, generated rows.

Rows take the source's declared ``schema:`` when it has one (so a fixture is typed as the
real source would be), else Spark infers the types. Inline and generated rows are written as
JSON lines to a scratch file (so no Python worker starts) and read by Spark's JSON reader, which
turns ISO text into dates and timestamps and numbers into decimals as the schema says, and fails
on a value that does not fit (FAILFAST).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.config.yaml_loader import display_path
from etl_cli.errors import ConfigError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.spark_types import schema_ddl
from etl_cli.testing.spec import FIXTURE_FORMATS, Given

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def source_frame(
    spark: SparkSession,
    spec: PipelineSpec,
    stage: StageSpec,
    given: Given | None,
    scratch: Path,
    siblings: Sequence[Given] = (),
) -> DataFrame:
    """The frame a test gives ``stage`` instead of reading it: the ``given`` rows, or none at all.

    ``siblings``: what the test gives the other sources, so generated keys that reference one of them
    draw from its rows (inline or generated) as the test gives them.
    """
    schema = stage.option("schema")
    ddl = schema_ddl(schema) if schema else None
    if given is None:
        if ddl is None:
            raise ConfigError(
                f"source '{stage.name}' has no rows in this test and no declared schema to make an empty frame from",
                hint=f"add given.{stage.name} to the test (rows: [] is enough when the source declares a schema)",
            )
        return _from_json(spark, [], ddl, scratch)
    if given.file is not None:
        return _from_file(spark, given, ddl)
    rows = given.rows if given.rows is not None else _generated(spec, given, siblings)
    if not rows and ddl is None:
        raise ConfigError(
            f"given.{given.source}: no rows and no declared schema, so the columns are unknown",
            location=given.location,
            hint="give at least one row, or declare the source's schema",
        )
    return _from_json(spark, [json.dumps(row, default=_json_value) for row in rows], ddl, scratch)


def _generated(spec: PipelineSpec, given: Given, siblings: Sequence[Given]) -> Sequence[Mapping[str, Any]]:
    from etl_cli.testing.generate import GenSource, Parent, columns_for_source, source_rows

    assert given.generate is not None
    others: dict[str, Parent] = {}
    for other in siblings:
        if other.source != given.source and other.rows is not None:
            others[other.source] = other.rows
        elif other.source != given.source and other.generate is not None:
            others[other.source] = GenSource(columns_for_source(spec, other.source), other.generate, other.seed)
    return source_rows(spec, given.source, given.generate, given.seed, others)


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _from_json(spark: SparkSession, lines: list[str], ddl: str | None, scratch: Path) -> DataFrame:
    """Rows as JSON lines in a scratch file, read by Spark (the file stays until the whole invocation ends)."""
    path = scratch / f"{uuid.uuid4().hex}.json"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    reader = spark.read.option("mode", "FAILFAST")
    if ddl is not None:
        reader = reader.schema(ddl)
    return reader.json(str(path))


def _from_file(spark: SparkSession, given: Given, ddl: str | None) -> DataFrame:
    assert given.file is not None
    kind = FIXTURE_FORMATS.get(given.file.suffix.lower())
    if kind is None or not given.file.exists():
        problem = "cannot tell the format of" if kind is None else "no such file"
        raise ConfigError(f"given.{given.source}: {problem} {display_path(given.file)}", location=given.location)
    reader = spark.read.format(kind)
    if kind == "csv":
        reader = reader.option("header", "true").option("inferSchema", "true" if ddl is None else "false")
    if kind != "parquet":
        reader = reader.option("mode", "FAILFAST")
    if ddl is not None:
        reader = reader.schema(ddl)
    return reader.load(str(given.file))
