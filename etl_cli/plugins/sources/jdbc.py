"""The JDBC source: a table or a query, parallel reads by a partition column, incremental reads.

Incremental reads (``incremental: {column: updated_at}``) keep the largest value of the
column read so far (the watermark) in the run's state store. A run first asks the
database for the current maximum above the watermark, then reads exactly the rows
``watermark < column <= maximum``; that maximum becomes the new watermark once every
sink of the run has committed. So a failed run reads the same rows again, and rows
written while the run reads are left for the next run, never skipped. Rows that arrive
later with a value at or below the watermark are not picked up (use a column the
database sets on every write, or a full refresh).

The table and the columns named in the options reach the statements only quoted by the
dialect (:mod:`etl_cli.plugins.jdbc.identifiers`), and watermarks only as literals: a number
checked to be one, anything else a string literal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.errors import RunError
from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.jdbc.connection import JdbcConnection, connect, database_error
from etl_cli.plugins.jdbc.dialects import Dialect
from etl_cli.plugins.jdbc.identifiers import (
    Identifier,
    TableName,
    column_option,
    column_schema,
    table_option,
    table_schema,
)
from etl_cli.plugins.jdbc.options import CONNECTION_SCHEMA, connection_problems, connection_settings, driver_packages
from etl_cli.plugins.registry import register

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_BOUND = {"type": ["integer", "number", "string"], "minLength": 1}
_PARTITION_KEYS = ("partition_column", "num_partitions")
_BOUND_KEYS = ("lower_bound", "upper_bound")
#: how a number reaches a watermark (Python's str of an int or Decimal, repr of a float)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


@dataclass(frozen=True)
class Watermark:
    """The largest value of the incremental column read so far, as SQL text."""

    column: str
    value: str
    numeric: bool

    def literal(self, dialect: Dialect) -> str:
        """The value in a statement: the number, checked to be one (the state file can be edited), or a string
        literal (the database converts it to the column's type)."""
        if not self.numeric:
            return dialect.literal(self.value)
        if not _NUMBER.fullmatch(self.value):
            raise RunError(
                f"the stored watermark of {self.column} is not a number: {self.value!r}",
                hint="run with --full-refresh to read everything again and store a new watermark",
            )
        return self.value

    def to_state(self) -> dict[str, Any]:
        return {"column": self.column, "value": self.value, "numeric": self.numeric}

    @classmethod
    def from_state(cls, column: str, state: Mapping[str, Any] | None) -> Watermark | None:
        """The stored watermark, unless there is none or it belongs to another column."""
        if not state or state.get("column") != column or state.get("value") is None:
            return None
        return cls(column, str(state["value"]), bool(state.get("numeric")))


@register
class JdbcSource(Source):
    type = "jdbc"
    needs_driver_jvm = "it opens JDBC connections in Spark's driver JVM (schema checks, watermarks, transactions)"
    description = (
        "Read a table or a query over JDBC (PostgreSQL, MySQL, MariaDB; others with a driver), "
        "optionally in parallel by a partition column, optionally incrementally by a watermark column."
    )
    required_options = ("url",)
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "table": table_schema("Table (or schema.table) to read; or use query."),
        "query": {
            "type": "string",
            "minLength": 1,
            "description": "SELECT to read instead of a table; it runs as a subquery, so no trailing semicolon.",
        },
        "partition_column": column_schema(
            "Numeric, date or timestamp column to split the read into num_partitions parallel queries by ranges "
            "of its values."
        ),
        "num_partitions": {
            "type": "integer",
            "minimum": 1,
            "description": "Parallel queries (and connections) of a partitioned read; also its upper limit.",
        },
        "lower_bound": {
            **_BOUND,
            "description": "Lowest partition_column value the ranges are split from (rows below still go to the "
            "first partition). Default: the column's minimum, asked from the database.",
        },
        "upper_bound": {
            **_BOUND,
            "description": "Highest partition_column value the ranges are split to (rows above still go to the "
            "last partition). Default: the column's maximum, asked from the database.",
        },
        "fetch_size": {
            "type": "integer",
            "minimum": 1,
            "default": 1000,
            "description": "Rows fetched per round trip (the driver's default can be all rows at once).",
        },
        "incremental": {
            "type": "object",
            "additionalProperties": False,
            "required": ["column"],
            "description": "Read only rows whose column is above the largest value read by the last successful "
            "run (kept in the state dir; the first run and run --full-refresh read everything).",
            "properties": {
                "column": column_schema("Watermark column that grows with every change: updated_at, an id...")
            },
        },
    }

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return driver_packages(options)

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = connection_problems(options)
        if ("table" in options) == ("query" in options):
            problems.append(OptionProblem((), "set exactly one of table and query"))
        given = [k for k in _PARTITION_KEYS if k in options]
        if given and len(given) != len(_PARTITION_KEYS):
            missing = next(k for k in _PARTITION_KEYS if k not in options)
            problems.append(OptionProblem((given[0],), f"a partitioned read needs {missing} too"))
        for key in _BOUND_KEYS:
            if key in options and "partition_column" not in options:
                problems.append(OptionProblem((key,), f"{key} applies only with partition_column"))
        return problems

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        names = SourceNames.of(stage)  # before connecting: a name breaking the rule never reaches the database
        with connect(ctx.spark, lambda resolve: connection_settings(stage.options, resolve), ctx.with_rotation) as conn:
            relation = self._relation(ctx, stage, conn, names)
            partitioning = self._partitioning(stage, conn, relation, names.partition_column)
        settings = conn.settings
        reader = ctx.spark.read.format("jdbc").options(**settings.spark_options())
        reader = reader.option("dbtable", relation).option("fetchsize", int(stage.option("fetch_size", 1000)))
        reader = reader.options(**partitioning)
        try:
            return reader.load()
        except Exception as exc:
            raise database_error(f"reading {stage.label}", exc, settings) from None

    def _base(self, stage: StageSpec, dialect: Dialect, table: TableName | None) -> str:
        """What to select from: the table quoted by the dialect, or the query as a derived table."""
        if table is None:
            return f"({str(stage.options['query']).strip().rstrip(';')}) etl_query"
        return table.sql(dialect)

    def _relation(self, ctx: RunContext, stage: StageSpec, conn: JdbcConnection, names: SourceNames) -> str:
        """The ``dbtable`` Spark reads: the base, narrowed to the new rows of an incremental read."""
        dialect = conn.settings.dialect
        base = self._base(stage, dialect, names.table)
        column = names.incremental_column
        if column is None:
            return base
        key = str(stage.options["incremental"]["column"])
        # without a state store (dry-run, debug) the stage reads as a first run would, and keeps nothing
        previous = Watermark.from_state(key, ctx.state.get(stage.name)) if ctx.state is not None else None
        newest = self._newest(conn, stage, newest_sql(dialect, base, column, previous), key)
        if newest is None:
            return f"(SELECT * FROM {base} WHERE 1 = 0) etl_src"
        if ctx.state is not None:
            ctx.state.save_on_success(stage.name, newest.to_state())
        return window_sql(dialect, base, column, previous, newest)

    def _newest(self, conn: JdbcConnection, stage: StageSpec, sql: str, column: str) -> Watermark | None:
        try:
            rows = conn.query(sql)
        except Exception as exc:
            raise database_error(f"finding the newest {column} for {stage.label}", exc, conn.settings) from None
        value = rows[0][0] if rows else None
        if value is None:
            return None
        numeric = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
        return Watermark(column, repr(value) if isinstance(value, float) else str(value), numeric)

    def _partitioning(
        self, stage: StageSpec, conn: JdbcConnection, relation: str, column: Identifier | None
    ) -> dict[str, str]:
        """Spark's partitioning options; bounds not given come from the column's minimum and maximum.

        Spark gets the column's name as the database spells it: it finds it among the relation's columns
        (ignoring case) and quotes it itself."""
        if column is None:
            return {}
        lower, upper = stage.option("lower_bound"), stage.option("upper_bound")
        if lower is None or upper is None:
            low, high = self._min_max(conn, stage, relation, column)
            if low is None or high is None:
                return {}  # nothing to read: one partition does
            lower = low if lower is None else lower
            upper = high if upper is None else upper
        return {
            "partitionColumn": column.stored(conn.settings.dialect),
            "lowerBound": str(lower),
            "upperBound": str(upper),
            "numPartitions": str(stage.options["num_partitions"]),
        }

    def _min_max(self, conn: JdbcConnection, stage: StageSpec, relation: str, column: Identifier) -> tuple[Any, Any]:
        quoted = column.sql(conn.settings.dialect)
        sql = f"SELECT MIN({quoted}), MAX({quoted}) FROM {relation}"
        try:
            rows = conn.query(sql)
        except Exception as exc:
            raise database_error(f"finding the bounds of {column} for {stage.label}", exc, conn.settings) from None
        return (rows[0][0], rows[0][1]) if rows else (None, None)


@dataclass(frozen=True)
class SourceNames:
    """The names a JDBC source's options give, checked against the rule of identifiers.py."""

    table: TableName | None
    partition_column: Identifier | None
    incremental_column: Identifier | None

    @classmethod
    def of(cls, stage: StageSpec) -> SourceNames:
        """The stage's names; a ConfigError (exit 1) for one that breaks the rule, whatever path it came by."""
        return cls(
            table=table_option(stage) if "query" not in stage.options else None,
            partition_column=column_option(stage, "partition_column"),
            incremental_column=column_option(stage, "incremental", "column"),
        )


def newest_sql(dialect: Dialect, base: str, column: Identifier, previous: Watermark | None) -> str:
    """The query for the largest value of ``column`` in ``base`` (above the previous watermark)."""
    quoted = column.sql(dialect)
    above = f" WHERE {quoted} > {previous.literal(dialect)}" if previous else ""
    return f"SELECT MAX({quoted}) FROM {base}{above}"


def window_sql(dialect: Dialect, base: str, column: Identifier, previous: Watermark | None, newest: Watermark) -> str:
    """The rows of ``base`` above the previous watermark, up to the newest, as a derived table."""
    quoted = column.sql(dialect)
    lower = f"{quoted} > {previous.literal(dialect)} AND " if previous else ""
    return f"(SELECT * FROM {base} WHERE {lower}{quoted} <= {newest.literal(dialect)}) etl_src"
