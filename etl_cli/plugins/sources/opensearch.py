"""The OpenSearch source: the documents a query matches, one row each.

The driver pages through the matches with a point in time (a consistent view of the index
while it changes) and ``search_after`` on the document id, ``page_size`` documents a request,
and Spark parses each document's ``_source`` as JSON: into the declared ``schema`` (fields
missing from a document are null, fields not declared are dropped), or with the schema Spark
infers from the documents. ``id_column`` adds each document's ``_id``.

Every document passes through the driver, so this suits indexes up to a few million
documents; the rows are then spread over Spark's default parallelism.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.opensearch_connection import (
    CONNECTION_SCHEMA,
    Connection,
    connection_problems,
    safe_url,
    search_all,
)
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import declared_schema, declared_schema_problems, json_frame

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@register
class OpenSearchSource(Source):
    type = "opensearch"
    description = (
        "Read the documents of an OpenSearch index that a query matches, one row each, paged with a point in time "
        "and search_after (see docs/connectors/opensearch.md)."
    )
    required_options = ("url", "index")
    options_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "query": {
            "type": "object",
            "description": 'The query, in the query DSL ({"range": {"amount": {"gte": 10}}}); default: every document.',
        },
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10000,
            "default": 1000,
            "description": "Documents per search request.",
        },
        "id_column": {
            "type": "string",
            "minLength": 1,
            "description": "A column to hold each document's _id (text).",
        },
        "schema": declared_schema(
            "The columns to read from each document's _source (missing fields are null). Without it Spark infers "
            "the schema from the documents."
        ),
    }

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        url = stage.option("url")
        return safe_url(url) if isinstance(url, str) and "${" not in url else None

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = connection_problems(options)
        if "schema" in options:
            problems += declared_schema_problems(options["schema"])
        return problems

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        connection = Connection.of(ctx, stage)
        id_column = stage.option("id_column")
        documents = list(
            search_all(
                connection,
                str(stage.options["index"]),
                stage.option("query") or {"match_all": {}},
                int(stage.option("page_size", 1000)),
                id_column,
            )
        )
        return json_frame(ctx.spark, stage, documents, (id_column,) if id_column else ())
