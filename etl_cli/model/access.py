"""Row-level security, offline: the project's ``principals:`` and ``access:`` rules (docs/data-security.md).

``etl-project.yaml`` declares who may read (``principals:``, each with attributes such as
``tenant`` or ``region`` and optionally ``groups``) and which rows of which sources each one
sees (``access:``, named rules)::

    principals:
      alice: {tenant: 7, region: eu}
      bob: {tenant: 9, groups: [analysts]}
      root: {groups: [admins]}
    access:
      tenant_rows:
        sources: ["orders*"]           # source stage names (globs); also types: and datasets:
        filter: "tenant_id = ${principal:tenant}"
        exempt: {groups: [admins]}     # or principals: [root]
        required: true

A rule applies to the sources it matches (all of them when it names none) for every principal it
does not exempt. ``${principal:ATTR}`` stands for an attribute of the principal (``name`` is its
name); the value enters the filter as a SQL literal built by sqlglot, never as pasted text, so a
value holding a quote stays one string. ``required: true``: the principal must be declared under
``principals:``, or the run is refused. The decision for one run (:func:`decide`) raises
:class:`AccessRefused` (exit 1) with every reason at once; the runtime applies the filters where
sources are read (:mod:`etl_cli.runtime.execution.row_access`). Nothing here imports pyspark.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from etl_cli.config.nodes import Node, to_plain
from etl_cli.config.principal import PrincipalName, resolve_principal
from etl_cli.config.project import PROJECT_FILE, Project
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import ConfigError, Location
from etl_cli.plugins.api import StageSpec, resolve_path

#: the SQL dialect filters are written in (Spark's, as every expression of a pipeline)
DIALECT = "spark"
#: ``${principal:ATTR}`` in a filter (the interpolation syntax of the rest of the configuration)
_REFERENCE = re.compile(r"\$\{principal:([^}]*)\}")
_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: what a reference becomes before the filter is parsed: a named placeholder sqlglot keeps as one node
_PLACEHOLDER_PREFIX = "etl_principal__"
#: the attribute every principal has: its name
NAME_ATTRIBUTE = "name"
GROUPS = "groups"
_RULE_KEYS = ("description", "sources", "types", "datasets", "filter", "exempt", "required")
_EXEMPT_KEYS = ("principals", "groups")
#: the options of a source that name the data it reads, for a rule's ``datasets:`` patterns
_DATASET_OPTIONS = ("path", "table", "dbtable", "topic", "topics")


class AccessRefused(ConfigError):
    """The project's ``access:`` rules refuse the run: no usable principal, or one without an attribute (exit 1)."""


class FilterProblem(ValueError):
    """A filter that cannot be used: it does not parse, or a ``${principal:...}`` reference is wrong."""

    def __init__(self, message: str, offset: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message, self.offset, self.hint = message, offset, hint


@dataclass(frozen=True)
class ParsedFilter:
    """A rule's filter parsed by sqlglot, each ``${principal:ATTR}`` a placeholder node."""

    tree: exp.Expr
    #: the attributes it reads, in the order written, each once
    attributes: tuple[str, ...]

    def with_values(self, values: Mapping[str, Any]) -> str:
        """The filter as Spark SQL, each placeholder replaced by the literal of its attribute's value."""

        def literal(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Placeholder) and str(node.name).startswith(_PLACEHOLDER_PREFIX):
                return sql_literal(values[str(node.name)[len(_PLACEHOLDER_PREFIX) :]])
            return node

        return self.tree.copy().transform(literal).sql(dialect=DIALECT)

    def with_nulls(self) -> str:
        """The filter with NULL for every attribute: its columns, for offline checks, whatever the principal."""
        return self.with_values(dict.fromkeys(self.attributes))


def sql_literal(value: Any) -> exp.Expression:
    """A SQL literal node of a principal's attribute value (text quoted and escaped by sqlglot)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


@lru_cache(maxsize=256)
def parse_filter(text: str) -> ParsedFilter:
    """``text`` parsed as one Spark SQL condition; raises :class:`FilterProblem` (with where in ``text``)."""
    attributes: list[str] = []
    pieces: list[str] = []
    end = 0
    for found in _REFERENCE.finditer(text):
        attribute = found.group(1).strip()
        if not _ATTRIBUTE.match(attribute):
            raise FilterProblem(
                f"'{found.group(0)}' does not name an attribute",
                found.start(),
                "write ${principal:ATTR} with ATTR a name of letters, digits and underscores",
            )
        pieces += [text[end : found.start()], f":{_PLACEHOLDER_PREFIX}{attribute}"]
        attributes.append(attribute)
        end = found.end()
    query = "".join([*pieces, text[end:]])
    if not query.strip():
        raise FilterProblem("the filter is empty", None, "for example: tenant_id = ${principal:tenant}")
    try:
        statements = [s for s in sqlglot.parse(query, read=DIALECT) if s is not None]
    except SqlglotError as problem:
        raise FilterProblem(f"it is not valid Spark SQL: {_first_line(problem)}") from problem
    if len(statements) != 1:
        raise FilterProblem("it holds more than one statement", text.find(";"), "write one condition, without ';'")
    tree = statements[0]
    if isinstance(tree, (exp.Query, exp.DDL, exp.DML, exp.Command)):
        raise FilterProblem("it is a statement, not a condition", 0, "write only what follows WHERE")
    placeholders = list(tree.find_all(exp.Placeholder))
    ours = [p for p in placeholders if str(p.name).startswith(_PLACEHOLDER_PREFIX)]
    if len(placeholders) != len(ours):
        raise FilterProblem("it holds a query parameter (':name' or '?')", None, "use ${principal:ATTR} instead")
    if len(ours) != len(attributes):
        at = _REFERENCE.search(text)
        raise FilterProblem(
            "a ${principal:...} reference is inside a quoted string or a comment",
            at.start() if at else None,
            "write the reference without quotes: its value is quoted for you",
        )
    return ParsedFilter(tree, tuple(dict.fromkeys(attributes)))


def _first_line(problem: SqlglotError) -> str:
    lines = str(problem).strip().splitlines()
    return lines[0] if lines else type(problem).__name__


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class PrincipalEntry:
    """One entry of ``principals:``: a name, its attributes (scalars) and its groups."""

    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)
    groups: tuple[str, ...] = ()
    location: Location | None = field(default=None, compare=False)

    def value(self, attribute: str) -> Any:
        return self.name if attribute == NAME_ATTRIBUTE else self.attributes[attribute]

    def has(self, attribute: str) -> bool:
        return attribute == NAME_ATTRIBUTE or attribute in self.attributes


@dataclass(frozen=True)
class AccessRule:
    """One ``access:`` rule: which sources it filters, the filter, who is exempt, and whether it is required."""

    name: str
    filter: str
    parsed: ParsedFilter = field(compare=False, repr=False)
    #: globs of source stage names; types; globs of what the source reads (path, table, topic); empty: any
    sources: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    exempt_principals: tuple[str, ...] = ()
    exempt_groups: tuple[str, ...] = ()
    required: bool = False
    description: str | None = None
    location: Location | None = field(default=None, compare=False)
    #: where the filter's text starts (its first character when the file holds it plainly on one line)
    filter_location: Location | None = field(default=None, compare=False)

    def matches(self, stage: StageSpec, project_root: Path) -> bool:
        """Whether the rule filters ``stage``: a source matched by every selector the rule gives."""
        if stage.kind != "source":
            return False
        if self.sources and not _any_match(self.sources, [stage.name]):
            return False
        if self.types and stage.type not in self.types:
            return False
        return not self.datasets or _any_match(self.datasets, _datasets_read(stage, project_root))

    def exempts(self, name: str, entry: PrincipalEntry | None) -> bool:
        if name in self.exempt_principals:
            return True
        return entry is not None and bool(set(entry.groups) & set(self.exempt_groups))

    def filter_at(self, offset: int | None) -> Location | None:
        """The place of character ``offset`` of the filter (its start when unknown)."""
        start = self.filter_location
        if start is None or offset is None or start.line <= 0:
            return start
        return Location(start.file, start.line, start.column + offset)


def _any_match(patterns: Iterable[str], values: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for value in values for pattern in patterns)


def _datasets_read(stage: StageSpec, project_root: Path) -> list[str]:
    """What ``stage`` reads, for ``datasets:`` globs: its path (as written and absolute), table or topic."""
    found: list[str] = []
    for option in _DATASET_OPTIONS:
        value = stage.options.get(option)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, str):
                found.append(item)
                if option == "path":
                    found.append(resolve_path(item, project_root))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class AccessSpec:
    """The project's rules and principals, and the principal ``--as`` names (None: ETL_PRINCIPAL or the OS user)."""

    rules: tuple[AccessRule, ...] = ()
    principals: Mapping[str, PrincipalEntry] = field(default_factory=dict, hash=False)
    acting_as: str | None = None

    def as_principal(self, name: str | None) -> AccessSpec:
        """The same rules, read as ``name`` (``--as``); None keeps the default order (ETL_PRINCIPAL, OS user)."""
        return self if name is None else replace(self, acting_as=name)

    def rules_for(self, stage: StageSpec, project_root: Path) -> list[AccessRule]:
        return [rule for rule in self.rules if rule.matches(stage, project_root)]


@dataclass(frozen=True)
class RowFilter:
    """A filter applied to one source for one principal: the rule's name and the condition as Spark reads it."""

    source: str
    rule: str
    sql: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "rule": self.rule, "filter": self.sql}


@dataclass(frozen=True)
class AccessDecision:
    """What one run reads as: its principal (None: none could be named), each source's filters, the exemptions."""

    principal: PrincipalName | None
    filters: tuple[RowFilter, ...] = ()
    #: (source, rule) pairs a rule matched but the principal is exempt from
    exempt: tuple[tuple[str, str], ...] = ()

    def for_source(self, stage: str) -> list[RowFilter]:
        return [f for f in self.filters if f.source == stage]

    def to_json(self) -> dict[str, Any]:
        """The run results' ``access`` (docs/data-security.md#row-level-security)."""
        return {
            "principal": self.principal.name if self.principal else None,
            "source": self.principal.source if self.principal else None,
            "filters": [f.to_json() for f in self.filters],
            "exempt": [{"source": source, "rule": rule} for source, rule in self.exempt],
        }


def decide(
    access: AccessSpec,
    sources: Sequence[StageSpec],
    project_root: Path,
    environ: Mapping[str, str] | None = None,
) -> AccessDecision:
    """The filters of ``sources`` for the run's principal; raises :class:`AccessRefused` with every reason."""
    principal = resolve_principal(access.acting_as, environ)
    filters: list[RowFilter] = []
    exempt: list[tuple[str, str]] = []
    reasons: dict[str, tuple[str, str]] = {}
    for stage in sources:
        for rule in access.rules_for(stage, project_root):
            outcome = _apply(rule, principal, access.principals)
            if isinstance(outcome, tuple):
                reasons.setdefault(rule.name, outcome)
            elif outcome is None:
                exempt.append((stage.name, rule.name))
            else:
                filters.append(RowFilter(stage.name, rule.name, outcome))
    if reasons:
        raise _refused(principal, reasons, access)
    return AccessDecision(principal, tuple(filters), tuple(exempt))


def _apply(
    rule: AccessRule, principal: PrincipalName | None, principals: Mapping[str, PrincipalEntry]
) -> str | tuple[str, str] | None:
    """The filter's SQL for ``principal``, None when it is exempt, or (why refused, what to do)."""
    if principal is None:
        return "no principal could be named", "run with --as NAME or set ETL_PRINCIPAL"
    entry = principals.get(principal.name)
    if rule.exempts(principal.name, entry):
        return None
    if entry is None and (rule.required or rule.parsed.attributes):
        need = "requires a declared principal" if rule.required else "reads attributes of the principal"
        known = did_you_mean(principal.name, principals)
        fix = f"declare '{principal.name}' under principals: in {PROJECT_FILE}, or run --as one of them"
        return f"it {need}, and '{principal.name}' ({_origin(principal)}) is not declared", (
            f"{known} {fix}" if known else fix
        )
    entry = entry or PrincipalEntry(principal.name)
    missing = [a for a in rule.parsed.attributes if not entry.has(a)]
    if missing:
        return (
            f"principal '{entry.name}' has no attribute {', '.join(repr(m) for m in missing)}",
            f"add {', '.join(missing)} to principals.{entry.name} in {PROJECT_FILE}, or exempt '{entry.name}'",
        )
    return rule.parsed.with_values({a: entry.value(a) for a in rule.parsed.attributes})


def _origin(principal: PrincipalName) -> str:
    return {"option": "named by --as", "env": "from ETL_PRINCIPAL", "os": "the OS user"}.get(principal.source, "")


def _refused(
    principal: PrincipalName | None, reasons: Mapping[str, tuple[str, str]], access: AccessSpec
) -> AccessRefused:
    who = f"as '{principal.name}'" if principal else "without a principal"
    lines = [f"access rule '{name}': {why}" for name, (why, _) in reasons.items()]
    hints = list(dict.fromkeys(hint for _, hint in reasons.values()))
    rule = next(r for r in access.rules if r.name in reasons)
    return AccessRefused(
        f"the project's access rules refuse to read {who}: " + "; ".join(lines),
        location=rule.location,
        hint="; ".join(hints),
    )


# --------------------------------------------------------------------------- reading etl-project.yaml


def access_of(project: Project) -> AccessSpec:
    """The project's rules and principals, as far as they are right (:func:`check_access` lists the problems)."""
    return _read(project)[0]


def check_access(project: Project) -> list[Diagnostic]:
    """Every problem of the project's ``principals:`` and ``access:``, each at its ``file:line:col``."""
    return list(_read(project)[1])


def _read(project: Project) -> tuple[AccessSpec, tuple[Diagnostic, ...]]:
    reader = _AccessReader()
    principals = reader.principals(project.principals)
    rules = reader.rules(project.access, principals)
    return AccessSpec(tuple(rules), MappingProxyType(principals)), tuple(reader.problems)


class _AccessReader:
    def __init__(self) -> None:
        self.problems: list[Diagnostic] = []

    def _problem(self, code: str, message: str, where: Location | None, hint: str | None = None) -> None:
        self.problems.append(error(code, message, where, hint))

    def principals(self, node: Node | None) -> dict[str, PrincipalEntry]:
        found: dict[str, PrincipalEntry] = {}
        if node is None or node.value is None:
            return found
        for name, settings in node.value.items():
            if settings.value is None:
                found[name] = PrincipalEntry(name, location=settings.key_loc)
                continue
            if not settings.is_mapping:
                self._problem("wrong-type", f"principals.{name} must map attribute names to values", settings.loc,
                              "for example: alice: {tenant: 7, region: eu, groups: [analysts]}")  # fmt: skip
                continue
            entry = self._principal(name, settings)
            if entry is not None:
                found[name] = entry
        return found

    def _principal(self, name: str, settings: Node) -> PrincipalEntry | None:
        attributes: dict[str, Any] = {}
        groups: tuple[str, ...] = ()
        ok = True
        for key, value in settings.value.items():
            where = f"principals.{name}.{key}"
            if key == GROUPS:
                plain = to_plain(value)[0]
                if not isinstance(plain, list) or not all(isinstance(g, str) for g in plain):
                    self._problem("wrong-type", f"{where} must be a list of group names", value.loc)
                    ok = False
                    continue
                groups = tuple(plain)
            elif not _ATTRIBUTE.match(key) or key == NAME_ATTRIBUTE:
                why = "is the principal's own name" if key == NAME_ATTRIBUTE else "is not an attribute name"
                self._problem("invalid-name", f"{where}: '{key}' {why}", value.key_loc,
                              "attributes are names of letters, digits and underscores, other than 'name'")  # fmt: skip
                ok = False
            elif isinstance(value.value, (dict, list)) or value.value is None:
                self._problem("wrong-type", f"{where} must be a text, number or boolean", value.loc,
                              "a filter compares a column with one value")  # fmt: skip
                ok = False
            else:
                attributes[key] = value.value
        return PrincipalEntry(name, MappingProxyType(attributes), groups, settings.key_loc) if ok else None

    def rules(self, node: Node | None, principals: Mapping[str, PrincipalEntry]) -> list[AccessRule]:
        found: list[AccessRule] = []
        if node is None or node.value is None:
            return found
        for name, settings in node.value.items():
            if not settings.is_mapping:
                self._problem("wrong-type", f"access.{name} must be a mapping (filter:, sources:, exempt:...)",
                              settings.loc, 'for example: {filter: "tenant_id = ${principal:tenant}"}')  # fmt: skip
                continue
            rule = self._rule(name, settings)
            if rule is not None:
                self._attributes_declared(rule, principals)
                found.append(rule)
        return found

    def _rule(self, name: str, settings: Node) -> AccessRule | None:
        data: dict[str, Node] = settings.value
        where = f"access.{name}"
        for key, node in data.items():
            if key not in _RULE_KEYS:
                hint = did_you_mean(key, _RULE_KEYS) or f"known keys: {', '.join(_RULE_KEYS)}"
                self._problem("unknown-key", f"unknown key '{key}' in {where}", node.key_loc, hint)
        text = data.get("filter")
        if text is None or not isinstance(text.value, str):
            self._problem("missing-filter" if text is None else "wrong-type",
                          f"{where} needs a filter: a SQL condition on the source's columns",
                          (text.loc if text is not None else settings.key_loc),
                          'for example: filter: "tenant_id = ${principal:tenant}"')  # fmt: skip
            return None
        filter_location = _text_start(text)
        try:
            parsed = parse_filter(text.value)
        except FilterProblem as problem:
            at = (
                filter_location
                if problem.offset is None or filter_location is None
                else Location(filter_location.file, filter_location.line, filter_location.column + problem.offset)
            )
            self._problem("access-filter", f"{where}.filter: {problem.message}", at, problem.hint)  # fmt: skip
            return None
        exempt = data.get("exempt")
        exempt_lists = self._exempt(exempt, where)
        required = data.get("required")
        if required is not None and not isinstance(required.value, bool):
            self._problem("wrong-type", f"{where}.required must be true or false", required.loc)
        description = data.get("description")
        return AccessRule(
            name=name,
            filter=text.value,
            parsed=parsed,
            sources=self._names(data.get("sources"), f"{where}.sources"),
            types=self._names(data.get("types"), f"{where}.types"),
            datasets=self._names(data.get("datasets"), f"{where}.datasets"),
            exempt_principals=exempt_lists[0],
            exempt_groups=exempt_lists[1],
            required=required is not None and required.value is True,
            description=description.value if description is not None and isinstance(description.value, str) else None,
            location=settings.key_loc,
            filter_location=filter_location,
        )

    def _exempt(self, node: Node | None, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if node is None or node.value is None:
            return (), ()
        if not node.is_mapping:
            self._problem("wrong-type", f"{where}.exempt must be a mapping", node.loc,
                          "for example: exempt: {principals: [root], groups: [admins]}")  # fmt: skip
            return (), ()
        for key, value in node.value.items():
            if key not in _EXEMPT_KEYS:
                self._problem("unknown-key", f"unknown key '{key}' in {where}.exempt", value.key_loc,
                              did_you_mean(key, _EXEMPT_KEYS) or "known keys: principals, groups")  # fmt: skip
        return (self._names(node.get("principals"), f"{where}.exempt.principals"),
                self._names(node.get("groups"), f"{where}.exempt.groups"))  # fmt: skip

    def _names(self, node: Node | None, where: str) -> tuple[str, ...]:
        """A list of names (a single name is a list of one)."""
        if node is None or node.value is None:
            return ()
        plain = to_plain(node)[0]
        items = [plain] if isinstance(plain, str) else plain
        if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
            self._problem("wrong-type", f"{where} must be a list of names", node.loc)
            return ()
        return tuple(items)

    def _attributes_declared(self, rule: AccessRule, principals: Mapping[str, PrincipalEntry]) -> None:
        """A declared principal the rule does not exempt must have every attribute its filter reads."""
        for entry in principals.values():
            if rule.exempts(entry.name, entry):
                continue
            for attribute in rule.parsed.attributes:
                if not entry.has(attribute):
                    self._problem(
                        "missing-attribute",
                        f"access.{rule.name}.filter reads ${{principal:{attribute}}}, "
                        f"which principal '{entry.name}' does not have",
                        rule.filter_at(rule.filter.find(f"${{principal:{attribute}")),
                        f"add {attribute} to principals.{entry.name} in {PROJECT_FILE}, or exempt it "
                        f"(exempt: {{principals: [{entry.name}]}})",
                    )


def _text_start(node: Node) -> Location | None:
    """Where the text of a one-line scalar starts (after its quote), else where the scalar starts."""
    loc = node.loc
    value = node.value
    if loc is None or loc.line <= 0 or not isinstance(value, str) or "\n" in value:
        return loc
    try:
        lines = Path(loc.file).read_text(encoding="utf-8").splitlines()
    except OSError:
        return loc
    if not 0 < loc.line <= len(lines):
        return loc
    written = lines[loc.line - 1][loc.column - 1 :]
    if written.startswith(value):
        return loc
    for mark in "'\"":
        if written.startswith(f"{mark}{value}{mark}"):
            return Location(loc.file, loc.line, loc.column + 1)
    return loc
