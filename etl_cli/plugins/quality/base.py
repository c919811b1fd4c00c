"""The contract of a check type.

A check type is a plug-in of kind ``check``: its options schema feeds ``checks:`` in the
pipeline JSON Schema, and its Spark side returns expressions, never runs a job itself.
The evaluator puts the expressions of every check on a stage into one aggregation, so
ten checks cost one pass over the data, not ten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from etl_cli.plugins.api import Plugin, PluginKind
from etl_cli.plugins.checks import DATASET_ACTIONS, ROW_ACTIONS, Action, CheckSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

Level = Literal["row", "dataset"]


class Check(Plugin):
    """Base of every check type."""

    kind: ClassVar[PluginKind] = "check"
    level: ClassVar[Level] = "row"
    #: the actions a check of this type may take
    actions: ClassVar[tuple[Action, ...]] = ROW_ACTIONS
    #: whether ``threshold`` applies (it does not to row_count and freshness, which measure the whole set)
    takes_threshold: ClassVar[bool] = True


class RowCheck(Check):
    """Judges each row on its own: a failing row can be kept (warn), dropped or quarantined."""

    def failing(self, check: CheckSpec, df: DataFrame) -> Column:
        """A boolean column, true for the rows that fail the check and never null."""
        raise NotImplementedError


@dataclass(frozen=True)
class Measurement:
    """What a dataset-level check found: failing rows (None when rows are not the unit) and its verdict."""

    rows_failed: int | None
    breached: bool
    observed: dict[str, Any] = field(default_factory=dict)
    samples: list[Any] = field(default_factory=list)


class DatasetCheck(Check):
    """Judges the stage's rows as a whole: it can warn or fail, but not remove rows."""

    level: ClassVar[Level] = "dataset"
    actions: ClassVar[tuple[Action, ...]] = DATASET_ACTIONS

    def prepare(self, check: CheckSpec, df: DataFrame, frames: Mapping[str, DataFrame], prefix: str) -> DataFrame:
        """Columns the measures need that the stage lacks (named with ``prefix``); default: none."""
        return df

    def measures(self, check: CheckSpec, prefix: str) -> list[Column]:
        """Aggregate expressions, each aliased ``<prefix>_<something>``."""
        raise NotImplementedError

    def judge(self, check: CheckSpec, values: Mapping[str, Any], evaluated: int) -> Measurement:
        """The verdict from the aggregated ``values`` (keys without the prefix) and the stage's row count."""
        raise NotImplementedError

    def sample(self, check: CheckSpec, prefix: str) -> tuple[Column, Column] | None:
        """(flag of a failing row, what to show of it) for the report's samples; None: this type has none."""
        return None


def not_null(column: Column) -> Column:
    """``column`` with null read as false: a check flag must be true or false."""
    from pyspark.sql import functions as F

    return F.coalesce(column, F.lit(False))
