"""What may not be shown of a pipeline's rows: tagged columns and ``sensitive:`` ones, masked for display.

Rows are shown by ``etl-debug`` (each stage's first rows, saved fixtures, ad-hoc SQL), by
the samples of failing checks (run results, the quality report, ``dry-run --sample``) and
by dead-letter listings (``etl-cli dlq show``); logs carry what those show. Each of them
asks :class:`DisplayMask` which columns to hide:

- for one stage: the columns listed in any stage's ``sensitive:`` (matched by name, as
  before), and the columns tagged in that stage (``pii``, free tags; etl_cli/model/tags.py)
  that are neither masked nor encrypted there: a column that went through ``mask`` shows its
  masked value;
- for text that belongs to no stage (an ad-hoc SQL query in debug): every column name that is
  tagged and unprotected in some stage, and the ``sensitive:`` ones.

A hidden non-null value is shown as ``***``; nulls stay ``null`` (the absence of a value is
not personal data). When the tags cannot be told (the lineage of a pipeline fails to build),
every column a contract tags is hidden by name, wherever it appears.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.tags import PipelineTags, contract_tags
from etl_cli.plugins.registry import REGISTRY, Registry
from etl_cli.plugins.spark_types import quote

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

MASK = "***"


@dataclass(frozen=True)
class DisplayMask:
    """The columns whose values are never shown, per stage and everywhere (module doc)."""

    #: lower-case names of the columns listed in any stage's ``sensitive:``
    sensitive: frozenset[str]
    tags: PipelineTags
    #: lower-case names hidden in every stage (tags could not be told per stage)
    fallback: frozenset[str] = frozenset()

    def columns(self, stage: str | None = None) -> frozenset[str]:
        """Lower-case names of the columns hidden in the rows of ``stage`` (None: rows of no one stage)."""
        tagged = self.tags.everywhere() if stage is None else self.tags.unprotected(stage)
        return self.sensitive | self.fallback | tagged

    def hides(self, stage: str | None, column: str) -> bool:
        return column.lower() in self.columns(stage)

    def row(self, stage: str | None, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row`` with the hidden columns' non-null values replaced by ``***``."""
        hidden = self.columns(stage)
        return {k: MASK if v is not None and k.lower() in hidden else v for k, v in row.items()}

    def json_row(self, stage: str | None, text: str | None) -> str | None:
        """A row written as a JSON object (a dead letter's ``row``), masked; anything else as it is."""
        try:
            row = json.loads(text) if text else None
        except ValueError:
            return text
        return json.dumps(self.row(stage, row)) if isinstance(row, dict) else text

    def frame(self, stage: str | None, df: DataFrame) -> DataFrame:
        """``df`` with the hidden columns' non-null values replaced: ``***`` for strings, null for other types."""
        from pyspark.sql import functions as F

        hidden = self.columns(stage)
        replaced = {}
        for column, kind in df.dtypes:
            if column.lower() in hidden:
                value = F.lit(MASK) if kind == "string" else F.lit(None).cast(kind)
                replaced[column] = F.when(F.col(quote(column)).isNotNull(), value)
        return df.withColumns(replaced) if replaced else df


def display_mask(spec: PipelineSpec, registry: Registry = REGISTRY) -> DisplayMask:
    """The display mask of ``spec``: its ``sensitive:`` lists and its tags along the column lineage."""
    sensitive = frozenset(c.lower() for s in spec.stages for c in s.sensitive)
    if not any(contract_tags(contract) for contract in spec.contracts.values()):
        return DisplayMask(sensitive, PipelineTags())
    from etl_cli.lineage.tags import pipeline_tags

    try:
        return DisplayMask(sensitive, pipeline_tags(spec, registry))
    except Exception:  # the lineage could not be built: hide every tagged name everywhere rather than fail
        named = {name.lower() for contract in spec.contracts.values() for name in contract_tags(contract)}
        return DisplayMask(sensitive, PipelineTags(), frozenset(named))
