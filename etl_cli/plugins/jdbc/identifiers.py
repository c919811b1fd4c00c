"""Names of tables and columns taken from a pipeline: one rule, and the dialect's quoting in SQL.

Every name a JDBC stage puts into a statement it generates (the source's ``table``,
``partition_column`` and ``incremental.column``; the sink's ``table`` and ``keys``) follows
one rule, checked twice with the same regular expression: by the option's JSON Schema
(``pattern``, so ``validate`` reports a bad name at its file:line:col, offline) and again
when the stage runs, for a value that reached it another way (a stage built in code, a
replay). Each part of a name is

- **plain**: an ASCII letter or ``_``, then ASCII letters, digits or ``_``, 64 characters at
  most. The database folds its case as it does for any unquoted name (PostgreSQL to lower
  case; MySQL and MariaDB keep it);
- or **quoted**: 1 to 64 characters between double quotes (or backticks), none of them a
  quote, a backtick, a backslash or a control character (so no line break). The name is
  exactly those characters, case and spaces kept.

A table is one part or two (``schema.table``; ``database.table`` on MySQL and MariaDB), a
column one part. Statements never contain the text as written: each part is quoted again by
the dialect (:meth:`Identifier.sql`), so nothing in a name can end the identifier, start a
comment or another statement. SQL itself is given only as the source's ``query``.

A plain name is restricted further than SQL requires (no ``$``, no letters outside ASCII,
no leading digit): such names are written quoted. Why a regular expression rather than a SQL
parser (sqlglot's ``to_table``): the rule is the same for every database, the published
schema can carry it for editors, and ``validate`` stays free of a parser import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from etl_cli.errors import ConfigError

if TYPE_CHECKING:
    from etl_cli.plugins.api import StageSpec
    from etl_cli.plugins.jdbc.dialects import Dialect

MAX_LENGTH = 64
_PLAIN = rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_LENGTH - 1}}}"
#: escapes only where ECMA-262 allows them in unicode mode too (editors compile patterns that way)
_QUOTED_CHAR = r'[^"`\\\x00-\x1f\x7f-\x9f]'
_QUOTED = rf'"{_QUOTED_CHAR}{{1,{MAX_LENGTH}}}"|`{_QUOTED_CHAR}{{1,{MAX_LENGTH}}}`'
_PART = rf"(?:{_PLAIN}|{_QUOTED})"
#: the end of the text: ``$`` would also match before a final line break (in Python's ``re.search``)
_END = r"(?![\s\S])"

#: JSON Schema ``pattern`` of a column name (ECMA-262 and Python alike)
COLUMN_PATTERN = rf"^{_PART}{_END}"
#: JSON Schema ``pattern`` of a table name: ``table`` or ``schema.table``
TABLE_PATTERN = rf"^{_PART}(?:\.{_PART}){{0,1}}{_END}"

#: a part, its text in group 1 (plain), 2 (in double quotes) or 3 (in backticks)
_PART_GROUPS = rf'(?:({_PLAIN})|"({_QUOTED_CHAR}+)"|`({_QUOTED_CHAR}+)`)'
_COLUMN = re.compile(COLUMN_PATTERN)
_TABLE = re.compile(TABLE_PATTERN)
_COLUMN_PARTS = re.compile(_PART_GROUPS)
_TABLE_PARTS = re.compile(rf"{_PART_GROUPS}(?:\.{_PART_GROUPS})?")

TABLE_RULE = (
    "write table or schema.table, each part letters, digits and _ (not starting with a digit), or in double "
    "quotes to keep its case and spaces (in YAML: '\"Sales 2024\".orders'); SQL goes only in the source's query option"
)
COLUMN_RULE = (
    "write one column name: letters, digits and _ (not starting with a digit), or in double quotes to keep "
    "its case and spaces (in YAML: '\"Updated At\"')"
)


@dataclass(frozen=True)
class Identifier:
    """One part of a name as the pipeline wrote it: its characters, and whether it was quoted."""

    text: str
    quoted: bool = False

    @classmethod
    def parse(cls, text: str) -> Identifier:
        """The column name ``text``; ValueError when it breaks the rule (module doc)."""
        parts = _COLUMN_PARTS.fullmatch(text) if _COLUMN.search(text) else None
        if parts is None:
            raise ValueError(f"{text!r} is not a column name")
        return _identifier(parts.groups())

    def stored(self, dialect: Dialect) -> str:
        """The name as the database stores it: a plain name folded as the database folds unquoted names."""
        if self.quoted or dialect.unquoted_case is None:
            return self.text
        return self.text.lower() if dialect.unquoted_case == "lower" else self.text

    def sql(self, dialect: Dialect) -> str:
        """The name in a statement: quoted by the dialect. A plain name stays bare only where the database's
        folding of unquoted names is unknown (the generic dialect); the rule leaves nothing in it to escape."""
        if not self.quoted and dialect.unquoted_case is None:
            return self.text
        return dialect.quote_identifier(self.stored(dialect))

    def __str__(self) -> str:
        return f'"{self.text}"' if self.quoted else self.text


@dataclass(frozen=True)
class TableName:
    """A table as a pipeline names it: ``name`` or ``schema.name`` (``database.name`` on MySQL)."""

    namespace: Identifier | None
    name: Identifier

    @classmethod
    def parse(cls, text: str) -> TableName:
        """The table named ``text``; ValueError when it breaks the rule (module doc)."""
        parts = _TABLE_PARTS.fullmatch(text) if _TABLE.search(text) else None
        if parts is None:
            raise ValueError(f"{text!r} is not a table name")
        groups = parts.groups()
        first, second = _identifier(groups[:3]), groups[3:]
        if not any(second):
            return cls(None, first)
        return cls(first, _identifier(second))

    def sql(self, dialect: Dialect) -> str:
        parts = [self.namespace, self.name] if self.namespace else [self.name]
        return ".".join(part.sql(dialect) for part in parts)

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else str(self.name)


def _identifier(groups: Sequence[str | None]) -> Identifier:
    plain, double, backtick = groups
    if plain is not None:
        return Identifier(plain)
    return Identifier(str(double if double is not None else backtick), quoted=True)


# --------------------------------------------------------------------------- option schemas


def table_schema(description: str) -> dict[str, Any]:
    """A table option: its JSON Schema, with the rule as ``pattern`` (``patternErrorMessage`` is what
    ``validate`` and editors that know the keyword say when it fails)."""
    return {
        "type": "string",
        "pattern": TABLE_PATTERN,
        "patternErrorMessage": "not a table name",
        "description": f"{description} {_sentence(TABLE_RULE)}",
    }


def column_schema(description: str) -> dict[str, Any]:
    """A column option: its JSON Schema, with the rule as ``pattern``."""
    return {
        "type": "string",
        "pattern": COLUMN_PATTERN,
        "patternErrorMessage": "not a column name",
        "description": f"{description} {_sentence(COLUMN_RULE)}",
    }


def _sentence(text: str) -> str:
    return f"{text[0].upper()}{text[1:]}."


# --------------------------------------------------------------------------- checked again at run time


_Name = TypeVar("_Name", "TableName", "Identifier")


def _parsed(stage: StageSpec, key: str, value: Any, parse: Callable[[str], _Name], what: str, rule: str) -> _Name:
    """``value``, given as option ``key``, parsed as a ``what``; a ConfigError (exit 1) naming the stage when it
    breaks the ``rule``."""
    try:
        return parse(value if isinstance(value, str) else "")
    except ValueError:
        raise ConfigError(
            f"{stage.label}: {key} {value!r} is not a {what}", location=stage.location, hint=rule
        ) from None


def table_option(stage: StageSpec, key: str = "table") -> TableName:
    """The stage's table option, parsed; a ConfigError (exit 1) naming the stage when it breaks the rule."""
    return _parsed(stage, key, stage.options.get(key), TableName.parse, "table name", TABLE_RULE)


def column_option(stage: StageSpec, *path: str) -> Identifier | None:
    """The column option at ``path`` (None when not set), parsed; a ConfigError when it breaks the rule."""
    value: Any = stage.options
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None:
        return None
    return column_name(stage, ".".join(path), value)


def column_name(stage: StageSpec, key: str, value: Any) -> Identifier:
    """``value``, given as option ``key``, as a column name; a ConfigError when it breaks the rule."""
    return _parsed(stage, key, value, Identifier.parse, "column name", COLUMN_RULE)
