"""The columns a source is known to produce without running it: what the pipeline declares.

In order: the columns Spark's analysis gave (``--analyze``), the source's declared
``schema:`` (for Kafka the shape of a record: the value's declared fields, or ``value``,
then the metadata columns), a ``strict`` or ``allow_extra`` contract (the stage's output is
exactly its columns), and what another pipeline of the project writes to the dataset the
source reads. Anything else is unknown offline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.checks import ContractSpec
from etl_cli.plugins.sources.kafka import DEFAULT_METADATA
from etl_cli.plugins.spark_types import split_top_level

#: a column and its Spark SQL type (None: not known)
Column = tuple[str, str | None]


def declared_columns(schema: Any) -> list[Column] | None:
    """The columns of a declared schema (DDL text or a mapping column: type), None when there is none."""
    if isinstance(schema, Mapping):
        return [(str(name), str(kind)) for name, kind in schema.items()]
    if not isinstance(schema, str):
        return None
    found: list[Column] = []
    for entry in split_top_level(schema):
        words = entry.strip().split(None, 1)
        if words:
            name = words[0].strip("`")
            found.append((name, words[1].strip() if len(words) > 1 else None))
    return found


def contract_columns(contract: ContractSpec | None) -> list[Column] | None:
    """The stage's columns when its contract fixes them (``strict``, ``allow_extra``), else None."""
    if contract is None or contract.policy == "evolve":
        return None
    return [(column.name, column.type) for column in contract.columns]


def kafka_columns(stage: StageSpec) -> list[Column] | None:
    """A Kafka source's rows: the JSON value's declared fields (or ``value``), then the metadata columns."""
    options = stage.options
    if options.get("value_format", "json") == "json":
        values = declared_columns(options.get("schema"))
        if values is None:
            return None
    else:
        values = [("value", "STRING" if options["value_format"] == "string" else "BINARY")]
    prefix = options.get("metadata_prefix", "")
    metadata: Sequence[str] = options.get("metadata", DEFAULT_METADATA)
    return [*values, *((prefix + name, None) for name in metadata)]


def source_columns(
    stage: StageSpec,
    contract: ContractSpec | None,
    analyzed: Sequence[tuple[str, str]] | None,
    written: Sequence[str] | None,
) -> list[Column] | None:
    """What ``stage`` (a source) produces, by the first that knows (module doc), or None."""
    if analyzed is not None:
        return [(name, kind) for name, kind in analyzed]
    reads_kafka = "bootstrap_servers" in stage.options
    declared = kafka_columns(stage) if reads_kafka else declared_columns(stage.option("schema"))
    for found in (declared, contract_columns(contract)):
        if found is not None:
            return found
    return [(name, None) for name in written] if written is not None else None
