"""A table as a catalog holds it, whichever the catalog: what a registration writes and what ``catalog`` reads back.

The Hive metastore and the Glue catalog store the same facts in their own shapes (table properties or
Parameters, column comments or column Parameters); :class:`TableEntry` is the one shape etl-cli builds
from a sink's write and gets back from either, so ``catalog list|show|search`` treat both alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from etl_cli.model.catalog import OWN_PREFIX, PII, PII_PROPERTY, Registration

#: the table properties etl-cli writes about itself: the project, pipeline, sink and run that registered the table
PROJECT = f"{OWN_PREFIX}project"
PIPELINE = f"{OWN_PREFIX}pipeline"
SINK = f"{OWN_PREFIX}sink"
RUN_ID = f"{OWN_PREFIX}run_id"
#: the keys of the user's tags, comma-separated: what tells them apart from the catalog's own properties on reading
TAG_KEYS = f"{OWN_PREFIX}tags"


@dataclass(frozen=True)
class Column:
    """A column of a table: its name, its type as the catalog spells it (Hive types), and its tags."""

    name: str
    type: str
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "tags": list(self.tags)}


@dataclass(frozen=True)
class TableEntry:
    """One table of a catalog, as registered by a sink of the project."""

    catalog: str
    database: str
    name: str
    location: str
    format: str
    #: the data columns, partition columns excluded
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...] = ()
    #: the partitions the catalog knows, as ``key=value/key=value``
    partitions: tuple[str, ...] = ()
    owner: str | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    #: project, pipeline, sink and run id that registered it (the ``etl_cli.*`` properties, without the prefix)
    registered_by: Mapping[str, str] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def pii_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in (*self.columns, *self.partition_keys) if PII in c.tags)

    def properties(self) -> dict[str, str]:
        """What the catalog keeps as table properties (Hive) or Parameters (Glue): tags, PII columns, etl-cli's own."""
        found = dict(self.tags)
        if self.pii_columns:
            found[PII_PROPERTY] = ",".join(self.pii_columns)
        if self.tags:
            found[TAG_KEYS] = ",".join(self.tags)
        found.update({f"{OWN_PREFIX}{key}": value for key, value in self.registered_by.items()})
        return found

    def matches(self, query: str) -> list[str]:
        """What of this table contains ``query`` (case-insensitive): name, description, columns, tags."""
        wanted = query.lower()
        candidates = [
            ("name", self.qualified_name),
            ("description", self.description or ""),
            *((f"column {c.name}", c.name) for c in (*self.columns, *self.partition_keys)),
            *((f"column {c.name} tag {t}", t) for c in (*self.columns, *self.partition_keys) for t in c.tags),
            *((f"tag {k}={v}", f"{k}={v}") for k, v in self.tags.items()),
        ]
        return [label for label, text in candidates if wanted in text.lower()]

    def to_json(self) -> dict[str, Any]:
        return {
            "catalog": self.catalog,
            "database": self.database,
            "name": self.name,
            "location": self.location,
            "format": self.format,
            "columns": [c.to_json() for c in self.columns],
            "partition_keys": [c.to_json() for c in self.partition_keys],
            "partitions": list(self.partitions),
            "owner": self.owner,
            "description": self.description,
            "tags": dict(self.tags),
            "pii_columns": list(self.pii_columns),
            "registered_by": dict(self.registered_by),
        }


class CatalogClient(Protocol):
    """A catalog a run registers tables in, and ``etl-cli catalog`` reads them from."""

    def register(self, entry: TableEntry, read_options: Mapping[str, str]) -> dict[str, Any]:
        """Create or update the table of ``entry``; say what was done (``action``, partitions)."""

    def tables(self, project: str) -> list[TableEntry]:
        """Every table a sink of ``project`` registered."""


def written_entry(
    registration: Registration,
    fields: Sequence[tuple[str, str]],
    location: str,
    partitions: Sequence[str],
    registered_by: Mapping[str, str],
) -> TableEntry:
    """The entry of what a sink wrote: ``fields`` are the written DataFrame's (name, Spark SQL type) pairs."""
    tags = registration.column_tags
    columns = [Column(name, type_text, tags.get(name, ())) for name, type_text in fields]
    keys = registration.partition_by
    return TableEntry(
        catalog=registration.catalog.name,
        database=registration.database,
        name=registration.table,
        location=location,
        format=registration.format,
        columns=tuple(c for c in columns if c.name not in keys),
        partition_keys=tuple(c for key in keys for c in columns if c.name == key),
        partitions=tuple(partitions),
        owner=registration.owner,
        description=registration.description,
        tags=dict(registration.tags),
        registered_by=dict(registered_by),
    )


def read_entry(
    catalog: str,
    database: str,
    name: str,
    described: Mapping[str, Any],
    properties: Mapping[str, str],
) -> TableEntry:
    """An entry read back from a catalog: ``described`` holds location, format, columns, partition keys and
    partitions, owner and description; ``properties`` the table properties (or Parameters) as stored."""
    tag_keys = [key for key in properties.get(TAG_KEYS, "").split(",") if key]
    return TableEntry(
        catalog=catalog,
        database=database,
        name=name,
        location=described["location"],
        format=described["format"],
        columns=tuple(described["columns"]),
        partition_keys=tuple(described.get("partition_keys", ())),
        partitions=tuple(described.get("partitions", ())),
        owner=described.get("owner") or None,
        description=described.get("description") or None,
        tags={key: properties[key] for key in tag_keys if key in properties},
        registered_by=_registered_by(properties),
    )


def _registered_by(properties: Mapping[str, str]) -> dict[str, str]:
    own = (PROJECT, PIPELINE, SINK, RUN_ID)
    return {key.removeprefix(OWN_PREFIX): properties[key] for key in own if key in properties}


def registered_by_project(properties: Mapping[str, str], project: str) -> bool:
    """Whether a table with these properties was registered by a sink of ``project``."""
    return properties.get(PROJECT) == project


def is_ours(properties: Mapping[str, str]) -> bool:
    """Whether etl-cli registered the table (a table it did not register, it never replaces)."""
    return SINK in properties


def split_tags(text: str | None) -> tuple[str, ...]:
    """Tags written as ``a,b`` (a Glue column's Parameters) back as a tuple."""
    return tuple(tag for tag in (text or "").split(",") if tag)


def join_tags(tags: Iterable[str]) -> str:
    return ",".join(tags)
