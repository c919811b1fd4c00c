"""The column lineage of one Spark SQL query, read with a real SQL parser (sqlglot, dialect spark).

Every transform's lineage is a query over its inputs (a ``sql`` stage's own, or the one a
built-in transform gives in :meth:`~etl_cli.plugins.api.Transform.column_lineage`), so this
is the one place that reads SQL. The query is qualified against the inputs' known columns
(sqlglot's ``qualify`` expands ``*`` and names the table of each column), then each scope
(the query, its CTEs, derived tables, subqueries, the branches of a UNION) is walked:

- a select item makes its output column from the columns it reads: ``identity`` when it is a
  bare column, ``window`` anywhere in a window function (its argument, partition and order:
  the value depends on other rows), ``aggregation`` inside an aggregate function,
  ``expression`` otherwise;
- WHERE, HAVING and QUALIFY (``filter``), join conditions (``join_key``), GROUP BY
  (``group_by``) and ORDER BY (``order``) decide which rows there are: they reach every output
  column, as do those of the CTEs and derived tables the query reads from;
- through a CTE or derived table the relations compose: the stronger one wins (aggregation,
  then window, then expression, then identity).

Spark compares names without regard to case (``spark.sql.caseSensitive`` false), and so
does this: names are matched lower-cased and shown as the inputs or the query spell them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

DIALECT = "spark"
#: the problem of a ``*`` that cannot be expanded (reported once, by the stage whose input is unknown)
UNKNOWN_STAR = "reads an input whose columns are unknown"
#: a name shown without backticks
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: the names sqlglot gives select items written without one
_AUTO_NAME = re.compile(r"_col_[0-9]+")
#: value relations from weakest to strongest: composing two keeps the stronger
_STRENGTH = ("identity", "expression", "window", "aggregation")


@dataclass(frozen=True)
class Use:
    """An input column a query reads: from which input (as named in ``tables``), how, and in which expression."""

    table: str
    column: str
    how: str
    expression: str | None


#: why a column reference is not resolved (:class:`Unresolved`)
NO_COLUMN, NO_TABLE, NOT_INPUT, UNCLEAR = "no-column", "no-table", "not-input", "unclear"


@dataclass(frozen=True)
class Unresolved:
    """A column reference the query's inputs do not give, for checks that point at it (``validate``).

    ``reason``: NO_COLUMN (``table``, an input or subquery, has no such column), NO_TABLE (the
    qualifier ``table`` names no table of the query), NOT_INPUT (the query reads ``table``, which is
    not an input) or UNCLEAR (unqualified, and no input is known to have it alone).
    """

    column: str
    table: str | None
    reason: str


@dataclass
class QueryLineage:
    """What a query makes: its output columns (None: a ``*`` over an input whose columns are unknown), the
    input columns each is made from (``values``, by output column), those that decide its rows, and what
    could not be told."""

    columns: tuple[str, ...] | None
    values: dict[str, list[Use]] = field(default_factory=dict)
    rows: list[Use] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: the column references behind the problems, one each
    unresolved: list[Unresolved] = field(default_factory=list)


@dataclass
class _ScopeLineage:
    """:class:`QueryLineage` of one scope, by lower-cased column name, in order."""

    columns: list[str] | None
    values: dict[str, list[Use]]
    rows: list[Use]


def query_lineage(sql: str, tables: Mapping[str, Sequence[str] | None]) -> QueryLineage:
    """The lineage of ``sql``, a SELECT over ``tables`` (input name → its columns, None when unknown).

    ``validate`` asks for the same statement several times (the lineage of each stage, then the
    checks of its expressions and of the pipeline's tests): each is parsed and qualified once per
    process. The result is shared between callers, which only read it.
    """
    key = tuple((name, None if columns is None else tuple(columns)) for name, columns in tables.items())
    return _query_lineage(sql, key)


@functools.lru_cache(maxsize=512)
def _query_lineage(sql: str, table_key: tuple[tuple[str, tuple[str, ...] | None], ...]) -> QueryLineage:
    tables = dict(table_key)
    try:
        parsed = sqlglot.parse_one(sql, read=DIALECT)
    except SqlglotError as error:
        return QueryLineage(None, problems=[f"the query does not parse: {_first_line(error)}"])
    if not isinstance(parsed, exp.Query):
        return QueryLineage(None, problems=["the query is not a SELECT"])
    spelling = _spellings(parsed, tables)
    schema: dict[str, object] = {
        name.lower(): {c.lower(): "string" for c in cols} for name, cols in tables.items() if cols is not None
    }
    try:
        qualified = qualify(parsed, schema=schema, dialect=DIALECT, validate_qualify_columns=False,
                            quote_identifiers=False, identify=False)  # fmt: skip
        root = build_scope(qualified)
    except SqlglotError as error:
        return QueryLineage(None, problems=[f"the query cannot be analysed: {_first_line(error)}"],
                            unresolved=_unknown_column(error, spelling))  # fmt: skip
    if root is None:
        return QueryLineage(None, problems=["the query has no SELECT to analyse"])
    walker = _Walker(tables, spelling)
    found = walker.lineage(root)
    columns = tuple(spelling.get(c, c) for c in found.columns) if found.columns is not None else None
    unnamed = [c for c in columns or () if _AUTO_NAME.fullmatch(c) and c not in spelling]
    if unnamed:
        walker.problem("an output column has no name (Spark names it after its expression): write expression AS name")
        columns = None
    values = {spelling.get(name, name): uses for name, uses in found.values.items()}
    return QueryLineage(columns, values, found.rows, walker.problems, walker.unresolved)


def _unknown_column(error: Exception, spelling: Mapping[str, str]) -> list[Unresolved]:
    """The qualified column qualify stopped at (``t.x`` where ``t`` is known and has no ``x``), if that is why."""
    prefix = "Unknown column: "
    text = _first_line(error)
    if not text.startswith(prefix):
        return []
    name = text.removeprefix(prefix).strip()
    return [Unresolved(spelling.get(name.lower(), name), None, NO_COLUMN)]


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _spellings(parsed: exp.Expr, tables: Mapping[str, Sequence[str] | None]) -> dict[str, str]:
    """Lower-cased name → how to show it: as the query first spells it, else as an input does."""
    spelling: dict[str, str] = {}
    for identifier in parsed.find_all(exp.Identifier):
        spelling.setdefault(identifier.name.lower(), identifier.name)
    for columns in tables.values():
        for column in columns or ():
            spelling.setdefault(column.lower(), column)
    return spelling


class _Walker:
    """Walks the scopes of one qualified query, each once."""

    def __init__(self, tables: Mapping[str, Sequence[str] | None], spelling: Mapping[str, str]):
        self.tables = {name.lower(): name for name in tables}
        self.columns = {name.lower(): {c.lower(): c for c in cols} for name, cols in tables.items() if cols is not None}
        self.spelling = spelling
        self.problems: list[str] = []
        self.unresolved: list[Unresolved] = []
        self._done: dict[int, _ScopeLineage] = {}

    def problem(self, text: str, unresolved: Unresolved | None = None) -> None:
        if text not in self.problems:
            self.problems.append(text)
        if unresolved is not None and unresolved not in self.unresolved:
            self.unresolved.append(unresolved)

    def lineage(self, scope: Scope) -> _ScopeLineage:
        if id(scope) not in self._done:
            if isinstance(scope.expression, exp.SetOperation):
                self._done[id(scope)] = self._set_operation(scope)
            elif isinstance(scope.expression, exp.Select):
                self._done[id(scope)] = self._select(scope)
            else:  # a table function's scope (LATERAL VIEW explode(...)): its columns come from Spark
                self.problem(f"{scope.expression.key.upper()} is not followed offline")
                self._done[id(scope)] = _ScopeLineage(None, {}, [])
        return self._done[id(scope)]

    def _set_operation(self, scope: Scope) -> _ScopeLineage:
        """UNION, INTERSECT, EXCEPT: output column i is column i of every branch, named by the first."""
        branches = [self.lineage(child) for child in scope.set_operation_scopes]
        rows = [use for branch in branches for use in branch.rows]
        first = branches[0].columns
        if first is None or any(branch.columns is None for branch in branches):
            return _ScopeLineage(None, {}, rows)
        values: dict[str, list[Use]] = {name: [] for name in first}
        for branch in branches:
            assert branch.columns is not None
            for name, other in zip(first, branch.columns, strict=False):
                values[name] += branch.values.get(other, [])
        return _ScopeLineage(list(first), values, rows)

    def _select(self, scope: Scope) -> _ScopeLineage:
        select = scope.expression
        assert isinstance(select, exp.Select)  # set operations and table functions are handled apart
        rows = [use for child in self._read_scopes(scope) for use in self.lineage(child).rows]
        rows += self._row_uses(scope, select)
        columns: list[str] | None = []
        values: dict[str, list[Use]] = {}
        for item in select.selects:
            if isinstance(item, exp.Star) or (isinstance(item.unalias(), exp.Column) and item.unalias().is_star):
                self.problem(f"{item.sql(DIALECT)} {UNKNOWN_STAR}")
                columns = None
                for name, uses in self._star_values(scope, item).items():
                    values.setdefault(name, uses)
                continue
            name = item.alias_or_name.lower()
            body = item.unalias()
            text = None if isinstance(body, exp.Column) else self._text(scope, body)
            values[name] = self._uses(scope, body, None, text, root=body)
            if columns is not None:
                columns.append(name)
        return _ScopeLineage(columns, values, rows)

    def _star_values(self, scope: Scope, star: exp.Expr) -> dict[str, list[Use]]:
        """The columns a ``*`` that stayed unexpanded still gives from the tables whose columns are known.

        qualify expands no part of a ``*`` over a join when one side is unknown; the known side's
        columns are still in the output, as identities.
        """
        table = star.table if isinstance(star, exp.Column) else ""
        found: dict[str, list[Use]] = {}
        for alias, (_, source) in scope.selected_sources.items():
            if table and alias != table:
                continue
            if isinstance(source, exp.Table) and source.name.lower() in self.columns:
                for name in self.columns[source.name.lower()]:
                    found.setdefault(name, self._table_column(source, name))
            elif isinstance(source, Scope):
                for name, uses in self.lineage(source).values.items():
                    found.setdefault(name, uses)
        return found

    def _read_scopes(self, scope: Scope) -> list[Scope]:
        """The CTEs and derived tables ``scope`` reads rows from (their row filters reach its rows)."""
        return [source for _, source in scope.selected_sources.values() if isinstance(source, Scope)]

    def _row_uses(self, scope: Scope, select: exp.Expr) -> list[Use]:
        found: list[Use] = []
        for key, how in (("where", "filter"), ("having", "filter"), ("qualify", "filter")):
            clause = select.args.get(key)
            if clause is not None:
                found += self._uses(scope, clause.this, how, self._text(scope, clause.this))
        for join in select.args.get("joins") or ():
            for condition in (join.args.get("on"), *(join.args.get("using") or ())):
                if condition is not None:
                    found += self._uses(scope, condition, "join_key", self._text(scope, condition))
        for key, how in (("group", "group_by"), ("order", "order")):
            clause = select.args.get(key)
            for item in clause.expressions if clause is not None else ():
                found += self._uses(scope, item, how, self._text(scope, item))
        return found

    def _uses(self, scope: Scope, node: exp.Expr, row_how: str | None, text: str | None,
              root: exp.Expr | None = None) -> list[Use]:  # fmt: skip
        """The input columns ``node`` reads; ``row_how`` for a row clause, None for a select item."""
        found: list[Use] = []
        for column, nested in _columns_and_subqueries(node):
            if nested is not None:
                found += self._subquery_uses(scope, nested, row_how, text)
                continue
            assert column is not None
            how = row_how or _value_how(column, root)
            for use in self._resolve(scope, column):
                found.append(_composed(use, how, text, row_how is not None))
        return found

    def _subquery_uses(self, scope: Scope, node: exp.Expr, row_how: str | None, text: str | None) -> list[Use]:
        """Every column a subquery (``IN (SELECT ...)``, a scalar subquery) reads: in a row clause with its
        ``row_how``; in a select item, what makes the subquery's value as an expression of it (a ``max`` in it
        stays an aggregation), what decides its rows as an expression too."""
        child = next((s for s in scope.subquery_scopes if s.expression is node), None)
        if child is None:
            self.problem(f"a subquery could not be analysed: {node.sql(DIALECT)}")
            return []
        found = self.lineage(child)
        values = [use for uses in found.values.values() for use in uses]
        if row_how is not None:
            return [Use(u.table, u.column, row_how, text) for u in values + found.rows]
        made = [_composed(use, "expression", text, False) for use in values]
        return made + [Use(u.table, u.column, "expression", text) for u in found.rows]

    def _resolve(self, scope: Scope, column: exp.Column) -> list[Use]:
        """The input columns behind ``column`` of ``scope`` (through CTEs and derived tables), as identities."""
        name = column.name.lower()
        source = self._source(scope, column)
        if source is None:
            return []
        if isinstance(source, Scope):
            child = self.lineage(source)
            if name in child.values:
                return child.values[name]
            if child.columns is None and not isinstance(source.expression, exp.Select | exp.SetOperation):
                return []  # a column a table function makes: unknown offline (said once, for its scope)
            if child.columns is None and len(source.selected_sources) == 1:
                return self._resolve(source, exp.column(name))  # through a * over an input of unknown columns
            self.problem(
                f"{self._shown(name)} is not a column of {column.table or 'the subquery'}",
                Unresolved(self._shown(name), self._shown(column.table) if column.table else None, NO_COLUMN),
            )
            return []
        return self._table_column(source, name)

    def _source(self, scope: Scope, column: exp.Column) -> Scope | exp.Table | None:
        """What ``column`` is read from: its table's source in ``scope`` or an enclosing scope (correlation)."""
        table = column.table
        current: Scope | None = scope
        while current is not None:
            if table and table in current.sources:
                return current.sources[table]
            if not table and len(current.selected_sources) == 1:
                return next(iter(current.selected_sources.values()))[1]
            current = current.parent if current.is_subquery or current.is_correlated_subquery else None
        name = self._shown(column.name.lower())
        if table:
            self.problem(f"{table}.{name} names no table of the query", Unresolved(name, self._shown(table), NO_TABLE))
        else:
            self.problem(f"{name}: cannot tell which input it comes from (qualify it)", Unresolved(name, None, UNCLEAR))
        return None

    def _table_column(self, table: exp.Table, name: str) -> list[Use]:
        key = table.name.lower()
        if key not in self.tables:
            known = ", ".join(sorted(self.tables.values())) or "none"
            self.problem(
                f"reads {table.name}, which is not an input of the stage (inputs: {known})",
                Unresolved(self._shown(name), table.name, NOT_INPUT),
            )
            return []
        spelled = self.columns.get(key, {}).get(name)
        if spelled is None and key in self.columns:
            self.problem(
                f"{self.tables[key]} has no column {self._shown(name)}",
                Unresolved(self._shown(name), self.tables[key], NO_COLUMN),
            )
            return []
        return [Use(self.tables[key], spelled or self._shown(name), "identity", None)]

    def _shown(self, name: str) -> str:
        return self.spelling.get(name, name)

    def _text(self, scope: Scope, node: exp.Expr) -> str:
        """``node`` as Spark SQL, without table names when the scope reads a single table."""
        shown = node.unnest().copy()
        for alias in list(shown.find_all(exp.Alias)):
            if alias.alias.lower() == alias.this.name.lower():
                alias.replace(alias.this)  # qualify's "x AS x"
        for table in list(shown.find_all(exp.Table)):
            if table.alias.lower() == table.name.lower():
                table.set("alias", None)  # qualify's "t AS t"
        if len(scope.selected_sources) == 1:
            for column in shown.find_all(exp.Column):
                column.set("table", None)
        for identifier in shown.find_all(exp.Identifier):
            identifier.set("this", self._shown(identifier.name.lower()))
            identifier.set("quoted", not _PLAIN_NAME.fullmatch(identifier.name))
        return shown.sql(DIALECT)


def _columns_and_subqueries(node: exp.Expr) -> Iterator[tuple[exp.Column | None, exp.Expr | None]]:
    """The columns ``node`` reads itself, and the subqueries in it (not looked into: they are scopes)."""
    if isinstance(node, exp.Subquery):
        yield None, node.this
        return
    if isinstance(node, exp.Query):
        yield None, node
        return
    if isinstance(node, exp.Column):
        if not node.is_star:
            yield node, None
        return
    for child in node.iter_expressions():
        yield from _columns_and_subqueries(child)


def _value_how(column: exp.Column, root: exp.Expr | None) -> str:
    """How a column read by a select item makes its value (see the module doc)."""
    if column is root:
        return "identity"
    stop = root.parent if root is not None else None
    ancestors = []
    node: exp.Expr | None = column.parent
    while node is not None and node is not stop:
        ancestors.append(node)
        node = node.parent
    if any(isinstance(a, exp.Window) for a in ancestors):
        return "window"
    return "aggregation" if any(isinstance(a, exp.AggFunc) for a in ancestors) else "expression"


def _composed(use: Use, how: str, text: str | None, is_row: bool) -> Use:
    """``use`` (how an input column makes a column of a CTE or table) seen through ``how`` of the outer query."""
    if is_row:
        return Use(use.table, use.column, how, text)
    if how == "identity":
        return use
    if use.how == "identity":
        return Use(use.table, use.column, how, text)
    stronger = max(how, use.how, key=lambda h: _STRENGTH.index(h) if h in _STRENGTH else -1)
    return Use(use.table, use.column, stronger, text)
