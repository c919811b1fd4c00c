"""What the built-in plug-ins share: option-schema fragments, declared Spark types and
schemas, order-by specs, and Spark's errors on user-written SQL turned into ConfigErrors.

Everything here that is used while validating stays free of pyspark; the functions that
build Spark objects import it when called.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, StageSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

# ---------------------------------------------------------------------------
# Option-schema fragments (JSON Schema properties, each with its description)
# ---------------------------------------------------------------------------

SCALAR_TYPES = ["string", "number", "boolean"]


def string_list(description: str, min_items: int = 0) -> dict[str, Any]:
    """A list of non-empty strings."""
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": min_items,
        "description": description,
    }


def string_map(description: str, min_properties: int = 1) -> dict[str, Any]:
    """A mapping of names to non-empty strings (YAML keeps the written order)."""
    return {
        "type": "object",
        "additionalProperties": {"type": "string", "minLength": 1},
        "minProperties": min_properties,
        "description": description,
    }


def declared_schema(description: str) -> dict[str, Any]:
    """A schema the user declares: Spark DDL (``"id INT, name STRING"``) or a mapping column: type, in order."""
    return {
        "type": ["string", "object"],
        "minLength": 1,
        "additionalProperties": {"type": "string", "minLength": 1},
        "minProperties": 1,
        "description": description,
    }


def scalar_map(description: str) -> dict[str, Any]:
    """A mapping of option names to strings, numbers or booleans (reader and writer options)."""
    return {"type": "object", "additionalProperties": {"type": SCALAR_TYPES}, "description": description}


def managed_option_problems(options: Mapping[str, Any], managed: Mapping[str, str]) -> list[OptionProblem]:
    """Reader/writer ``options`` that a key of the plug-in already sets (``managed``: option → key).

    One setting in two places would make the winner a surprise, so it is refused.
    """
    passed = options.get("options")
    if not isinstance(passed, Mapping):
        return []
    lowered = {str(name).lower(): name for name in passed}
    return [
        OptionProblem(("options", lowered[option.lower()]), f"set '{key}' instead of options.{option}")
        for option, key in managed.items()
        if option.lower() in lowered
    ]


def order_by_schema(description: str) -> dict[str, Any]:
    """A list of sort keys such as ``updated_at desc`` or ``amount asc nulls last``."""
    return string_list(description + ' Each entry: "column", "column desc" or "column asc nulls last".')


# ---------------------------------------------------------------------------
# Declared types and schemas
# ---------------------------------------------------------------------------

_NUMERIC_TYPES = {"byte", "tinyint", "short", "smallint", "int", "integer", "long", "bigint", "float", "real", "double"}
_EXACT_TYPES = {"decimal", "dec", "numeric"}
_TEXT_TYPES = {"string", "varchar", "char", "character", "binary"}
_TIME_TYPES = {"date", "timestamp", "timestamp_ltz", "timestamp_ntz", "interval"}
_OTHER_TYPES = {"boolean", "bool", "array", "map", "struct", "variant", "void"}
#: Spark SQL type names (the leading word of a type); parameters and nested types follow them.
TYPE_NAMES = frozenset(_NUMERIC_TYPES | _EXACT_TYPES | _TEXT_TYPES | _TIME_TYPES | _OTHER_TYPES)

_LEADING_WORD = re.compile(r"\s*([A-Za-z_]+)")
_DDL_ENTRY = re.compile(r"\s*(`(?:[^`]|``)+`|[A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)", re.DOTALL)


def type_problem(type_text: str) -> str | None:
    """Why ``type_text`` is not a Spark type, judged by its leading word; None when it looks right."""
    match = _LEADING_WORD.match(type_text)
    if match is None:
        return f"'{type_text}' is not a Spark SQL type"
    if match.group(1).lower() not in TYPE_NAMES:
        return f"unknown type '{match.group(1)}'"
    return None


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split at ``separator`` outside <>, (), quotes and backticks: ``a MAP<STRING, INT>, b INT`` → 2 parts."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "`'\"":
            quote = char
        elif char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def declared_schema_problems(schema: Any, key: str = "schema") -> list[OptionProblem]:
    """Offline checks of a declared schema: DDL text or a column → type mapping.

    Spark parses the schema completely at run time; this catches what can be seen without a JVM.
    """
    hint = 'write "id INT, name STRING" or a mapping {id: INT, name: STRING}'
    if isinstance(schema, Mapping):
        if not schema:
            return [OptionProblem((key,), "the declared schema has no columns", hint)]
        return [
            OptionProblem((key, column), problem, f"Spark SQL types: {', '.join(sorted(TYPE_NAMES))}")
            for column, type_text in schema.items()
            if isinstance(type_text, str) and (problem := type_problem(type_text))
        ]
    if isinstance(schema, str):
        return _ddl_problems(schema, key, hint)
    return []


def _ddl_problems(ddl: str, key: str, hint: str) -> list[OptionProblem]:
    if not ddl.strip():
        return [OptionProblem((key,), "the declared schema is empty", hint)]
    problems = []
    for entry in split_top_level(ddl):
        match = _DDL_ENTRY.match(entry)
        if match is None:
            problems.append(OptionProblem((key,), f"'{entry.strip()}' is not 'column TYPE'", hint))
        elif problem := type_problem(match.group(2)):
            problems.append(OptionProblem((key,), f"column {match.group(1)}: {problem}", hint))
    return problems


def quote(name: str) -> str:
    """``name`` as a Spark SQL identifier, so dots and spaces in column or view names are literal."""
    return "`" + name.replace("`", "``") + "`"


def schema_ddl(schema: str | Mapping[str, str]) -> str:
    """A declared schema as the DDL text Spark's reader takes (a mapping keeps its order)."""
    if isinstance(schema, str):
        return schema
    return ", ".join(f"{quote(column)} {type_text}" for column, type_text in schema.items())


def output_name(entry: object) -> str | None:
    """The column a ``select`` or ``group_by`` entry becomes, parsed as Spark SQL (sqlglot): its alias (``upper(x)
    AS big``, ``upper(x) big``) or the column it names (``x``, ``` `x` ```, ``t.x``); None for an expression without
    an alias (only Spark knows its name), ``*`` and text that does not parse."""
    import sqlglot  # imported here: the commands that never read an expression do not pay for it
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        parsed = sqlglot.parse_one(str(entry), read="spark")
    except SqlglotError:
        return None
    if isinstance(parsed, exp.Alias):
        return parsed.alias
    if isinstance(parsed, exp.Column) and not parsed.is_star:
        return parsed.name
    return None


# ---------------------------------------------------------------------------
# Order-by specs
# ---------------------------------------------------------------------------

_SORT_KEY = re.compile(
    r"^\s*(?P<expression>.+?)(?:\s+(?P<direction>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?\s*$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class SortKey:
    """One ``order_by`` entry: an expression, its direction and where nulls go (None: Spark's default)."""

    expression: str
    descending: bool = False
    nulls_first: bool | None = None

    @classmethod
    def parse(cls, text: str) -> SortKey:
        match = _SORT_KEY.match(text)
        if match is None:
            raise ValueError(f"'{text}' is not a sort key")
        nulls = match.group("nulls")
        return cls(
            expression=match.group("expression"),
            descending=(match.group("direction") or "asc").lower() == "desc",
            nulls_first=None if nulls is None else nulls.lower() == "first",
        )

    def column(self) -> Column:
        from pyspark.sql import functions as F

        col = F.expr(self.expression)
        if self.nulls_first is None:
            return col.desc() if self.descending else col.asc()
        if self.descending:
            return col.desc_nulls_first() if self.nulls_first else col.desc_nulls_last()
        return col.asc_nulls_first() if self.nulls_first else col.asc_nulls_last()


def sort_key_problems(entries: Any, key: str = "order_by") -> list[OptionProblem]:
    """Entries of an ``order_by`` list that do not parse as sort keys."""
    if not isinstance(entries, list):
        return []
    problems = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            try:
                SortKey.parse(entry)
            except ValueError as exc:
                problems.append(OptionProblem((key, index), str(exc), 'write "column", "column desc", ...'))
    return problems


def sort_columns(entries: Sequence[str]) -> list[Column]:
    """Spark sort columns for an ``order_by`` list."""
    return [SortKey.parse(entry).column() for entry in entries]


# ---------------------------------------------------------------------------
# Inputs of single-input transforms
# ---------------------------------------------------------------------------


def single(inputs: Mapping[str, DataFrame]) -> DataFrame:
    """The one input of a single-input transform."""
    (df,) = inputs.values()
    return df


# ---------------------------------------------------------------------------
# Errors on user-written SQL
# ---------------------------------------------------------------------------


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error message (Spark's carry the whole plan below it)."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__


@contextmanager
def user_sql(stage: StageSpec, what: str) -> Iterator[None]:
    """Report Spark's parse and analysis errors on what the user wrote as a ConfigError naming the stage."""
    from pyspark.errors import AnalysisException

    try:
        yield
    except AnalysisException as exc:
        raise ConfigError(
            f"invalid {what} in {stage.label}: {first_line(exc)}",
            location=stage.location,
            hint="check the column names and the Spark SQL syntax",
        ) from exc


def json_frame(
    spark: SparkSession, stage: StageSpec, lines: Sequence[str], text_columns: Sequence[str] = ()
) -> DataFrame:
    """JSON objects (one text each) as a DataFrame, for sources that fetch records on the driver.

    With the stage's declared ``schema`` (plus ``text_columns`` it does not declare, as STRING):
    fields not declared are dropped, missing ones are null. Without one, Spark infers the schema
    from every record; no records then give a frame without columns.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    declared = stage.option("schema")
    if declared is not None:
        with user_sql(stage, "schema"):
            schema = T.StructType.fromDDL(schema_ddl(declared))
        assert isinstance(schema, T.StructType)
        for name in text_columns:
            if name not in schema.fieldNames():
                schema = schema.add(name, T.StringType())
        text = spark.createDataFrame([(line,) for line in lines], "value STRING")
        return text.select(F.from_json(F.col("value"), schema).alias("r")).select("r.*")
    if not lines:
        return spark.createDataFrame([], T.StructType([]))
    context = spark.sparkContext
    slices = max(1, min(context.defaultParallelism, len(lines) // 1000 + 1))
    return spark.read.json(context.parallelize(lines, slices))
