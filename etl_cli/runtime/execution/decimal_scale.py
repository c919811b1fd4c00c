"""Aggregates that return more decimal places than the column they read.

Spark's ``avg`` over a DECIMAL(p,s) returns DECIMAL(p+4,s+4): the average of prices with
two decimals has six. Nothing fails, but a report or a target column then shows (or
truncates) digits the data never had. dry-run walks the analysed plan of each stage and
reports each output column of an aggregation whose decimal scale is larger than that of
the argument of the aggregate function it computes; an output already rounded or cast
back (``round(avg(x), 2)``) has the argument's scale and is not reported.

This reads Spark's internal plan classes through py4j; if they change shape, the check
finds nothing rather than failing the dry-run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_INPUT_BOUNDARIES = {"View", "LogicalRDD", "LogicalRelation", "LocalRelation", "InMemoryRelation"}


@dataclass(frozen=True)
class WiderDecimal:
    """One aggregation output with more decimal places than the column its function reads."""

    output: str
    function: str
    argument: str
    #: the argument's type and the output's, as Spark names them (``decimal(15,2)``)
    argument_type: str
    output_type: str
    argument_scale: int

    def message(self) -> str:
        return (
            f"{self.output} is {self.output_type}: {self.function}({self.argument}) over {self.argument_type} "
            f"gives more decimal places than {self.argument} has"
        )

    def hint(self) -> str:
        call = f"{self.function}({self.argument})"
        return (
            f"to keep {self.argument_scale} decimal places, write cast({call} as {self.argument_type}) "
            f"or round({call}, {self.argument_scale})"
        )


def wider_decimals(df: DataFrame, inputs: list[DataFrame]) -> list[WiderDecimal]:
    """The widened decimal outputs of the aggregations ``df``'s stage added on top of ``inputs``."""
    try:
        return list(_scan_plan(df, inputs))
    except Exception:  # Spark internals moved: report nothing rather than fail the dry-run
        return []


def _scan_plan(df: DataFrame, inputs: list[DataFrame]) -> Iterator[WiderDecimal]:
    boundaries = {i._jdf.queryExecution().analyzed().hashCode() for i in inputs}
    todo = [df._jdf.queryExecution().analyzed()]
    while todo:
        node = todo.pop()
        if node.nodeName() in _INPUT_BOUNDARIES or node.hashCode() in boundaries:
            continue
        if node.nodeName() == "Aggregate":
            for expression in _seq(node.aggregateExpressions()):
                found = _widened(expression)
                if found is not None:
                    yield found
        todo.extend(_seq(node.children()))


def _widened(output: Any) -> WiderDecimal | None:
    """``output`` (one named aggregation) when its scale is larger than its aggregate function's argument's."""
    output_scale = _scale(output.dataType())
    if output.getClass().getSimpleName() != "Alias" or output_scale is None:
        return None
    functions = list(_aggregate_functions(output.child()))
    arguments = [(f, a) for f in functions for a in _seq(f.children()) if _scale(a.dataType()) is not None]
    if not arguments:
        return None
    function, argument = max(arguments, key=lambda pair: _scale(pair[1].dataType()) or 0)
    argument_scale = _scale(argument.dataType()) or 0
    if output_scale <= argument_scale:
        return None
    return WiderDecimal(
        output=str(output.name()),
        function=str(function.prettyName()),
        argument=str(argument.sql()).replace("`", ""),
        argument_type=str(argument.dataType().simpleString()),
        output_type=str(output.dataType().simpleString()),
        argument_scale=argument_scale,
    )


def _aggregate_functions(expression: Any) -> Iterator[Any]:
    if expression.getClass().getSimpleName() == "AggregateExpression":
        yield expression.aggregateFunction()
        return
    for child in _seq(expression.children()):
        yield from _aggregate_functions(child)


def _scale(data_type: Any) -> int | None:
    """The scale of a DECIMAL type; None for any other type."""
    if data_type.getClass().getSimpleName() != "DecimalType":
        return None
    return int(data_type.scale())


def _seq(sequence: Any) -> list[Any]:
    return [sequence.apply(i) for i in range(sequence.size())]
