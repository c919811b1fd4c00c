"""What the MongoDB source and sink share: the official MongoDB Spark connector and its connection options.

Both go through ``org.mongodb.spark:mongo-spark-connector_2.13`` (format ``mongodb``), which
runs the MongoDB Java driver on Spark's executors. The connection string may be a
``${secret:...}`` reference (it usually holds the password); it is resolved at run time and
handed to the connector only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from etl_cli.plugins.api import OptionProblem, RunContext, StageSpec

#: the connector built for Scala 2.13; its driver (mongodb-driver-sync 5.1) comes with it
CONNECTOR_PACKAGE = "org.mongodb.spark:mongo-spark-connector_2.13:10.5.0"
#: the connector's read option names that keys of the source or sink set (option → key)
RESERVED_OPTIONS = {
    "connection.uri": "uri",
    "database": "database",
    "collection": "collection",
    "aggregation.pipeline": "pipeline or filter",
    "partitioner": "partitioner",
    "operationType": "mode",
    "idFieldList": "keys",
    "upsertDocument": "mode",
}

CONNECTION_SCHEMA: dict[str, Any] = {
    "uri": {
        "type": "string",
        "pattern": "^(mongodb(\\+srv)?://|\\$\\{)",
        "description": "The connection string, mongodb://user:password@host:port/?options: a ${secret:...} "
        "reference when it holds a password.",
    },
    "database": {"type": "string", "minLength": 1, "description": "The database."},
    "collection": {"type": "string", "minLength": 1, "description": "The collection."},
    "options": {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
        "description": "More settings of the MongoDB Spark connector, passed as they are (e.g. "
        "maxBatchSize, writeConcern.w, readPreference.name); not those the keys above set.",
    },
}


def connector_options(ctx: RunContext, stage: StageSpec) -> dict[str, str]:
    """The connector's options for ``stage``: its ``options``, then the connection, secrets resolved."""
    settings = {str(name): _text(value) for name, value in dict(stage.option("options") or {}).items()}
    settings["connection.uri"] = str(ctx.resolve(stage.options["uri"]))
    settings["database"] = str(stage.options["database"])
    settings["collection"] = str(stage.options["collection"])
    return settings


def reserved_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    given = options.get("options")
    if not isinstance(given, Mapping):
        return []
    return [
        OptionProblem(("options", name), f"'{name}' is set by `{key}`")
        for name, key in RESERVED_OPTIONS.items()
        if name in given
    ]


def server_of(uri: str) -> str | None:
    """``mongodb://host:port`` of the first host of a connection string, without credentials."""
    if "${" in uri:
        return None
    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2].split(",")[0]
    return f"{parts.scheme}://{host}" if host else None


def target(stage: StageSpec) -> str:
    server = server_of(str(stage.options["uri"])) or "mongodb"
    return f"{server} {stage.options['database']}.{stage.options['collection']}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
