"""What the database says about a table: does it exist, its columns, its primary and unique keys.

Read through ``java.sql.DatabaseMetaData``, so the same code serves PostgreSQL (schemas)
and MySQL/MariaDB (databases, which JDBC calls catalogs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from etl_cli.plugins.jdbc.connection import JdbcConnection
from etl_cli.plugins.jdbc.dialects import Dialect
from etl_cli.plugins.jdbc.identifiers import Identifier, TableName

_TABLE_TYPES = {"TABLE", "BASE TABLE", "PARTITIONED TABLE", "SYSTEM VERSIONED"}


@dataclass(frozen=True)
class Table:
    """A table found in the catalog, with the spelling the database stores."""

    catalog: str | None
    schema: str | None
    name: str
    columns: tuple[str, ...]

    @property
    def namespace(self) -> str | None:
        return self.schema or self.catalog

    def quoted(self, dialect: Dialect) -> str:
        return dialect.qualified(self.namespace, self.name)

    def column_named(self, name: str) -> str | None:
        """The table's spelling of column ``name`` (exact match first, then ignoring case)."""
        if name in self.columns:
            return name
        folded = [c for c in self.columns if c.lower() == name.lower()]
        return folded[0] if len(folded) == 1 else None


class Catalog:
    """Catalog lookups on one connection."""

    def __init__(self, conn: JdbcConnection, dialect: Dialect):
        self.conn = conn
        self.dialect = dialect
        self.meta = conn.metadata()

    def default_namespace(self) -> str | None:
        """The schema (PostgreSQL) or database (MySQL) unqualified names refer to."""
        if self.dialect.mysql_family:
            return _text(self.conn.jconn.getCatalog())
        return _text(self.conn.jconn.getSchema())

    def namespace_of(self, written: TableName) -> str | None:
        """The schema (database) a table named ``written`` is in, or would be created in."""
        if written.namespace is None:
            return self.default_namespace()
        return written.namespace.stored(self.dialect)

    def find(self, written: TableName) -> Table | None:
        """The table ``written`` refers to, or None when it does not exist."""
        namespaces = _spellings(written.namespace, self.meta) if written.namespace else [self.default_namespace()]
        for name in _spellings(written.name, self.meta):
            for space in namespaces:
                found = self._lookup(space, name)
                if found is not None:
                    return found
        return None

    def table_names(self, namespace: str | None, prefix: str) -> list[str]:
        """The names of the tables in ``namespace`` that start with ``prefix``."""
        catalog, schema = (namespace, None) if self.dialect.mysql_family else (None, namespace)
        escape = str(self.meta.getSearchStringEscape() or "")
        result = self.meta.getTables(catalog, _pattern(schema, escape), f"{_pattern(prefix, escape)}%", None)
        found = []
        try:
            while result.next():
                name = str(result.getString("TABLE_NAME"))
                if name.startswith(prefix) and str(result.getString("TABLE_TYPE") or "").upper() in _TABLE_TYPES:
                    found.append(name)
        finally:
            result.close()
        return sorted(found)

    def _lookup(self, namespace: str | None, name: str) -> Table | None:
        catalog, schema = (namespace, None) if self.dialect.mysql_family else (None, namespace)
        escape = str(self.meta.getSearchStringEscape() or "")
        result = self.meta.getTables(catalog, _pattern(schema, escape), _pattern(name, escape), None)
        try:
            while result.next():
                table_type = str(result.getString("TABLE_TYPE") or "").upper()
                if str(result.getString("TABLE_NAME")) == name and table_type in _TABLE_TYPES:
                    cat, sch = _text(result.getString("TABLE_CAT")), _text(result.getString("TABLE_SCHEM"))
                    return Table(cat, sch, name, self._columns(cat, sch, name))
        finally:
            result.close()
        return None

    def _columns(self, catalog: str | None, schema: str | None, name: str) -> tuple[str, ...]:
        escape = str(self.meta.getSearchStringEscape() or "")
        result = self.meta.getColumns(catalog, _pattern(schema, escape), _pattern(name, escape), "%")
        found: list[tuple[int, str]] = []
        try:
            while result.next():
                if str(result.getString("TABLE_NAME")) == name:
                    found.append((int(result.getInt("ORDINAL_POSITION")), str(result.getString("COLUMN_NAME"))))
        finally:
            result.close()
        return tuple(column for _, column in sorted(found))

    def primary_key(self, table: Table) -> list[str]:
        """The primary key's columns in key order (empty when the table has none)."""
        result = self.meta.getPrimaryKeys(table.catalog, table.schema, table.name)
        found: list[tuple[int, str]] = []
        try:
            while result.next():
                found.append((int(result.getInt("KEY_SEQ")), str(result.getString("COLUMN_NAME"))))
        finally:
            result.close()
        return [column for _, column in sorted(found)]

    def unique_keys(self, table: Table) -> list[frozenset[str]]:
        """The column sets of every unique index (the primary key's included)."""
        result = self.meta.getIndexInfo(table.catalog, table.schema, table.name, True, True)
        indexes: dict[str, set[str]] = {}
        try:
            while result.next():
                column, index = result.getString("COLUMN_NAME"), result.getString("INDEX_NAME")
                if column is None or index is None or result.getBoolean("NON_UNIQUE"):
                    continue
                if _text(_safe_string(result, "FILTER_CONDITION")):
                    continue  # a partial unique index cannot arbitrate conflicts of every row
                indexes.setdefault(str(index), set()).add(str(column))
        finally:
            result.close()
        keys = [frozenset(columns) for columns in indexes.values()]
        primary = frozenset(self.primary_key(table))
        if primary and primary not in keys:
            keys.append(primary)
        return keys


def _text(value: Any) -> str | None:
    return str(value) if value is not None and str(value) != "" else None


def _safe_string(result: Any, column: str) -> Any:
    try:
        return result.getString(column)
    except Exception:  # a driver without that column in its index info
        return None


def _pattern(value: str | None, escape: str) -> str | None:
    """A catalog search pattern matching ``value`` literally (``_`` and ``%`` are wildcards)."""
    if value is None:
        return None
    if not escape:
        return value
    return value.replace(escape, escape * 2).replace("_", escape + "_").replace("%", escape + "%")


def _spellings(written: Identifier, meta: Any) -> Sequence[str]:
    """A quoted name as written; a plain one as written, then as the database folds unquoted identifiers."""
    name = written.text
    found = [name]
    if written.quoted:
        return found
    if meta.storesLowerCaseIdentifiers() and name.lower() not in found:
        found.append(name.lower())
    if meta.storesUpperCaseIdentifiers() and name.upper() not in found:
        found.append(name.upper())
    return found
