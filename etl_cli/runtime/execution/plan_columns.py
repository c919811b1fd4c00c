"""Which input columns each output column of a stage reads, in Spark's own analyzed logical plan.

The offline lineage (etl_cli/lineage) parses every expression with sqlglot; this is the second,
independent method it is checked against (and that ``lineage --analyze`` could rely on): Spark's
analyser has resolved every column of a stage to an attribute with an id (``exprId``), so walking
the analyzed plan from the stage's output down to its inputs' plans says, column by column, which
input columns the value is computed from (the references of the ``Alias`` that defines it, through
``Project``, ``Aggregate``, ``Window``, ``Union``, ``Expand`` and ``Generate``). Columns a node only
filters, joins or sorts on are not sources: they decide which rows, not what a value is.

An input is found in the stage's plan as its own analyzed plan, or, where Spark gave a copy new ids
(the same relation read twice in one join), as a plan with the same result (``sameResult``); two
inputs that compute the same are told apart by the name the stage reads them by (``SubqueryAlias
orders``, as the ``sql`` and ``join`` transforms wrap them). What cannot be followed (a catalog
table, a node this walk does not know) is ``None``: unknown, never a guess. Nothing here starts a
Spark job; the plan is read over py4j, where every call is a round trip, so each node is asked once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: one input column: (input stage, column name)
Column = tuple[str, str]
#: what one output column is computed from; ``None``: the plan does not say
Sources = frozenset[Column] | None
#: leaves that hold literal rows (``VALUES``, ``range``): their columns read no input
_LITERAL_LEAVES = frozenset({"LocalRelation", "OneRowRelation", "Range"})
#: expressions that hold a plan of their own (a subquery): its output is read too
_SUBQUERIES = frozenset({"ScalarSubquery", "ListQuery", "Exists", "LateralSubquery"})


@dataclass(frozen=True)
class _Input:
    """One input of the stage as its own frame's analyzed plan shows it."""

    name: str
    plan: Any
    columns: tuple[str, ...]


def column_sources(frame: DataFrame, inputs: Mapping[str, DataFrame]) -> list[Sources]:
    """For each output column of ``frame`` (in order), the input columns Spark computes it from."""
    walker = _PlanWalker(frame.sparkSession._jvm, [_input(name, df) for name, df in inputs.items()])
    plan = _analyzed(frame)
    found = walker.sources(plan)
    return [found.get(attribute.exprId().id()) for attribute in _seq(plan.output())]


def _analyzed(df: DataFrame) -> Any:
    return df._jdf.queryExecution().analyzed()


def _input(name: str, df: DataFrame) -> _Input:
    plan = _analyzed(df)
    return _Input(name, plan, tuple(a.name() for a in _seq(plan.output())))


def _seq(scala_seq: Any) -> Iterator[Any]:
    """The items of a Scala collection (py4j gives no iterator over one)."""
    items = scala_seq.toSeq()
    for index in range(items.size()):
        yield items.apply(index)


def _kind(jvm_object: Any) -> str:
    return str(jvm_object.getClass().getSimpleName())


class _PlanWalker:
    """Walks one stage's analyzed plan down to its inputs: exprId → the input columns behind it."""

    def __init__(self, jvm: Any, inputs: Sequence[_Input]):
        self.jvm = jvm
        self.inputs = inputs

    def sources(self, node: Any, alias: str | None = None) -> dict[int, Sources]:
        """The sources of every output attribute of ``node``, by exprId; ``alias``: the name it is read by."""
        output = list(_seq(node.output()))
        ids = [attribute.exprId().id() for attribute in output]
        kind = _kind(node)
        matched = self._as_input(node, tuple(a.name() for a in output), alias)
        if matched is not None:
            return {i: frozenset({(matched.name, column)}) for i, column in zip(ids, matched.columns, strict=True)}
        # a view, or an alias of one, is read by the alias's name: it tells equal inputs apart
        below = str(node.alias()) if kind == "SubqueryAlias" else alias if kind == "View" else None
        children = [(self.sources(child, below), child) for child in _seq(node.children())]
        if kind in _LITERAL_LEAVES:
            return {i: frozenset() for i in ids}
        if kind == "Union":
            return self._union(ids, children)
        if kind == "Expand":
            return self._expand(node, ids, children)
        known = {i: found for child, _ in children for i, found in child.items()}
        if kind == "Generate":
            generated = self.expression_sources(node.generator(), known)
            known.update({a.exprId().id(): generated for a in _seq(node.generatorOutput())})
        defined = self._definitions(node)
        return {i: known[i] if i in known else self._defined(defined.get(i), known) for i in ids}

    def _as_input(self, node: Any, names: tuple[str, ...], alias: str | None) -> _Input | None:
        """The input ``node`` is: its very plan, or one Spark gave new ids (``sameResult``); None if not one.

        Equal output ids are not enough: a union's output keeps its first child's ids for the values of
        every child. Inputs that compute the same (two equal selects) are told apart by ``alias``.
        """
        alike = [candidate for candidate in self.inputs if candidate.columns == names]
        if not alike:
            return None
        identity = self.jvm.System.identityHashCode(node)
        tests: tuple[Callable[[_Input], bool], ...] = (
            lambda c: self.jvm.System.identityHashCode(c.plan) == identity and bool(node.equals(c.plan)),  # itself
            lambda c: bool(node.equals(c.plan)),  # a plan equal to it
            lambda c: bool(node.sameResult(c.plan)),  # a copy with new ids
        )
        for test in tests:
            same = [candidate for candidate in alike if test(candidate)]
            if len(same) > 1 and alias is not None:
                same = [candidate for candidate in same if candidate.name.lower() == alias.lower()]
            if same:
                return same[0] if len(same) == 1 else None
        return None

    def _union(self, ids: list[int], children: list[tuple[dict[int, Sources], Any]]) -> dict[int, Sources]:
        """A union's column k is column k of every child: the sources of all of them."""
        per_child = [[found.get(a.exprId().id()) for a in _seq(child.output())] for found, child in children]
        return {i: _merge(column[k] for column in per_child) for k, i in enumerate(ids)}

    def _expand(self, node: Any, ids: list[int], children: list[tuple[dict[int, Sources], Any]]) -> dict[int, Sources]:
        """``Expand`` (grouping sets, some distinct aggregates): column k is item k of every projection."""
        known = children[0][0]
        projections = [list(_seq(projection)) for projection in _seq(node.projections())]
        return {i: _merge(self.expression_sources(p[k], known) for p in projections) for k, i in enumerate(ids)}

    def _definitions(self, node: Any) -> dict[int, Any]:
        """The named expressions of ``node`` (an ``Alias`` in a projection or aggregate), by exprId."""
        defined: dict[int, Any] = {}
        for expression in _seq(node.expressions()):
            if _kind(expression) == "Alias":
                defined[expression.exprId().id()] = expression
        return defined

    def _defined(self, alias: Any, known: Mapping[int, Sources]) -> Sources:
        return None if alias is None else self.expression_sources(alias.child(), known)

    def expression_sources(self, expression: Any, known: Mapping[int, Sources]) -> Sources:
        """Every input column ``expression`` reads: its attribute references, and what its subqueries output."""
        found = [known.get(attribute.exprId().id()) for attribute in _seq(expression.references())]
        for subquery in self._subqueries(expression):
            found.extend(self.sources(subquery).values())
        return _merge(found)

    def _subqueries(self, expression: Any) -> Iterator[Any]:
        if _kind(expression) in _SUBQUERIES:
            yield expression.plan()
            return
        for child in _seq(expression.children()):
            yield from self._subqueries(child)


def _merge(found: Iterator[Sources] | list[Sources]) -> Sources:
    """The union of several source sets; unknown if any of them is."""
    merged: set[Column] = set()
    for sources in found:
        if sources is None:
            return None
        merged |= sources
    return frozenset(merged)
