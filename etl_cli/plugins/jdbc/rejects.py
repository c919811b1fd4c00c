"""Rows the database refuses, found before the publish so that the others can be loaded (``on_reject: dead_letter``).

The JDBC sink stages every row, then publishes the staging table with one statement; a
single refused row (NOT NULL, CHECK, foreign key, a value too long or out of range, a text
that is not a number or a date) would fail that statement and the run. With
``on_reject: dead_letter`` the sink finds the refused rows first:

1. **The staging table takes any row.** It is created typed as the target but without its
   constraints (MySQL's ``CREATE TABLE ... AS SELECT`` keeps NOT NULL, so every column is made
   nullable). Columns the DataFrame holds as text are staged as unbounded text, and numbers
   going into numeric columns as the DataFrame's own type (BIGINT, DOUBLE, DECIMAL(p,s)), so
   Spark's insert cannot fail on a length or a range; the publish converts them to the
   target's types (PostgreSQL: an explicit CAST from text to non-text types; MySQL converts
   on insert, and refuses bad values in strict mode, its default). A row number column
   (``etl_row_``, filled by the database) identifies each staged row.
2. **A trial publish, bisected.** In a transaction that is always rolled back, the publish
   statement runs over all staged rows behind a SAVEPOINT. If the database refuses it for a
   row's values (SQLSTATE classes 22 and 23, MySQL's 1265, 1366, 3819, 4025) the range of row
   numbers is split in two and each half tried in turn; a half that succeeds stays applied, so
   the rows tried after it meet the table as the real publish will (a second row with the same
   unique value is refused, the first is not). A single row that is refused is set aside with
   the database's message. k refused rows among n cost O(k log n) statements; more than
   ``max_rejects`` stops the run.
3. The refused rows are read back (with Spark, as JSON in the DataFrame's own column names
   and types, for replay), deleted from staging, and returned as the write's ``rejected`` rows;
   the commit then publishes the rest as usual.

What is not caught: a statement refused for something other than a row's values (a missing
privilege, a lock timeout, a type that cannot be converted at all) fails the run as before;
dates and timestamps are staged in the target's type, so one the database cannot store
fails Spark's insert; a table changed by someone else between the trial and the commit can
still make the commit fail (the run then fails and the target is unchanged). Without strict
mode, MySQL stores truncated values instead of refusing them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from etl_cli.errors import RunError
from etl_cli.plugins.jdbc.connection import JdbcConnection, is_row_error, java_message
from etl_cli.plugins.jdbc.dialects import Dialect
from etl_cli.plugins.jdbc.options import ConnectionSettings
from etl_cli.plugins.spark_types import quote

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

#: the staging table's row number column
ROW_ID = "etl_row_"
_STRING_TYPES = ("string", "varchar", "char")
_DELETE_CHUNK = 1000


@dataclass(frozen=True)
class Refusal:
    """A staged row the database refused, and its message."""

    row_id: int
    reason: str


def open_staging(
    conn: JdbcConnection, namespace: str | None, name: str, columns: Sequence[str], spark_types: Mapping[str, str]
) -> dict[str, str]:
    """Make the (empty) staging table take any row; return the casts its publish needs (column → SQL type)."""
    dialect = conn.settings.dialect
    if ROW_ID in columns:
        raise RunError(f"on_reject dead_letter needs the column name {ROW_ID} for itself; rename that column")
    found = conn.query(dialect.staging_column_types(namespace, name))
    described = {str(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in found}
    retyped: dict[str, str] = {}
    casts: dict[str, str] = {}
    for column in columns:
        cast_type, category, full_type = described[column]
        spark_type = spark_types[column]
        text = spark_type.split("(")[0] in _STRING_TYPES
        wide = dialect.staging_type(spark_type)
        if wide is not None and (text or category == "numeric"):
            retyped[column] = wide
            if text and category != "string" and not dialect.mysql_family:
                casts[column] = cast_type
        elif dialect.mysql_family:
            retyped[column] = full_type  # the same type, made nullable
    conn.execute(dialect.open_staging(dialect.qualified(namespace, name), retyped, ROW_ID))
    return casts


def find_refusals(
    conn: JdbcConnection,
    staging: str,
    publish: Callable[[str], str],
    before: Sequence[str],
    limit: int,
) -> list[Refusal]:
    """The staged rows the publish statement ``publish(where)`` is refused for, by a bisected trial (module doc)."""
    dialect = conn.settings.dialect
    row_id = dialect.quote_identifier(ROW_ID)
    bounds = conn.query(f"SELECT MIN({row_id}), MAX({row_id}) FROM {staging}")
    if not bounds or bounds[0][0] is None:
        return []
    low, high = int(bounds[0][0]), int(bounds[0][1])
    with conn.trial():
        for statement in before:
            conn.execute(statement)
        return _bisect(conn, dialect, staging, publish, low, high, limit)


def _bisect(
    conn: JdbcConnection, dialect: Dialect, staging: str, publish: Callable[[str], str], low: int, high: int, limit: int
) -> list[Refusal]:
    refused: list[Refusal] = []
    pending = [(low, high)]
    indexed = dialect.mysql_family  # the row number is MySQL's primary key
    while pending:
        lo, hi = pending.pop()
        error = conn.attempt(publish(dialect.row_range(ROW_ID, lo, hi)), is_row_error)
        if error is None:
            continue
        if lo == hi:
            refused.append(Refusal(lo, conn.settings.scrub(java_message(error))))
            if len(refused) > limit:
                raise RunError(
                    f"the database refused more than {limit} row(s); the first: {refused[0].reason}",
                    hint="fix the rows or the table, or raise max_rejects (finding each refused row costs statements)",
                )
            continue
        if not indexed:  # small ranges then read a few rows instead of the whole staging table
            conn.execute(f"CREATE INDEX ON {staging} ({dialect.quote_identifier(ROW_ID)})")
            indexed = True
        middle = (lo + hi) // 2
        pending += [(middle + 1, hi), (lo, middle)]  # the lower half first
    return refused


def refused_rows(
    spark: SparkSession,
    settings: ConnectionSettings,
    staging: str,
    staged_columns: Sequence[str],
    schema: StructType,
    refusals: Sequence[Refusal],
) -> DataFrame:
    """The refused rows as ``reason, row`` (the row as JSON with the DataFrame's column names and types)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    dialect = settings.dialect
    row_id = dialect.quote_identifier(ROW_ID)
    ids = ", ".join(str(r.row_id) for r in refusals)
    query = f"SELECT {row_id}, {dialect.column_list(staged_columns)} FROM {staging} WHERE {row_id} IN ({ids})"
    read = spark.read.format("jdbc").options(**settings.spark_options()).option("query", query).load()
    reasons = {r.row_id: r.reason for r in refusals}
    data = [(reasons[int(row[0])], *row[1:]) for row in read.collect()]
    fields = [StructField("reason", StringType()), *read.schema.fields[1:]]
    frame = spark.createDataFrame(data, StructType(fields))
    values = [
        F.col(quote(staged)).cast(field.dataType).alias(field.name)
        for staged, field in zip(staged_columns, schema.fields, strict=True)
    ]
    return frame.select("reason", F.to_json(F.struct(*values), {"ignoreNullFields": "false"}).alias("row"))


def delete_refused(conn: JdbcConnection, staging: str, refusals: Sequence[Refusal]) -> None:
    """Remove the refused rows from the staging table, so the commit publishes the others."""
    row_id = conn.settings.dialect.quote_identifier(ROW_ID)
    for start in range(0, len(refusals), _DELETE_CHUNK):
        ids = ", ".join(str(r.row_id) for r in refusals[start : start + _DELETE_CHUNK])
        conn.execute(f"DELETE FROM {staging} WHERE {row_id} IN ({ids})")
