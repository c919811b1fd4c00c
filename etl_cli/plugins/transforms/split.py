"""The ``split`` transform: one input, several outputs by condition, each row in the first output it matches.

A pipeline addresses stages by name, one output each, so each output of a split is a stage of its
own, named by its key under ``outputs`` (and ``otherwise``): the loader adds those stages after the
split (:mod:`etl_cli.config.splits`), each a ``split`` with ``output:`` naming the rows it keeps. The
split itself passes its input through unchanged; Spark analyses its conditions there, once, so a
misspelt column is reported at the condition's own line.

First match: the outputs are tried in the order written, and a row goes to the first one whose
condition is true. A condition that is false or null for a row does not take it. Rows no condition
takes go to ``otherwise``, or nowhere without it. So the outputs never share a row, and together
with ``otherwise`` they hold every input row exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single, user_sql

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: what a stage name may be (model/schema.py's NAME_PATTERN: an output's key becomes a stage name)
_STAGE_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"


def first_match_sql(outputs: Mapping[str, str], output: str) -> str:
    """The Spark SQL condition of the rows ``output`` keeps (an output's name, or the ``otherwise`` one's)."""
    names = list(outputs)
    taken = names[: names.index(output)] if output in outputs else names
    keep = [f"coalesce(({outputs[output]}), false)"] if output in outputs else []
    return " AND ".join(keep + [f"NOT coalesce(({outputs[name]}), false)" for name in taken])


def first_match_column(outputs: Mapping[str, str], output: str) -> Column:
    """:func:`first_match_sql` as a Spark column, each condition parsed on its own as the user wrote it."""
    from pyspark.sql import functions as F

    def holds(name: str) -> Column:
        return F.coalesce(F.expr(outputs[name]), F.lit(False))

    names = list(outputs)
    taken = names[: names.index(output)] if output in outputs else names
    keep = holds(output) if output in outputs else F.lit(True)
    for name in taken:
        keep = keep & ~holds(name)
    return keep


@register
class SplitTransform(Transform):
    type = "split"
    description = (
        "Split one input into several outputs by condition: each output is a stage named by its key, which "
        "later stages read. A row goes to the first output (in the order written) whose condition is true, "
        "else to otherwise, else nowhere."
    )
    required_options = ("outputs",)
    options_schema = {
        "outputs": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": _STAGE_NAME},
            "additionalProperties": {
                "type": "string",
                "minLength": 1,
                "description": "A Spark SQL boolean condition; false or null does not take the row.",
            },
            "description": "Output stage name: condition, tried in the order written, e.g. "
            "{eu_orders: \"region = 'EU'\", us_orders: \"region = 'US'\"}.",
        },
        "otherwise": {
            "type": "string",
            "pattern": _STAGE_NAME,
            "description": "The name of the output stage of the rows no condition takes (none: they are dropped).",
        },
        "output": {
            "type": "string",
            "description": "Set by etl-cli on the stages a split makes, one per output: the output the stage "
            "keeps. Leave it out.",
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        outputs = options.get("outputs")
        if not isinstance(outputs, Mapping):
            return []
        otherwise, output = options.get("otherwise"), options.get("output")
        if output is not None and output not in outputs and output != otherwise:
            choices = ", ".join([*outputs, *([otherwise] if otherwise else [])])
            hint = f"leave it out (etl-cli sets it on the stages it makes from a split); outputs: {choices}"
            return [OptionProblem(("output",), f"output '{output}' is not an output of the split", hint)]
        if output is not None or otherwise not in outputs:
            return []  # the stages of the outputs share the split's options: its problems are reported once, there
        return [
            OptionProblem(
                ("otherwise",),
                f"otherwise names '{otherwise}', which is already an output",
                "give the rows no condition takes a name of their own, or leave otherwise out to drop them",
            )
        ]

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        if "output" in options:
            return []  # reported once, at the split
        return [
            OptionProblem(
                (),
                "split is not supported on a stream yet",
                "write one filter stage per output (a filter runs on a stream), or read the source in mode batch",
            )
        ]

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return "output" not in options  # the split itself passes every row through

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """The split: every column as it is; an output: every column of the rows it keeps."""
        (name,) = inputs
        output = stage.option("output")
        if output is None:
            return StageLineage(f"SELECT * FROM {quote(name)}")
        return StageLineage(f"SELECT * FROM {quote(name)} WHERE {first_match_sql(stage.options['outputs'], output)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        df = single(inputs)
        outputs: Mapping[str, str] = stage.options["outputs"]
        output = stage.option("output")
        if output is not None:
            return df.filter(first_match_column(outputs, output))
        _check_conditions(stage, df, outputs)
        return df


def _check_conditions(stage: StageSpec, df: DataFrame, outputs: Mapping[str, str]) -> None:
    """Let Spark analyse every condition on the split's input, and refuse one that is not a boolean."""
    from pyspark.sql import functions as F

    with user_sql(stage, "output condition"):
        schema = df.select(*[F.expr(condition).alias(name) for name, condition in outputs.items()]).schema
    for field in schema.fields:
        if field.dataType.typeName() != "boolean":
            raise ConfigError(
                f"{stage.label}: the condition of output '{field.name}' is {field.dataType.simpleString()}, "
                "not a boolean",
                location=stage.location,
                hint=f"write a condition that is true for the rows of {field.name}, e.g. \"region = 'EU'\"",
            )
