"""Offline checks of the project's row filters (``access:`` rules) against the sources they filter.

``validate`` runs them once the pipeline has no other error: each rule's filter, with its
``${principal:...}`` references standing for NULL, is parsed by sqlglot (dialect spark) as the
condition of a query over each source of the pipeline the rule matches, and resolved by the
lineage reader (:mod:`etl_cli.lineage.expressions`) against the columns the source is known to
have offline (its declared schema or contract, :mod:`etl_cli.lineage.engine`). A column the
source does not have is an ``unknown-column`` error at the rule's filter in ``etl-project.yaml``
(the column's own place when the file holds the filter on one line); a filter that is not a
condition, or compares a column with the wrong type,
is an error of its own (:mod:`etl_cli.lineage.expression_types`). A source whose columns are unknown is not checked.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.expression_types import type_problems
from etl_cli.lineage.expressions import DIALECT, NO_COLUMN, UNCLEAR, query_lineage
from etl_cli.lineage.model import LineageGraph
from etl_cli.model.access import AccessRule
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_types import quote


def check_access_filters(spec: PipelineSpec, registry: Registry, graph: LineageGraph | None = None) -> list[Diagnostic]:
    """Every column a rule's filter reads that a source it matches does not have, each at the rule's filter."""
    sources = [stage for stage in spec.stages if stage.kind == "source"]
    matched = [
        (rule, stage) for rule in spec.access.rules for stage in sources if rule.matches(stage, spec.project_root)
    ]
    if not matched:
        return []
    graph = graph if graph is not None else pipeline_lineage(spec, registry)
    columns = {node.stage: node.columns for node in graph.nodes if node.stage is not None}
    types = {node.stage: dict(node.types) for node in graph.nodes if node.stage is not None}
    found: list[Diagnostic] = []
    seen: set[tuple[str, str]] = set()
    for rule, stage in matched:
        known = columns.get(stage.name)
        if known is None:
            continue
        for problem in _problems(rule, stage.name, known, types.get(stage.name) or {}):
            key = (rule.name, problem.message)
            if key not in seen:
                seen.add(key)
                found.append(problem)
    return found


def _problems(rule: AccessRule, source: str, known: Sequence[str], types: dict[str, str]) -> list[Diagnostic]:
    condition = rule.parsed.with_nulls()
    query = f"SELECT 1 AS one FROM {quote(source)} WHERE {condition}"
    found = []
    for unresolved in query_lineage(query, {source: known}).unresolved:
        if unresolved.reason not in (NO_COLUMN, UNCLEAR):
            continue
        found.append(
            error(
                "unknown-column",
                f"access.{rule.name}.filter reads column '{unresolved.column}', which source '{source}' does not have",
                rule.filter_at(_find(rule.filter, unresolved.column)),
                did_you_mean(unresolved.column, known) or f"known columns of '{source}': {', '.join(known)}",
            )
        )
    if found:
        return found
    for problem in type_problems(condition, condition=True, function=None, inputs={source: known},
                                 types={source: types}):  # fmt: skip
        if problem.is_error:
            found.append(error(problem.code, f"access.{rule.name}.filter (on source '{source}'){problem.message}",
                               rule.filter_at(None), problem.hint))  # fmt: skip
    return found


def _find(text: str, name: str) -> int | None:
    """Where the identifier ``name`` first appears in the filter as written (None when not found)."""
    try:
        tokens = sqlglot.tokenize(text, read=DIALECT)
    except SqlglotError:
        return None
    for token in tokens:
        if token.token_type != TokenType.STRING and token.text.lower() == name.lower():
            return token.start
    return None
