"""Conversions Spark's analyser inserts silently, that a run would regret.

Spark accepts ``orders.customer_id = customers.customer_id`` with a BIGINT on one side and
a STRING on the other (it casts the string), and ``sum(status)`` over a STRING (it casts
to DOUBLE). Such a run fails on the first value that is not a number, or matches nothing.
dry-run walks the analysed plan of each stage and reports every cast the user did not
write (Spark tags the ones written in SQL or with ``cast:``) that converts a column to
another family of types inside a join condition or a numeric aggregate.

This reads Spark's internal plan classes through py4j; if they change shape, the check
finds nothing rather than failing the dry-run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: aggregate functions that compute on numbers (Spark's class names)
NUMERIC_AGGREGATES = {
    "Sum", "Average", "StddevSamp", "StddevPop", "VarianceSamp", "VariancePop", "Skewness", "Kurtosis",
    "TrySum", "TryAverage",
}  # fmt: skip
_COMPARISONS = {"EqualTo", "EqualNullSafe", "LessThan", "LessThanOrEqual", "GreaterThan", "GreaterThanOrEqual"}
_INPUT_BOUNDARIES = {"View", "LogicalRDD", "LogicalRelation", "LocalRelation", "InMemoryRelation"}


@dataclass(frozen=True)
class SilentCast:
    """One conversion Spark would make without being asked."""

    context: str  # "join" or "aggregate"
    column: str
    from_type: str
    to_type: str
    #: the aggregate function (aggregate) or the column on the other side of the comparison (join)
    other: str
    other_type: str = ""

    def message(self) -> str:
        if self.context == "join":
            return (
                f"join key types differ: {self.column} is {self.from_type.upper()} but {self.other} is "
                f"{self.other_type.upper()}; Spark would silently cast {self.column} to {self.to_type.upper()}, "
                "so values that are not numbers fail the run or never match"
            )
        return (
            f"{self.other} over a non-numeric column: {self.column} is {self.from_type.upper()}; Spark would "
            f"silently cast it to {self.to_type.upper()}, so a value that is not a number fails the run"
        )

    def hint(self) -> str:
        if self.context == "join":
            column = self.column.rsplit(".", 1)[-1]
            return (
                f"give both sides the same type before the join, e.g. a select stage with cast: "
                f"{{{column}: {self.other_type.upper()}}}"
            )
        return f'aggregate a numeric column, or cast explicitly: {{expr: "{self.other}(CAST({self.column} AS ...))"}}'


def family(type_text: str) -> str:
    """The family of a Spark SQL type: numeric, text, datetime, boolean, binary or other."""
    name = type_text.lower().split("(")[0]
    if name in {"tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "byte", "short", "long"}:
        return "numeric"
    if name in {"string", "varchar", "char"}:
        return "text"
    if name.startswith(("date", "timestamp", "interval")):
        return "datetime"
    return name if name in {"boolean", "binary"} else "other"


def silent_casts(df: DataFrame, inputs: list[DataFrame]) -> list[SilentCast]:
    """Silent casts in the part of ``df``'s analysed plan that its stage added on top of ``inputs``."""
    try:
        return list(_scan_plan(df, inputs))
    except Exception:  # Spark internals moved: report nothing rather than fail the dry-run
        return []


def _scan_plan(df: DataFrame, inputs: list[DataFrame]) -> Iterator[SilentCast]:
    jvm: Any = df.sparkSession._jvm
    tag = jvm.org.apache.spark.sql.catalyst.expressions.Cast.USER_SPECIFIED_CAST()
    boundaries = {i._jdf.queryExecution().analyzed().hashCode() for i in inputs}
    todo = [df._jdf.queryExecution().analyzed()]
    while todo:
        node = todo.pop()
        name = node.nodeName()
        if name in _INPUT_BOUNDARIES or node.hashCode() in boundaries:
            continue
        if name == "Join" and node.condition().isDefined():
            yield from _scan_expression(node.condition().get(), "join", None, tag)
        elif name in ("Aggregate", "Window"):
            expressions = node.aggregateExpressions() if name == "Aggregate" else node.windowExpressions()
            computed = _computed_below(node) if name == "Window" else {}
            for expression in _seq(expressions):
                yield from _scan_expression(expression, "aggregate", None, tag, computed)
        todo.extend(_seq(node.children()))


def _computed_below(window: Any) -> dict[str, Any]:
    """Spark computes a window function's argument in a Project below it (``cast(amount) AS _w0``)."""
    child = window.child()
    if child.nodeName() != "Project":
        return {}
    aliases = [e for e in _seq(child.projectList()) if e.getClass().getSimpleName() == "Alias"]
    return {str(alias.name()): alias.child() for alias in aliases}


def _scan_expression(
    expression: Any, context: str, function: str | None, tag: Any, computed: dict[str, Any] | None = None
) -> Iterator[SilentCast]:
    kind = expression.getClass().getSimpleName()
    if context == "aggregate" and kind in NUMERIC_AGGREGATES:
        function = expression.prettyName()
    if function and computed and kind == "AttributeReference" and str(expression.name()) in computed:
        yield from _scan_expression(computed[str(expression.name())], context, function, tag)
        return
    if context == "join" and kind in _COMPARISONS:
        found = _join_comparison(expression, tag)
        if found is not None:
            yield found
            return
    if context == "aggregate" and function and kind == "Cast" and not expression.getTagValue(tag).isDefined():
        column = _column(expression.child())
        source, target = expression.child().dataType().simpleString(), expression.dataType().simpleString()
        if column and family(source) != "numeric" and family(target) == "numeric":
            yield SilentCast("aggregate", column, source, target, function)
            return
    for child in _seq(expression.children()):
        yield from _scan_expression(child, context, function, tag, computed)


def _join_comparison(comparison: Any, tag: Any) -> SilentCast | None:
    left, right = comparison.left(), comparison.right()
    for cast, other in ((left, right), (right, left)):
        if cast.getClass().getSimpleName() != "Cast" or cast.getTagValue(tag).isDefined():
            continue
        column = _column(cast.child())
        source, target = cast.child().dataType().simpleString(), cast.dataType().simpleString()
        if column and family(source) != family(target):
            other_column = _column(_uncast(other, tag)) or other.sql()
            return SilentCast(
                "join", column, source, target, other_column, _uncast(other, tag).dataType().simpleString()
            )
    return None


def _uncast(expression: Any, tag: Any) -> Any:
    while expression.getClass().getSimpleName() == "Cast" and not expression.getTagValue(tag).isDefined():
        expression = expression.child()
    return expression


def _column(expression: Any) -> str | None:
    """``stage.column`` for a column read from a view (SQL joins), else the column's name."""
    if expression.getClass().getSimpleName() != "AttributeReference":
        return None
    qualifier = _seq(expression.qualifier())
    return ".".join([str(qualifier[-1]), str(expression.name())] if qualifier else [str(expression.name())])


def _seq(sequence: Any) -> list[Any]:
    return [sequence.apply(i) for i in range(sequence.size())]
