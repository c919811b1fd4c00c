"""The JDBC source: a table or a query, parallel reads by a partition column, incremental reads.

Incremental reads (``incremental: {column: updated_at}``) keep the largest value of the
column read so far (the watermark) in the run's state store. A run first asks the
database for the current maximum above the watermark, then reads exactly the rows
``watermark < column <= maximum``; that maximum becomes the new watermark once every
sink of the run has committed. So a failed run reads the same rows again, and rows
written while the run reads are left for the next run, never skipped. Rows that arrive
later with a value at or below the watermark are not picked up (use a column the
database sets on every write, or a full refresh).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.jdbc.connection import JdbcConnection, connect, database_error
from etl_cli.plugins.jdbc.dialects import Dialect, package_for
from etl_cli.plugins.jdbc.options import CONNECTION_SCHEMA, connection_problems, connection_settings
from etl_cli.plugins.registry import register

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_BOUND = {"type": ["integer", "number", "string"], "minLength": 1}
_PARTITION_KEYS = ("partition_column", "num_partitions")
_BOUND_KEYS = ("lower_bound", "upper_bound")


@dataclass(frozen=True)
class Watermark:
    """The largest value of the incremental column read so far, as SQL text."""

    column: str
    value: str
    numeric: bool

    def literal(self, dialect: Dialect) -> str:
        return self.value if self.numeric else dialect.literal(self.value)

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
    description = (
        "Read a table or a query over JDBC (PostgreSQL, MySQL, MariaDB; others with a driver), "
        "optionally in parallel by a partition column, optionally incrementally by a watermark column."
    )
    required_options = ("url",)
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "table": {"type": "string", "minLength": 1, "description": "Table (or schema.table) to read; or use query."},
        "query": {
            "type": "string",
            "minLength": 1,
            "description": "SELECT to read instead of a table; it runs as a subquery, so no trailing semicolon.",
        },
        "partition_column": {
            "type": "string",
            "minLength": 1,
            "description": "Numeric, date or timestamp column to split the read into num_partitions parallel "
            "queries by ranges of its values.",
        },
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
                "column": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Watermark column that grows with every change: updated_at, an id...",
                }
            },
        },
    }

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        url = options.get("url")
        package = package_for(url, options.get("driver")) if isinstance(url, str) else None
        return (package,) if package else ()

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
        with connect(ctx.spark, lambda resolve: connection_settings(stage.options, resolve), ctx.with_rotation) as conn:
            relation = self._relation(ctx, stage, conn)
            partitioning = self._partitioning(stage, conn, relation)
        settings = conn.settings
        reader = ctx.spark.read.format("jdbc").options(**settings.spark_options())
        reader = reader.option("dbtable", relation).option("fetchsize", int(stage.option("fetch_size", 1000)))
        reader = reader.options(**partitioning)
        try:
            return reader.load()
        except Exception as exc:
            raise database_error(f"reading {stage.label}", exc, settings) from None

    def _base(self, stage: StageSpec) -> str:
        """What to select from: the table as written, or the query as a derived table."""
        if query := stage.option("query"):
            return f"({str(query).strip().rstrip(';')}) etl_query"
        return str(stage.options["table"])

    def _relation(self, ctx: RunContext, stage: StageSpec, conn: JdbcConnection) -> str:
        """The ``dbtable`` Spark reads: the base, narrowed to the new rows of an incremental read."""
        dialect = conn.settings.dialect
        base = self._base(stage)
        incremental = stage.option("incremental")
        if not incremental:
            return base
        column = str(incremental["column"])
        # without a state store (dry-run, debug) the stage reads as a first run would, and keeps nothing
        previous = Watermark.from_state(column, ctx.state.get(stage.name)) if ctx.state is not None else None
        above = f" WHERE {column} > {previous.literal(dialect)}" if previous else ""
        newest = self._newest(conn, stage, f"SELECT MAX({column}) FROM {base}{above}", column)
        if newest is None:
            return f"(SELECT * FROM {base} WHERE 1 = 0) etl_src"
        if ctx.state is not None:
            ctx.state.save_on_success(stage.name, newest.to_state())
        lower = f"{column} > {previous.literal(dialect)} AND " if previous else ""
        return f"(SELECT * FROM {base} WHERE {lower}{column} <= {newest.literal(dialect)}) etl_src"

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

    def _partitioning(self, stage: StageSpec, conn: JdbcConnection, relation: str) -> dict[str, str]:
        """Spark's partitioning options; bounds not given come from the column's minimum and maximum."""
        column = stage.option("partition_column")
        if not column:
            return {}
        lower, upper = stage.option("lower_bound"), stage.option("upper_bound")
        if lower is None or upper is None:
            low, high = self._min_max(conn, stage, relation, str(column))
            if low is None or high is None:
                return {}  # nothing to read: one partition does
            lower = low if lower is None else lower
            upper = high if upper is None else upper
        return {
            "partitionColumn": str(column),
            "lowerBound": str(lower),
            "upperBound": str(upper),
            "numPartitions": str(stage.options["num_partitions"]),
        }

    def _min_max(self, conn: JdbcConnection, stage: StageSpec, relation: str, column: str) -> tuple[Any, Any]:
        sql = f"SELECT MIN({column}), MAX({column}) FROM {relation}"
        try:
            rows = conn.query(sql)
        except Exception as exc:
            raise database_error(f"finding the bounds of {column} for {stage.label}", exc, conn.settings) from None
        return (rows[0][0], rows[0][1]) if rows else (None, None)
