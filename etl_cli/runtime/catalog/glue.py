"""The AWS Glue Data Catalog, through boto3: tables registered by sinks, and read back for ``etl-cli catalog``.

A registration creates the database when missing, creates the table or updates it (one that etl-cli did
not register is never replaced), and adds the partitions the table lacks with BatchCreatePartition. The
table describes the files as Athena, EMR and Glue jobs read them: an ``s3://`` location, the Hive input
and output formats and SerDe of the file format, the partition keys, the tags as Parameters and each
column's tags (``pii``...) as the column's Parameters. boto3 (the ``aws`` extra) is imported only here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from etl_cli.errors import ConfigError, RunError
from etl_cli.model.catalog import GlueCatalog
from etl_cli.runtime.catalog.entry import (
    Column,
    TableEntry,
    is_ours,
    join_tags,
    read_entry,
    registered_by_project,
    split_tags,
)
from etl_cli.runtime.catalog.partitions import partition_values

#: partitions per BatchCreatePartition call (the API's limit)
BATCH = 100
_TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"


@dataclass(frozen=True)
class StorageFormat:
    """How Hive-compatible readers read one file format: input and output formats, SerDe."""

    input_format: str
    output_format: str
    serde: str


STORAGE = {
    "parquet": StorageFormat(
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    ),
    "orc": StorageFormat(
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
    ),
    "csv": StorageFormat(_TEXT_INPUT, _TEXT_OUTPUT, "org.apache.hadoop.hive.serde2.OpenCSVSerde"),
    "json": StorageFormat(_TEXT_INPUT, _TEXT_OUTPUT, "org.openx.data.jsonserde.JsonSerDe"),
}
#: the Parameters Glue readers look at, which are not the user's tags
_FORMAT_OF_SERDE = {storage.serde: name for name, storage in STORAGE.items()}


def glue_client(catalog: GlueCatalog) -> Any:
    """A boto3 Glue client for ``catalog`` (credentials from boto3's chain: environment, profile, instance role)."""
    try:
        import boto3
    except ImportError:
        raise ConfigError(
            f"catalog '{catalog.name}' (glue) needs boto3, which is not installed",
            location=catalog.location,
            hint="pip install 'etl-cli[aws]'",
        ) from None
    session = boto3.Session(profile_name=catalog.profile, region_name=catalog.region)
    return session.client("glue", endpoint_url=catalog.endpoint_url)


class GlueDataCatalog:
    """One Glue catalog: registers tables, and reads back those a project registered."""

    def __init__(self, catalog: GlueCatalog, client: Any):
        self.catalog = catalog
        self.client = client
        #: the CatalogId argument of every call, when the catalog names an account
        self._account = {"CatalogId": catalog.catalog_id} if catalog.catalog_id else {}

    def register(self, entry: TableEntry, read_options: Mapping[str, str]) -> dict[str, Any]:
        """Create or update the table of ``entry`` and add its missing partitions; say what was done."""
        self._ensure_database(entry.database)
        existing = self._table(entry.database, entry.name)
        if existing is not None and not is_ours(existing.get("Parameters") or {}):
            raise RunError(
                f"table {entry.qualified_name} exists in Glue catalog '{self.catalog.name}' and etl-cli did not "
                "register it: it is not replaced",
                hint="register under another catalog.table, or delete that table yourself if it may go",
            )
        table = table_input(entry, read_options)
        if existing is None:
            self.client.create_table(DatabaseName=entry.database, TableInput=table, **self._account)
        else:
            self.client.update_table(DatabaseName=entry.database, TableInput=table, **self._account)
        added = self._add_partitions(entry, read_options)
        return {"action": "updated" if existing else "created", "partitions_added": added}

    def tables(self, project: str) -> list[TableEntry]:
        """Every table of every database that a sink of ``project`` registered."""
        found = []
        for database in self._pages("get_databases", "DatabaseList"):
            for table in self._pages("get_tables", "TableList", DatabaseName=database["Name"]):
                if registered_by_project(table.get("Parameters") or {}, project):
                    partitions = list(self._partitions(database["Name"], table["Name"]))
                    found.append(entry_of(self.catalog.name, table, partitions))
        return found

    def _ensure_database(self, name: str) -> None:
        try:
            self.client.get_database(Name=name, **self._account)
        except self.client.exceptions.EntityNotFoundException:
            self.client.create_database(
                DatabaseInput={"Name": name, "Description": "Created by etl-cli for the tables sinks register."},
                **self._account,
            )

    def _table(self, database: str, name: str) -> dict[str, Any] | None:
        try:
            table: dict[str, Any] = self.client.get_table(DatabaseName=database, Name=name, **self._account)["Table"]
        except self.client.exceptions.EntityNotFoundException:
            return None
        return table

    def _add_partitions(self, entry: TableEntry, read_options: Mapping[str, str]) -> int:
        if not entry.partition_keys:
            return 0
        known = {tuple(p["Values"]) for p in self._partitions(entry.database, entry.name)}
        missing = [f for f in entry.partitions if tuple(partition_values(f)) not in known]
        for start in range(0, len(missing), BATCH):
            inputs = [partition_input(entry, folder, read_options) for folder in missing[start : start + BATCH]]
            answer = self.client.batch_create_partition(
                DatabaseName=entry.database, TableName=entry.name, PartitionInputList=inputs, **self._account
            )
            if errors := answer.get("Errors"):
                first = errors[0]
                raise RunError(
                    f"Glue refused {len(errors)} partition(s) of {entry.qualified_name}, e.g. "
                    f"{first.get('PartitionValues')}: {first.get('ErrorDetail', {}).get('ErrorMessage')}"
                )
        return len(missing)

    def _partitions(self, database: str, table: str) -> Iterator[dict[str, Any]]:
        return self._pages("get_partitions", "Partitions", DatabaseName=database, TableName=table)

    def _pages(self, operation: str, key: str, **arguments: Any) -> Iterator[dict[str, Any]]:
        for page in self.client.get_paginator(operation).paginate(**arguments, **self._account):
            yield from page.get(key, [])


def table_input(entry: TableEntry, read_options: Mapping[str, str]) -> dict[str, Any]:
    """The TableInput of CreateTable and UpdateTable for ``entry``."""
    table: dict[str, Any] = {
        "Name": entry.name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {**entry.properties(), **_format_parameters(entry.format, read_options)},
        "PartitionKeys": [_column(c) for c in entry.partition_keys],
        "StorageDescriptor": _storage(entry, entry.location, read_options),
    }
    if entry.description:
        table["Description"] = entry.description
    if entry.owner:
        table["Owner"] = entry.owner
    return table


def partition_input(entry: TableEntry, folder: str, read_options: Mapping[str, str]) -> dict[str, Any]:
    """The PartitionInput of one partition folder (``key=value/...``) of ``entry``."""
    location = f"{entry.location.rstrip('/')}/{folder}"
    return {"Values": partition_values(folder), "StorageDescriptor": _storage(entry, location, read_options)}


def _storage(entry: TableEntry, location: str, read_options: Mapping[str, str]) -> dict[str, Any]:
    storage = STORAGE[entry.format]
    return {
        "Columns": [_column(c) for c in entry.columns],
        "Location": location,
        "InputFormat": storage.input_format,
        "OutputFormat": storage.output_format,
        "SerdeInfo": {
            "SerializationLibrary": storage.serde,
            "Parameters": _serde_parameters(entry.format, read_options),
        },
    }


def _column(column: Column) -> dict[str, Any]:
    # Hive has no timestamp without time zone; its timestamp is one (Athena reads it as such)
    found: dict[str, Any] = {"Name": column.name, "Type": column.type.replace("timestamp_ntz", "timestamp")}
    if column.tags:
        found["Parameters"] = {"tags": join_tags(column.tags)}
    return found


def _serde_parameters(file_format: str, read_options: Mapping[str, str]) -> dict[str, str]:
    if file_format == "csv":
        return {
            "separatorChar": read_options.get("sep", read_options.get("delimiter", ",")),
            "quoteChar": read_options.get("quote", '"'),
            "escapeChar": read_options.get("escape", "\\"),
        }
    return {"serialization.format": "1"} if file_format in ("parquet", "orc") else {}


def _format_parameters(file_format: str, read_options: Mapping[str, str]) -> dict[str, str]:
    """What Glue's readers take from the Parameters: the classification, a CSV file's header line."""
    found = {"classification": file_format, "EXTERNAL": "TRUE"}
    if file_format == "csv" and read_options.get("header") == "true":
        found["skip.header.line.count"] = "1"
    return found


def entry_of(catalog: str, table: Mapping[str, Any], partitions: Sequence[Mapping[str, Any]]) -> TableEntry:
    """The entry of a Glue table (GetTable's ``Table``) and its partitions (GetPartitions')."""
    storage = table.get("StorageDescriptor") or {}
    keys = [_read_column(c) for c in table.get("PartitionKeys") or []]
    described = {
        "location": storage.get("Location", ""),
        "format": _FORMAT_OF_SERDE.get((storage.get("SerdeInfo") or {}).get("SerializationLibrary", ""), "unknown"),
        "columns": [_read_column(c) for c in storage.get("Columns") or []],
        "partition_keys": keys,
        "partitions": sorted(
            "/".join(f"{k.name}={v}" for k, v in zip(keys, p["Values"], strict=True)) for p in partitions
        ),
        "owner": table.get("Owner"),
        "description": table.get("Description"),
    }
    return read_entry(catalog, table["DatabaseName"], table["Name"], described, table.get("Parameters") or {})


def _read_column(column: Mapping[str, Any]) -> Column:
    return Column(column["Name"], column["Type"], split_tags((column.get("Parameters") or {}).get("tags")))
