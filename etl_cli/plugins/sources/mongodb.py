"""The MongoDB source: a collection, filtered or put through an aggregation pipeline, read by the official connector.

The documents are read with a declared ``schema`` (the connector's schema inference samples
the collection with ``$sample``; a declared schema makes the columns the same on every run).
A ``filter`` becomes a first ``$match`` stage; ``pipeline`` stages follow it and run on the
server. ``partitioner: paginate`` splits the collection into partitions by ``_id`` ranges;
``single`` (the default) reads it in one partition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.mongodb_connection import (
    CONNECTION_SCHEMA,
    CONNECTOR_PACKAGE,
    connector_options,
    reserved_problems,
    server_of,
)
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import declared_schema, declared_schema_problems, schema_ddl, user_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_PARTITIONERS = {
    "single": "com.mongodb.spark.sql.connector.read.partitioner.SinglePartitionPartitioner",
    "paginate": "com.mongodb.spark.sql.connector.read.partitioner.PaginateIntoPartitionsPartitioner",
}


@register
class MongoSource(Source):
    type = "mongodb"
    description = (
        "Read a MongoDB collection, optionally filtered or put through an aggregation pipeline on the server, "
        "with a declared schema, through the official MongoDB Spark connector (see docs/connectors/mongodb.md)."
    )
    required_options = ("uri", "database", "collection", "schema")
    maven_packages: ClassVar[tuple[str, ...]] = (CONNECTOR_PACKAGE,)
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "schema": declared_schema(
            'The fields to read, with their Spark types: DDL ("_id STRING, name STRING, total DOUBLE") or a '
            "mapping field: type. A field missing from a document is null; nested documents are STRUCTs."
        ),
        "filter": {
            "type": "object",
            "description": 'A MongoDB query document, run on the server as the first $match stage ({status: "paid", '
            "total: {$gt: 100}}).",
        },
        "pipeline": {
            "type": "array",
            "items": {"type": "object", "minProperties": 1},
            "description": "Aggregation pipeline stages run on the server after the filter ([{$match: ...}, "
            "{$project: ...}]).",
        },
        "partitioner": {
            "enum": list(_PARTITIONERS),
            "default": "single",
            "description": "single: one partition; paginate: up to 64 partitions by ranges of _id (set "
            "partitioner.options.max.number.of.partitions in `options` to change that).",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = reserved_problems(options)
        if "schema" in options:
            problems += declared_schema_problems(options["schema"])
        return problems

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        uri = stage.option("uri")
        return server_of(uri) if isinstance(uri, str) else None

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        settings = connector_options(ctx, stage)
        stages: list[Any] = []
        if (query := stage.option("filter")) is not None:
            stages.append({"$match": query})
        stages.extend(stage.option("pipeline") or [])
        if stages:
            settings["aggregation.pipeline"] = json.dumps(_plain(stages))
        settings["partitioner"] = _PARTITIONERS[str(stage.option("partitioner", "single"))]
        with user_sql(stage, "schema"):
            return (
                ctx.spark.read.format("mongodb").schema(schema_ddl(stage.options["schema"])).options(**settings).load()
            )


def _plain(value: Any) -> Any:
    """``value`` with its (frozen) mappings and sequences as dicts and lists, for JSON."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
