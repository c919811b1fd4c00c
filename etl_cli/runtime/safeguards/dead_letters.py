"""The dead-letter queue: rows a run could not load, kept with why, where and when.

During a run, stages add *parts* (lazy DataFrames): malformed source records, rows
quarantined by checks, rows a sink rejected. After every sink has staged its output,
the parts are unioned and written through the dead-letter sink's own ``stage_write``
(the same plug-ins, staging and commit as any sink: a failed run writes no dead letters
either), and committed after the other sinks. Files are appended, partitioned by
``run_id``, so each run adds one folder.

A dead letter has these columns (see docs/dead-letter.md)::

    pipeline, env, stage, kind (malformed | quarantined | rejected | late), reason, check,
    failed_at, row (the row as JSON), raw (the unparsed text of a malformed record), run_id
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.api import PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.checks import DeadLetterSpec
from etl_cli.plugins.observed import observed_metrics
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sources.malformed import CORRUPT_COLUMN
from etl_cli.plugins.spark_types import quote

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: the columns of a dead letter, in order (run_id last: file queues are partitioned by it)
DEAD_LETTER_DDL = (
    "pipeline STRING, env STRING, stage STRING, kind STRING, reason STRING, `check` STRING, "
    "failed_at TIMESTAMP, `row` STRING, raw STRING, run_id STRING"
)
COLUMNS = ("pipeline", "env", "stage", "kind", "reason", "check", "failed_at", "row", "raw", "run_id")
KINDS = ("malformed", "quarantined", "rejected", "late")


def split_malformed(df: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(parsed rows without the corrupt-record column, malformed rows as ``reason, check, row, raw``)."""
    from pyspark.sql import functions as F

    corrupt = F.col(CORRUPT_COLUMN)
    columns = [c for c in df.columns if c != CORRUPT_COLUMN]
    parsed = df.filter(corrupt.isNull()).drop(CORRUPT_COLUMN)
    malformed = df.filter(corrupt.isNotNull()).select(
        F.lit("malformed record: it does not parse with the source's schema and options").alias("reason"),
        F.lit(None).cast("string").alias("check"),
        F.to_json(F.struct(*[F.col(quote(c)) for c in columns]), {"ignoreNullFields": "false"}).alias("row"),
        corrupt.alias("raw"),
    )
    return parsed, malformed


@dataclass
class _Part:
    stage: str
    kind: str
    rows: DataFrame


@dataclass
class DeadLetterQueue:
    """The dead letters of one run, collected lazily and written once with the sinks."""

    spec: DeadLetterSpec
    registry: Registry
    pipeline: str
    env: str | None
    parts: list[_Part] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    write: PendingWrite | None = None

    def add(self, stage: str, kind: str, rows: DataFrame) -> None:
        """Queue ``rows`` (columns ``reason, check, row`` and optionally ``raw``) from ``stage``."""
        self.parts.append(_Part(stage, kind, rows))

    def sink_stage(self) -> StageSpec:
        """The queue as a sink: append mode, and partitioned by run_id when the sink can partition."""
        plugin = self.registry.get_as(Sink, self.spec.type)
        options: dict[str, Any] = dict(self.spec.options)
        if "append" in plugin.modes:
            options["mode"] = "append"
        if "partition_by" in plugin.options_schema:
            options["partition_by"] = ["run_id"]
        base = self.spec.as_sink()
        return StageSpec(base.name, base.kind, base.type, (), options, base.location, base.description)

    def letters(self, ctx: RunContext) -> DataFrame | None:
        """Every part as dead-letter rows, unioned; None when nothing can be dead-lettered in this run."""
        from functools import reduce

        from pyspark.sql import functions as F

        if not self.parts:
            return None
        framed = []
        for part in self.parts:
            raw = F.col("raw") if "raw" in part.rows.columns else F.lit(None).cast("string")
            framed.append(
                part.rows.select(
                    F.lit(self.pipeline).alias("pipeline"),
                    F.lit(self.env).cast("string").alias("env"),
                    F.lit(part.stage).alias("stage"),
                    F.lit(part.kind).alias("kind"),
                    F.col("reason").cast("string").alias("reason"),
                    F.col("check").cast("string").alias("check"),
                    F.current_timestamp().alias("failed_at"),
                    F.col("row").cast("string").alias("row"),
                    raw.alias("raw"),
                    F.lit(ctx.run_id).alias("run_id"),
                )
            )
        return reduce(lambda a, b: a.unionByName(b), framed)

    def stage_write(self, ctx: RunContext) -> PendingWrite | None:
        """Write the dead letters to the sink's staging place, counting them per stage and kind on the way."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        letters = self.letters(ctx)
        if letters is None:
            return None
        keys = sorted({(p.stage, p.kind) for p in self.parts})
        observation = Observation(f"etl_dead_letters_{uuid.uuid4().hex[:8]}")
        sums = [
            F.sum(((F.col("stage") == stage) & (F.col("kind") == kind)).cast("long")).alias(f"{i}")
            for i, (stage, kind) in enumerate(keys)
        ]
        observed = letters.observe(observation, *sums)
        sink = self.registry.get("sink", self.spec.type)()
        assert isinstance(sink, Sink)
        self.write = sink.stage_write(ctx, self.sink_stage(), observed)
        values = observed_metrics(observation)
        for i, (stage, kind) in enumerate(keys):
            self.counts.setdefault(stage, {})[kind] = int(values.get(str(i)) or 0)
        return self.write

    def summary(self, committed: bool) -> dict[str, Any]:
        """For the run results: where the queue is, what this run sent there, and whether it was published."""
        return {
            "type": self.spec.type,
            "target": self.spec.target,
            "written": committed,
            "rows": sum(n for kinds in self.counts.values() for n in kinds.values()),
            "by_stage": self.counts,
        }
