"""Databases by JDBC URL: driver class, Maven coordinates, identifier quoting, the SQL of each mode.

Pure text; nothing here opens a connection, so ``validate`` and unit tests use it freely.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

POSTGRESQL_PACKAGE = "org.postgresql:postgresql:42.7.8"
MARIADB_PACKAGE = "org.mariadb.jdbc:mariadb-java-client:3.5.6"
MYSQL_PACKAGE = "com.mysql:mysql-connector-j:9.4.0"

#: driver class → the Maven coordinates that provide it
DRIVER_PACKAGES = {
    "org.postgresql.Driver": POSTGRESQL_PACKAGE,
    "org.mariadb.jdbc.Driver": MARIADB_PACKAGE,
    "com.mysql.cj.jdbc.Driver": MYSQL_PACKAGE,
}
_URL = re.compile(r"^jdbc:(?P<sub>[a-zA-Z0-9]+):(?P<rest>.*)$", re.DOTALL)
_MARIADB_FLAG = "permitmysqlscheme"


@dataclass(frozen=True)
class Dialect:
    """What differs between databases for etl-cli: driver, quoting, and the statements it runs."""

    name: str
    label: str
    driver: str | None
    default_port: int | None
    quote: str = '"'
    supports_upsert: bool = False
    #: how the database spells an unquoted name: "lower" (PostgreSQL folds it), "kept" (MySQL, MariaDB), None
    #: when unknown (other databases: a plain name then goes into statements unquoted, see identifiers.py)
    unquoted_case: str | None = None

    @property
    def mysql_family(self) -> bool:
        return self.name in ("mysql", "mariadb")

    def quote_identifier(self, name: str) -> str:
        return f"{self.quote}{name.replace(self.quote, self.quote * 2)}{self.quote}"

    def qualified(self, *parts: str | None) -> str:
        return ".".join(self.quote_identifier(p) for p in parts if p)

    def literal(self, value: str) -> str:
        """A SQL string literal. MySQL treats backslashes as escapes; PostgreSQL does too when
        ``standard_conforming_strings`` is off, so a value holding one is written as an escape string
        (``E'...'``), which reads the same under either setting."""
        if self.mysql_family:
            return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
        if self.name == "postgresql" and "\\" in value:
            return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
        return "'" + value.replace("'", "''") + "'"

    def column_list(self, columns: Sequence[str], alias: str | None = None) -> str:
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + self.quote_identifier(c) for c in columns)

    def selected(self, columns: Sequence[str], casts: Mapping[str, str] | None = None, alias: str | None = None) -> str:
        """The SELECT list of staged columns, ``casts`` (column → SQL type) applied and named as the column."""
        prefix = f"{alias}." if alias else ""
        found = []
        for column in columns:
            quoted = prefix + self.quote_identifier(column)
            cast = (casts or {}).get(column)
            found.append(f"CAST({quoted} AS {cast}) AS {self.quote_identifier(column)}" if cast else quoted)
        return ", ".join(found)

    def insert_select(
        self,
        target: str,
        staging: str,
        columns: Sequence[str],
        casts: Mapping[str, str] | None = None,
        where: str | None = None,
    ) -> str:
        """Insert the staged rows (those matching ``where``), each column cast as ``casts`` says."""
        cols = self.column_list(columns)
        return f"INSERT INTO {target} ({cols}) SELECT {self.selected(columns, casts)} FROM {staging}{_where(where)}"

    def upsert(
        self,
        target: str,
        staging: str,
        columns: Sequence[str],
        keys: Sequence[str],
        casts: Mapping[str, str] | None = None,
        where: str | None = None,
    ) -> str:
        """One statement inserting the staged rows and updating the rows whose keys exist."""
        cols = self.column_list(columns)
        updates = [c for c in columns if c not in keys]
        if self.name == "postgresql":
            insert = (
                f"INSERT INTO {target} ({cols}) SELECT {self.selected(columns, casts)} FROM {staging}{_where(where)} "
                f"ON CONFLICT ({self.column_list(keys)})"
            )
            if not updates:
                return f"{insert} DO NOTHING"
            sets = ", ".join(f"{self.quote_identifier(c)} = EXCLUDED.{self.quote_identifier(c)}" for c in updates)
            return f"{insert} DO UPDATE SET {sets}"
        if self.mysql_family:
            # Columns of the SELECT are referenced through its alias (VALUES() is deprecated in MySQL 8).
            source_cols = self.selected(columns, casts, "s")
            assignments = updates or [keys[0]]
            sets = ", ".join(
                f"{self.quote_identifier(c)} = {'s.' if updates else ''}{self.quote_identifier(c)}" for c in assignments
            )
            return (
                f"INSERT INTO {target} ({cols}) SELECT {source_cols} FROM {staging} AS s{_where(where)} "
                f"ON DUPLICATE KEY UPDATE {sets}"
            )
        raise ValueError(f"{self.label} has no upsert statement")

    def duplicate_keys(self, staging: str, keys: Sequence[str]) -> str:
        """Key values present more than once in the staged rows (an upsert of them would be ambiguous)."""
        key_list = self.column_list(keys)
        return f"SELECT {key_list}, COUNT(*) FROM {staging} GROUP BY {key_list} HAVING COUNT(*) > 1"

    def create_like(self, staging: str, target: str, columns: Sequence[str]) -> str:
        """An empty table with ``columns`` typed as in ``target``, without its constraints.

        On PostgreSQL it is UNLOGGED: its rows are written once and read once by the merge, and
        writing them to the WAL as well cost about as much as the insert itself. A server crash
        empties it, which only matters to the run that was using it (and that run fails anyway).
        """
        unlogged = "UNLOGGED " if self.name == "postgresql" else ""
        return f"CREATE {unlogged}TABLE {staging} AS SELECT {self.column_list(columns)} FROM {target} WHERE 1 = 0"

    def bulk_insert_properties(self) -> dict[str, str]:
        """Driver properties that make Spark's batched INSERTs faster, for the staging load only.

        PostgreSQL's driver sends a JDBC batch as one statement per row unless
        ``reWriteBatchedInserts`` folds it into multi-row ``INSERT ... VALUES`` statements.
        """
        return {"reWriteBatchedInserts": "true"} if self.name == "postgresql" else {}

    def rename(self, staging: str, staging_schema: str | None, new_name: str) -> str:
        """Rename the staging table into the target (same schema or database)."""
        if self.mysql_family:
            return f"RENAME TABLE {staging} TO {self.qualified(staging_schema, new_name)}"
        return f"ALTER TABLE {staging} RENAME TO {self.quote_identifier(new_name)}"

    def staging_column_types(self, namespace: str | None, table: str) -> str:
        """Each column of a table: name, type as a cast target, category (string, numeric, other), full type."""
        if self.name == "postgresql":
            qualified = self.literal(self.qualified(namespace, table))
            return (
                "SELECT a.attname, format_type(a.atttypid, NULL), CASE t.typcategory WHEN 'S' THEN 'string' "
                "WHEN 'N' THEN 'numeric' ELSE 'other' END, format_type(a.atttypid, a.atttypmod) "
                f"FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = {qualified}::regclass "
                "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
            )
        strings = "'char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext'"
        numbers = "'tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'float', 'double'"
        schema = self.literal(namespace) if namespace else "DATABASE()"
        return (
            f"SELECT COLUMN_NAME, COLUMN_TYPE, CASE WHEN DATA_TYPE IN ({strings}) THEN 'string' "
            f"WHEN DATA_TYPE IN ({numbers}) THEN 'numeric' ELSE 'other' END, COLUMN_TYPE "
            f"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {schema} AND TABLE_NAME = {self.literal(table)} "
            "ORDER BY ORDINAL_POSITION"
        )

    def open_staging(self, staging: str, retyped: Mapping[str, str], row_id: str) -> str:
        """Let the staging table take any row: ``retyped`` columns (name → type) widened, every column
        nullable (MySQL's CREATE TABLE ... AS SELECT keeps NOT NULL), and a row number ``row_id`` added."""
        if self.name == "postgresql":
            changes = [f"ALTER COLUMN {self.quote_identifier(c)} TYPE {t}" for c, t in retyped.items()]
            changes.append(f"ADD COLUMN {self.quote_identifier(row_id)} BIGINT GENERATED BY DEFAULT AS IDENTITY")
        else:
            changes = [f"MODIFY {self.quote_identifier(c)} {t} NULL" for c, t in retyped.items()]
            changes.append(f"ADD COLUMN {self.quote_identifier(row_id)} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY")
        return f"ALTER TABLE {staging} " + ", ".join(changes)

    def staging_type(self, spark_type: str) -> str | None:
        """The type a staging column gets for Spark values of ``spark_type`` (simpleString) so that every
        value fits; None when the target's own type is kept."""
        postgres = self.name == "postgresql"
        if spark_type in ("string", "varchar", "char") or spark_type.startswith(("varchar(", "char(")):
            return "TEXT" if postgres else "LONGTEXT"
        if spark_type in ("tinyint", "smallint", "int", "bigint"):
            return "BIGINT"
        if spark_type in ("float", "double"):
            return "DOUBLE PRECISION" if postgres else "DOUBLE"
        if spark_type.startswith("decimal("):
            return spark_type.upper()
        return None

    def row_range(self, row_id: str, low: int, high: int) -> str:
        column = self.quote_identifier(row_id)
        return f"{column} BETWEEN {low} AND {high}"

    def drop(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {table}"

    def delete_all(self, table: str) -> str:
        return f"DELETE FROM {table}"


def _where(condition: str | None) -> str:
    return f" WHERE {condition}" if condition else ""


POSTGRESQL = Dialect(
    "postgresql", "PostgreSQL", "org.postgresql.Driver", 5432, '"', supports_upsert=True, unquoted_case="lower"
)
MARIADB = Dialect(
    "mariadb", "MariaDB", "org.mariadb.jdbc.Driver", 3306, "`", supports_upsert=True, unquoted_case="kept"
)
MYSQL = Dialect("mysql", "MySQL", "com.mysql.cj.jdbc.Driver", 3306, "`", supports_upsert=True, unquoted_case="kept")
GENERIC = Dialect("generic", "the database", None, None, '"')


def subprotocol(url: str) -> str | None:
    """``postgresql`` for ``jdbc:postgresql://...``; None when ``url`` is not a JDBC URL."""
    match = _URL.match(url.strip())
    return match.group("sub").lower() if match else None


def dialect_for(url: str) -> Dialect:
    """The dialect of a JDBC URL; ``jdbc:mysql:`` with ``permitMysqlScheme`` means MariaDB Connector/J."""
    sub = subprotocol(url)
    if sub == "postgresql":
        return POSTGRESQL
    if sub == "mariadb" or (sub == "mysql" and _MARIADB_FLAG in url.lower()):
        return MARIADB
    if sub == "mysql":
        return MYSQL
    return GENERIC


def driver_for(url: str, driver: str | None) -> str | None:
    """The driver class: the one given, else the one the URL implies."""
    return driver or dialect_for(url).driver


def package_for(url: str, driver: str | None) -> str | None:
    """The Maven coordinates of the driver, when etl-cli knows them."""
    chosen = driver_for(url, driver)
    return DRIVER_PACKAGES.get(chosen) if chosen else None


def spark_url(url: str) -> str:
    """The URL given to Spark and the driver.

    Spark chooses its SQL dialect by URL prefix and only knows ``jdbc:mysql:``; a
    ``jdbc:mariadb:`` URL would get the generic dialect, whose double-quoted column
    names MariaDB rejects. So MariaDB URLs are passed as ``jdbc:mysql:`` with the
    ``permitMysqlScheme`` flag, which makes MariaDB Connector/J accept them.
    """
    if subprotocol(url) != "mariadb":
        return url
    rest = url.strip()[len("jdbc:mariadb:") :]
    if _MARIADB_FLAG in rest.lower():
        return f"jdbc:mysql:{rest}"
    return f"jdbc:mysql:{rest}{'&' if '?' in rest else '?'}permitMysqlScheme"


def endpoints(url: str) -> list[str]:
    """``host:port`` of each server a URL names (default ports filled in), for error messages."""
    dialect = dialect_for(url)
    match = _URL.match(url.strip())
    rest = match.group("rest") if match else url
    if not rest.startswith("//"):
        # jdbc:postgresql:dbname (local server), or a driver-specific form
        return [f"localhost:{dialect.default_port}"] if dialect.default_port and "/" not in rest else []
    authority = re.split(r"[/?;]", rest[2:], maxsplit=1)[0]
    authority = authority.rsplit("@", 1)[-1]
    found = []
    for host in filter(None, authority.split(",")):
        if re.search(r":\d+$", host):
            found.append(host)
        elif dialect.default_port:
            found.append(f"{host}:{dialect.default_port}")
        else:
            found.append(host)
    return found


def display_url(url: str) -> str:
    """The URL without its query string or user info (which may hold credentials)."""
    text = re.split(r"[?;]", url.strip(), maxsplit=1)[0]
    return re.sub(r"//[^/@]*@", "//", text)
