"""Databases by JDBC URL: driver class, Maven coordinates, identifier quoting, the SQL of each mode.

Pure text; nothing here opens a connection, so ``validate`` and unit tests use it freely.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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

    @property
    def mysql_family(self) -> bool:
        return self.name in ("mysql", "mariadb")

    def quote_identifier(self, name: str) -> str:
        return f"{self.quote}{name.replace(self.quote, self.quote * 2)}{self.quote}"

    def qualified(self, *parts: str | None) -> str:
        return ".".join(self.quote_identifier(p) for p in parts if p)

    def literal(self, value: str) -> str:
        """A SQL string literal (MySQL also treats backslashes as escapes)."""
        text = value.replace("\\", "\\\\") if self.mysql_family else value
        return "'" + text.replace("'", "''") + "'"

    def column_list(self, columns: Sequence[str], alias: str | None = None) -> str:
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + self.quote_identifier(c) for c in columns)

    def insert_select(self, target: str, staging: str, columns: Sequence[str]) -> str:
        cols = self.column_list(columns)
        return f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {staging}"

    def upsert(self, target: str, staging: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        """One statement inserting the staged rows and updating the rows whose keys exist."""
        cols = self.column_list(columns)
        updates = [c for c in columns if c not in keys]
        if self.name == "postgresql":
            insert = (
                f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {staging} ON CONFLICT ({self.column_list(keys)})"
            )
            if not updates:
                return f"{insert} DO NOTHING"
            sets = ", ".join(f"{self.quote_identifier(c)} = EXCLUDED.{self.quote_identifier(c)}" for c in updates)
            return f"{insert} DO UPDATE SET {sets}"
        if self.mysql_family:
            # Columns of the SELECT are referenced through its alias (VALUES() is deprecated in MySQL 8).
            source_cols = self.column_list(columns, "s")
            assignments = updates or [keys[0]]
            sets = ", ".join(
                f"{self.quote_identifier(c)} = {'s.' if updates else ''}{self.quote_identifier(c)}" for c in assignments
            )
            return (
                f"INSERT INTO {target} ({cols}) SELECT {source_cols} FROM {staging} AS s ON DUPLICATE KEY UPDATE {sets}"
            )
        raise ValueError(f"{self.label} has no upsert statement")

    def duplicate_keys(self, staging: str, keys: Sequence[str]) -> str:
        """Key values present more than once in the staged rows (an upsert of them would be ambiguous)."""
        key_list = self.column_list(keys)
        return f"SELECT {key_list}, COUNT(*) FROM {staging} GROUP BY {key_list} HAVING COUNT(*) > 1"

    def create_like(self, staging: str, target: str, columns: Sequence[str]) -> str:
        """An empty table with ``columns`` typed as in ``target``, without its constraints."""
        return f"CREATE TABLE {staging} AS SELECT {self.column_list(columns)} FROM {target} WHERE 1 = 0"

    def rename(self, staging: str, staging_schema: str | None, new_name: str) -> str:
        """Rename the staging table into the target (same schema or database)."""
        if self.mysql_family:
            return f"RENAME TABLE {staging} TO {self.qualified(staging_schema, new_name)}"
        return f"ALTER TABLE {staging} RENAME TO {self.quote_identifier(new_name)}"

    def drop(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {table}"

    def delete_all(self, table: str) -> str:
        return f"DELETE FROM {table}"


POSTGRESQL = Dialect("postgresql", "PostgreSQL", "org.postgresql.Driver", 5432, '"', supports_upsert=True)
MARIADB = Dialect("mariadb", "MariaDB", "org.mariadb.jdbc.Driver", 3306, "`", supports_upsert=True)
MYSQL = Dialect("mysql", "MySQL", "com.mysql.cj.jdbc.Driver", 3306, "`", supports_upsert=True)
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
