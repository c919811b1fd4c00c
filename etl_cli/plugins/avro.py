"""Avro values for the Kafka source and sink (``value_format: avro``), with Spark's ``spark-avro``.

The schema is given inline (``avro_schema``: an Avro schema written as YAML or as JSON text) or in a
file (``avro_schema_file``, relative to the project). Values are plain Avro binary, the body
``to_avro`` writes and ``from_avro`` reads: no header, the reader and the writer sharing the schema.
``validate`` parses inline schemas offline with fastavro; a schema file is read and parsed when the
run starts, before Spark starts a query.

Decoding tells a value that does not decode from one whose fields are all null: the reader schema
handed to ``from_avro`` is the writer's plus one boolean field with a default (:data:`OK_FIELD`).
Avro schema resolution fills it with ``true`` for every value it decodes, while Spark's PERMISSIVE
mode turns a value that fails into a row of nulls, that field included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError, Location
from etl_cli.plugins.api import OptionProblem, RunContext, StageSpec
from etl_cli.plugins.spark_session import release_for_line

if TYPE_CHECKING:
    from pyspark.sql import Column

AVRO_ARTIFACT = "org.apache.spark:spark-avro_2.13"
VERSION_VARIABLE = "ETL_SPARK_AVRO_VERSION"
#: the spark-avro release for each Spark line: the newest served here (4.0.3+ and 4.1.2+ are not published)
RELEASE_FOR_LINE = {"4.0": "4.0.2", "4.1": "4.1.1"}
#: the field added to the reader schema to tell decoded values from failed ones
OK_FIELD = "__etl_avro_ok"

AVRO_SCHEMA = {
    "type": ["object", "string"],
    "minLength": 1,
    "description": "value_format avro: the Avro schema of the values, a record, written as YAML "
    "({type: record, name: Order, fields: [{name: id, type: long}]}) or as JSON text. Or avro_schema_file.",
}
AVRO_SCHEMA_FILE = {
    "type": "string",
    "minLength": 1,
    "description": "value_format avro: a file holding the Avro schema as JSON (.avsc), relative to the project; "
    "read and checked when the run starts.",
}


def avro_version(environ: Mapping[str, str] | None = None) -> str:
    """``$ETL_SPARK_AVRO_VERSION``, else the release for the installed pyspark's line."""
    return release_for_line(VERSION_VARIABLE, RELEASE_FOR_LINE, environ)


def avro_package() -> str:
    """The Maven coordinate of spark-avro for this installation."""
    return f"{AVRO_ARTIFACT}:{avro_version()}"


# --------------------------------------------------------------------------- offline checks


def parse_schema(schema: Any) -> dict[str, Any]:
    """The Avro schema ``schema`` (a mapping, or JSON text) parsed by fastavro; ValueError says what is wrong."""
    import fastavro

    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno} of the schema") from exc
    schema = yaml_nulls(plain(schema))
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise ValueError("the value schema must be an Avro record (type: record), whose fields become the columns")
    if not isinstance(schema.get("fields"), list):
        raise ValueError("the record needs fields: a list of {name, type}")
    try:
        parsed = fastavro.parse_schema(dict(schema))
    except Exception as exc:  # fastavro raises SchemaParseException, ValueError, TypeError, KeyError
        raise ValueError(f"not a valid Avro schema: {exc}") from exc
    assert isinstance(parsed, dict)  # a record parses to a dict
    if any(field.get("name") == OK_FIELD for field in parsed.get("fields", [])):
        raise ValueError(f"the field name {OK_FIELD} is reserved")
    return dict(parsed)


def plain(value: Any) -> Any:
    """``value`` as plain JSON data: the frozen model's mappings and tuples as dicts and lists."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def yaml_nulls(schema: Any) -> Any:
    """``schema`` with YAML's null (an unquoted ``null`` where a type goes) read as Avro's type "null";
    field defaults keep theirs."""
    if schema is None:
        return "null"
    if isinstance(schema, list):
        return [yaml_nulls(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    fixed = dict(schema)
    for key in ("type", "items", "values"):
        if key in fixed and not (key == "type" and isinstance(fixed[key], str)):
            fixed[key] = yaml_nulls(fixed[key])
    if isinstance(fixed.get("fields"), list):
        fixed["fields"] = [
            {**field, "type": yaml_nulls(field.get("type"))} if isinstance(field, Mapping) else field
            for field in fixed["fields"]
        ]
    return fixed


def schema_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """Problems of ``avro_schema`` / ``avro_schema_file`` for value_format avro (the inline schema parsed)."""
    given = [key for key in ("avro_schema", "avro_schema_file") if key in options]
    hint = "avro_schema: {type: record, name: Order, fields: [{name: id, type: long}]}, or avro_schema_file: order.avsc"
    if not given:
        return [OptionProblem((), "value_format avro needs the values' Avro schema", hint)]
    if len(given) == 2:
        return [OptionProblem(("avro_schema_file",), "give avro_schema or avro_schema_file, not both")]
    if given == ["avro_schema"] and not _interpolated(options["avro_schema"]):
        try:
            parse_schema(options["avro_schema"])
        except ValueError as exc:
            return [OptionProblem(("avro_schema",), f"invalid Avro schema: {exc}", hint)]
    return []


def _interpolated(value: Any) -> bool:
    """Whether a schema still holds a ``${...}`` reference (then only the run can parse it)."""
    return "${" in (value if isinstance(value, str) else json.dumps(value, default=str))


def field_names(options: Mapping[str, Any]) -> list[str]:
    """The columns an inline schema gives, in order (nothing when it is a file or does not parse)."""
    schema = options.get("avro_schema")
    if schema is None:
        return []
    try:
        return [str(field["name"]) for field in parse_schema(schema)["fields"]]
    except (ValueError, KeyError, TypeError):
        return []


# --------------------------------------------------------------------------- at run time


def schema_json(ctx: RunContext, stage: StageSpec) -> str:
    """The stage's Avro schema as the JSON text spark-avro takes (a schema file read and checked here)."""
    inline = stage.option("avro_schema")
    if inline is not None:
        try:
            parse_schema(inline)
        except ValueError as exc:
            raise ConfigError(f"{stage.label}: invalid avro_schema: {exc}", location=stage.location) from exc
        return inline if isinstance(inline, str) else json.dumps(yaml_nulls(plain(inline)))
    path = Path(ctx.path(str(stage.options["avro_schema_file"])))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{stage.label}: cannot read avro_schema_file {path}: {exc.strerror}",
            location=stage.location,
            hint="paths are relative to the project folder",
        ) from exc
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        where = Location(str(path), exc.lineno, exc.colno)
        raise ConfigError(f"not a JSON Avro schema: {exc.msg}", location=where) from exc
    try:
        parse_schema(text)
    except ValueError as exc:
        raise ConfigError(f"invalid Avro schema: {exc}", location=Location(str(path), 1, 1)) from exc
    return text


def reader_schema(writer: str) -> str:
    """``writer`` plus :data:`OK_FIELD` (boolean, default true): decoded values have it true, failed ones null."""
    parsed = json.loads(writer)
    parsed["fields"] = [*parsed["fields"], {"name": OK_FIELD, "type": "boolean", "default": True}]
    return json.dumps(parsed)


def decode(value: Column, writer: str, fail: bool) -> Column:
    """The record struct of each Avro ``value`` (with :data:`OK_FIELD`); ``fail``: stop at the first bad value."""
    from pyspark.sql.avro.functions import from_avro

    options = {"mode": "FAILFAST" if fail else "PERMISSIVE", "avroSchema": reader_schema(writer)}
    return from_avro(value, writer, options)


def encode(record: Column, writer: str) -> Column:
    """Each row's ``record`` struct as an Avro value written with the schema ``writer``."""
    from pyspark.sql.avro.functions import to_avro

    return to_avro(record, writer)
