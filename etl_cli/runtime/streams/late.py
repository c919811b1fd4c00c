"""Late records of a stream go to the dead-letter queue instead of being lost.

Spark drops, without a trace, every record a stateful operator receives after the watermark has passed
it (a windowed aggregate's window was written and its state dropped; a session, a deduplicate's or a
join's state was evicted); it offers no hook to see those rows, only their number,
``numRowsDroppedByWatermark`` in each progress report. So this module finds them itself, by Spark's own
rule, in the same query, just before the operator:

- *the rule*: in micro-batch N a row is dropped when a time of the row is at or before the watermark
  of micro-batch N-1 (``WatermarkSupport.watermarkExpression``: ``<=``, on the first input column
  marked as event time): for a fixed window, the end of the row's window; for a session window, the end
  of the row's own session (event time + gap: Spark drops before merging sessions); for a deduplicate,
  the event time; for a join of two streams, each side's event time, side by side. The watermark is that
  of micro-batch N-1 (Spark 3.5+/4.x, ``PropagateWatermarkSimulator``:
  ``getInputWatermarkForLateEvents(N) = watermark(N-1)``; with
  ``spark.sql.streaming.statefulOperator.allowMultiple=false`` it is the watermark of N itself). The
  watermark of a batch is the global one (the minimum over the watermarked inputs), and Spark writes it
  into the query's checkpoint before the batch runs: ``<checkpoint>/offsets/<N>``, ``batchWatermarkMs``.
  Reading it from there is exact, and survives restarts with the checkpoint;
- *the value per batch*: a Python UDF (no arguments, nondeterministic) reads, on the executors, the
  micro-batch id and query id Spark gives every task of a batch (local properties
  ``streaming.sql.batchId`` and ``sql.streaming.queryId``), finds the query's checkpoint among the
  pipeline's sink checkpoints (``<checkpoint>/metadata`` holds the query id) and returns that batch's
  watermark, read once per batch and Python worker;
- *the rows*: ``observe`` on the operator's input (on each side of a join) collects, per micro-batch,
  the late rows (as dead letters: reason with event time, window or session end and watermark; the row
  as JSON) and counts them. They reach the driver with the batch's progress report; the executor's poll
  writes them to the dead-letter queue (kind ``late``, stage = the aggregate, deduplicate or join).
  Spark still drops them itself, so its ``numRowsDroppedByWatermark`` is kept beside ours as a
  cross-check.

Limits (docs/streaming.md, "Late records"): the checkpoint must be on a file system the executors'
Python can read at the same path (local runs, or a shared mount; an ``s3a://`` or ``hdfs://``
checkpoint is refused at start); the dead letters are written after Spark committed the micro-batch,
so a crash between the two loses that batch's late records (at most one micro-batch, a poll interval);
late rows travel to the driver in the progress report, so a micro-batch with very many late rows costs
driver memory (``max_offsets_per_trigger`` bounds it), and a report the poll missed (Spark keeps 100) is
warned about and counted; a sliding window's row is dead-lettered when
*all* its windows are late (a row late for some windows only still counts in the others, and Spark's
count includes those partial drops); Spark's count is of (window, group) rows after partial
aggregation (a session window's too: of (group, event time)), so it equals ours when each late record has
its own window and group; a join's condition on one side's columns alone runs before the join, so a late
row it filters out is dead-lettered by us but not counted by Spark. Every row of the operator's input
makes one Python call.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from etl_cli.errors import RunError
from etl_cli.events import Reporter
from etl_cli.model.late import LateSplit, Stage, late_splits
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_types import quote
from etl_cli.runtime.safeguards.dead_letters import DeadLetterQueue

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: observed-metric name prefix: ``etl_late_<stage>`` holds ``rows`` and ``letters`` of a micro-batch
#: (``etl_late_<join>#<input>`` for each side of a join)
METRIC_PREFIX = "etl_late_"
SIDE = "#"
KIND = "late"
_HELPER = "__etl_late_"
#: Spark's conf: when false, late events are judged against the batch's own watermark
_ALLOW_MULTIPLE = "spark.sql.streaming.statefulOperator.allowMultiple"
_ISO = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"
#: the metadata key Spark marks a watermarked (event-time) column with (EventTimeWatermark.delayKey)
_DELAY_KEY = "spark.watermarkDelayMs"


def metric_name(stage: str, side: str | None = None) -> str:
    return f"{METRIC_PREFIX}{stage}" + (f"{SIDE}{side}" if side else "")


def stage_of_metric(name: str) -> str:
    """The stage of an observed metric ``etl_late_<stage>`` or ``etl_late_<stage>#<input>``."""
    return name.removeprefix(METRIC_PREFIX).split(SIDE, 1)[0]


# ---------------------------------------------------------------------------- executor side (Python workers)

_watermarks: dict[tuple[str, int], int] = {}
_checkpoint_of_query: dict[str, str] = {}


def watermark_for_late_events(checkpoints: tuple[str, ...], previous: bool) -> int:
    """The watermark (ms) Spark drops late rows by in the running micro-batch; runs in a task."""
    from pyspark import TaskContext

    context = TaskContext.get()
    batch = context.getLocalProperty("streaming.sql.batchId") if context is not None else None
    query = context.getLocalProperty("sql.streaming.queryId") if context is not None else None
    if batch is None or query is None:
        raise RuntimeError("late records: the watermark can only be read inside a streaming micro-batch")
    key = (query, int(batch))
    if key not in _watermarks:
        if len(_watermarks) > 64:
            _watermarks.clear()
        _watermarks[key] = _read_watermark(_checkpoint(query, checkpoints), int(batch) - (1 if previous else 0))
    return _watermarks[key]


def _checkpoint(query: str, checkpoints: Iterable[str]) -> str:
    if query not in _checkpoint_of_query:
        for folder in checkpoints:
            metadata = Path(folder) / "metadata"
            if metadata.is_file() and json.loads(metadata.read_text().splitlines()[0]).get("id") == query:
                _checkpoint_of_query[query] = folder
                break
        else:
            raise RuntimeError(
                f"late records: no checkpoint of query {query} among {', '.join(checkpoints)} "
                "(the executors must read the checkpoint at the driver's path)"
            )
    return _checkpoint_of_query[query]


def _read_watermark(checkpoint: str, batch: int) -> int:
    """``batchWatermarkMs`` of ``<checkpoint>/offsets/<batch>``; 0 before the first batch (as Spark)."""
    if batch < 0:
        return 0
    offsets = Path(checkpoint) / "offsets" / str(batch)
    if not offsets.is_file():
        raise RuntimeError(f"late records: {offsets} is missing: the watermark of micro-batch {batch} is unknown")
    lines = offsets.read_text().splitlines()
    return int(json.loads(lines[1]).get("batchWatermarkMs", 0))


# ---------------------------------------------------------------------------- driver side


def event_time_column(df: DataFrame) -> str | None:
    """The column Spark judges late rows of ``df`` by: the first one marked as event time (a watermark's)."""
    return next((f.name for f in df.schema.fields if _DELAY_KEY in (f.metadata or {})), None)


@dataclasses.dataclass
class _Batch:
    stage: str
    sink: str
    batch_id: int
    letters: list[tuple[str, str]]


class LateRecords:
    """The late-record splits of one streaming run: built into the queries, collected, written, counted."""

    def __init__(
        self, plan: Plan, ctx: RunContext, registry: Registry, reporter: Reporter, checkpoints: dict[str, str]
    ):
        self.plan, self.ctx, self.registry, self.reporter = plan, ctx, registry, reporter
        spec = plan.pipeline
        stages = [Stage(s.kind, s.name, s.type, tuple(s.inputs), s.options) for s in plan.stages]
        self.splits: dict[str, LateSplit] = {s.stage: s for s in late_splits(stages, spec.dead_letter is not None)}
        #: every sink query's checkpoint folder (a task finds its own by the query id)
        self.checkpoints = checkpoints
        self._pending: list[_Batch] = []
        #: late rows sent to the queue, per aggregate
        self.written: dict[str, int] = {}
        #: late rows found, per aggregate and sink query
        self.found: dict[str, dict[str, int]] = {}
        #: Spark's numRowsDroppedByWatermark, per sink query with a split
        self.dropped_by_spark: dict[str, int] = {}
        self.failed = False
        #: micro-batches whose progress report was missed (their late records are unknown)
        self.missed = 0
        self._last_batch: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self.splits)

    # -- building the queries

    def marked(self, stage: StageSpec, inputs: dict[str, DataFrame]) -> dict[str, DataFrame]:
        """``stage``'s inputs, each streaming one observed for late rows when ``stage`` is a split."""
        split = self.splits.get(stage.name)
        if split is None:
            return inputs
        if split.rule != "event":  # an aggregate: its single input, by the window's column
            if len(stage.inputs) != 1 or not inputs[stage.inputs[0]].isStreaming:
                return inputs
            self._check_checkpoints(stage)
            name = stage.inputs[0]
            return {**inputs, name: self._observed(split, inputs[name], split.column, metric_name(split.stage))}
        marked = dict(inputs)
        streams = [n for n in stage.inputs if inputs[n].isStreaming]
        for name in streams:
            column = event_time_column(inputs[name])
            if column is None:  # no event time in this input: Spark drops nothing from it
                continue
            self._check_checkpoints(stage)
            metric = metric_name(split.stage, name if len(stage.inputs) > 1 else None)
            marked[name] = self._observed(split, inputs[name], column, metric)
        return marked

    def _check_checkpoints(self, stage: StageSpec) -> None:
        for folder in self.checkpoints.values():
            scheme = urlparse(folder).scheme
            if scheme not in ("", "file") and not (len(scheme) == 1 and os.name == "nt"):
                raise RunError(
                    f"{stage.label}: late records are sent to the dead-letter queue by reading the watermark from "
                    f"the checkpoint, which must be on a local or mounted file system, not {folder}",
                    location=stage.location,
                    hint="set streaming.checkpoint_location to a local or mounted path, or late: drop on the "
                    "source's watermark",
                )

    def _observed(self, split: LateSplit, df: DataFrame, column: str, metric: str) -> DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql.types import LongType

        checkpoints = tuple(urlparse(f).path if f.startswith("file:") else f for f in self.checkpoints.values())
        previous = str(self.ctx.spark.conf.get(_ALLOW_MULTIPLE, "true")).lower() != "false"

        def watermark() -> int:
            return watermark_for_late_events(checkpoints, previous)

        columns = list(df.columns)
        ts = F.col(quote(column))
        helper = {k: f"{_HELPER}{k}" for k in ("wm", "slide", "size", "end")}
        marked = df.withColumn(helper["wm"], F.udf(watermark, LongType()).asNondeterministic()())
        what = "its window ended %s, "
        if split.rule == "event":
            end = F.unix_micros(ts.cast("timestamp"))
            what = ""
        elif split.rule == "session":
            # the row's own session, as Spark's session_window makes it before merging: [event time, + gap)
            gap = split.duration.replace("\\", "\\\\").replace("'", "\\'")
            end = F.unix_micros(ts.cast("timestamp") + F.expr(f"INTERVAL '{gap}'"))
            what = "its session (gap " + split.duration.replace("%", "%%") + ") ended %s, "
        elif split.slide:
            # the latest window holding the row starts where its tumbling window of length ``slide`` does
            marked = marked.withColumn(helper["slide"], F.window(ts, split.slide))
            marked = marked.withColumn(helper["size"], F.window(ts, split.duration))
            size = F.unix_micros(F.col(f"{helper['size']}.end")) - F.unix_micros(F.col(f"{helper['size']}.start"))
            end = F.unix_micros(F.col(f"{helper['slide']}.start")) + size
        else:
            marked = marked.withColumn(helper["slide"], F.window(ts, split.duration))
            end = F.unix_micros(F.col(f"{helper['slide']}.end"))
        marked = marked.withColumn(helper["end"], end)
        wm = F.col(helper["wm"])
        late = F.col(helper["end"]) <= wm * 1000
        ends = [F.date_format(F.timestamp_micros(F.col(helper["end"])), _ISO)] if what else []
        reason = F.format_string(
            f"late record: event time %s, {what}at or before the watermark %s",
            F.date_format(ts, _ISO),
            *ends,
            F.date_format(F.timestamp_millis(wm), _ISO),
        )
        row = F.to_json(F.struct(*[F.col(quote(c)) for c in columns]), {"ignoreNullFields": "false"})
        observed = marked.observe(
            metric,
            F.count(F.when(late, 1)).alias("rows"),
            F.collect_list(F.when(late, F.struct(reason.alias("reason"), row.alias("row")))).alias("letters"),
            F.max(wm).alias("watermark_ms"),
        )
        return observed.select(*[F.col(quote(c)) for c in columns])

    # -- while the queries run

    def collect(self, sink: str, progress: Any) -> None:
        """Take the late rows of one micro-batch of ``sink``'s query, and Spark's count of the rows it dropped."""
        metrics = progress.observedMetrics
        names = sorted({stage_of_metric(m) for m in metrics if m.startswith(METRIC_PREFIX)} & set(self.splits))
        last = self._last_batch.get(sink)
        if last is not None and progress.batchId > last + 1:  # Spark keeps the last 100 reports only
            self.missed += progress.batchId - last - 1
            self.reporter.message(
                "warning",
                f"{sink}: the progress of micro-batches {last + 1}..{progress.batchId - 1} was not seen: their "
                "late records, if any, were not sent to the dead-letter queue",
            )
        if last is not None or names:  # tracked from the first report of a query that has late records to route
            self._last_batch[sink] = max(progress.batchId, last or 0)
        if not names:
            return
        dropped = sum(int(op.numRowsDroppedByWatermark or 0) for op in progress.stateOperators)
        self.dropped_by_spark[sink] = self.dropped_by_spark.get(sink, 0) + dropped
        found = 0
        for name in names:
            sides = [metrics[m] for m in sorted(metrics) if m.startswith(METRIC_PREFIX) and stage_of_metric(m) == name]
            rows = sum(int(observed["rows"] or 0) for observed in sides)
            found += rows
            if not rows:
                continue
            where = f" (micro-batch {progress.batchId} of query '{sink}')"
            letters = [
                (str(letter["reason"]) + where, str(letter["row"]))
                for observed in sides
                for letter in observed["letters"]
            ]
            self._pending.append(_Batch(name, sink, progress.batchId, letters))
            counts = self.found.setdefault(name, {})
            counts[sink] = counts.get(sink, 0) + rows
            self.reporter.message(
                "info", f"{sink}: micro-batch {progress.batchId}: {rows} late records of '{name}' → dead-letter queue"
            )
        if dropped and not found:
            self.reporter.message(
                "warning",
                f"{sink}: micro-batch {progress.batchId}: Spark dropped {dropped} late rows that were not "
                "dead-lettered (a sliding window's partial drop, or a stateful operator late records are not "
                "routed from)",
            )

    def flush(self) -> None:
        """Write the late rows collected so far to the dead-letter queue, in one write; a failure fails the run."""
        if not self._pending:
            return
        from pyspark.sql.types import StringType, StructField, StructType

        spec = self.plan.pipeline
        assert spec.dead_letter is not None  # a split exists only with a queue
        pending, self._pending = self._pending, []
        queue = DeadLetterQueue(spec.dead_letter, self.registry, spec.name, spec.env)
        schema = StructType([StructField(n, StringType()) for n in ("reason", "check", "row")])
        for batch in pending:
            rows = [(reason, None, row) for reason, row in batch.letters]
            queue.add(batch.stage, KIND, self.ctx.spark.createDataFrame(rows, schema))
        ctx = dataclasses.replace(self.ctx, micro_batch=max(b.batch_id for b in pending))
        try:
            write = queue.stage_write(ctx)
            if write is not None:
                write.commit()
        except BaseException:
            self.failed = True
            raise
        for stage, kinds in queue.counts.items():
            self.written[stage] = self.written.get(stage, 0) + kinds.get(KIND, 0)

    def unwritten(self) -> int:
        return sum(len(b.letters) for b in self._pending)

    # -- results

    def merged(self, dead_letters: dict[str, Any] | None) -> dict[str, Any] | None:
        """The run results' ``dead_letters`` with the late rows added (by stage, kind ``late``) and ``late``."""
        if not self.splits:
            return dead_letters
        queue = self.plan.pipeline.dead_letter
        assert queue is not None
        merged = dict(dead_letters or {"type": queue.type, "target": queue.target, "written": True, "rows": 0})
        by_stage = {stage: dict(kinds) for stage, kinds in (merged.get("by_stage") or {}).items()}
        for stage, rows in self.written.items():
            by_stage.setdefault(stage, {})[KIND] = rows
        merged["by_stage"] = by_stage
        merged["rows"] = int(merged.get("rows") or 0) + sum(self.written.values())
        merged["written"] = bool(merged.get("written", True)) and not self.failed and not self.unwritten()
        merged["late"] = {
            "rows": sum(self.written.values()),
            "by_stage": {stage: dict(sinks) for stage, sinks in self.found.items()},
            "not_written": self.unwritten(),
            "micro_batches_missed": self.missed,
            "dropped_by_spark": dict(self.dropped_by_spark),
        }
        return merged

    def report(self) -> None:
        """One line at the end of the run: how many late records went to the queue."""
        total = sum(self.written.values())
        if self.splits:
            spark = sum(self.dropped_by_spark.values())
            self.reporter.message(
                "info",
                f"late records: {total} sent to the dead-letter queue (Spark counted {spark} rows dropped by the "
                "watermark)",
            )
