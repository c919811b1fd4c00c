"""Execute a streaming plan: one Spark Structured Streaming query per sink, until they end or are stopped.

Sources that read a stream use ``readStream``; other sources are read as static DataFrames
(a stream may join them). Transforms are the same plug-ins as in batch runs. Each sink
starts a query that writes every micro-batch, with its checkpoint in
``<streaming.checkpoint_location>/<sink>``, in the pipeline's output mode: append (a window
once, final) or, for sinks that can take them, update (the windows each micro-batch changed):

- file sinks write natively; Spark's file sink logs the files of each committed batch in
  ``<path>/_spark_metadata``, and together with the checkpoint this makes the output
  exactly once across crashes: a batch interrupted by a kill is re-run with the same
  offsets on restart, and files it had left behind are not in the log, so Spark readers
  ignore them;
- sinks whose batch writes are idempotent when replayed (an upsert, ``micro_batch_modes``)
  get each micro-batch through ``stage_write`` + ``commit`` in ``foreachBatch``; in update
  mode a micro-batch holds each changed window once, with its values so far;
- the Kafka sink produces natively, at least once (in update mode, one record per change).

Row-level checks apply to every micro-batch as it flows (runtime/safeguards/quality/streaming.py):
``quarantine`` checks get a query of their own that appends the rows they remove to the
dead-letter queue, at least once; a ``fail`` check fails its micro-batch before the sink
commits it and ends the run with exit 3. A stage's contract is checked when its query
starts.

Queries with a bounded trigger (available_now, once) end by themselves. SIGTERM or SIGINT
stops the queries gracefully: a running micro-batch may finish (``stop_timeout_s``), then
every query stops; a second signal stops them at once. Stopping an unbounded stream with
SIGTERM is its normal end (exit 0); SIGINT, or any signal before a bounded stream has
finished, ends the run as interrupted (exit 130). A failing query stops the others and
fails the run (exit 4).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from etl_cli import tracing
from etl_cli.errors import RunError
from etl_cli.events import Reporter, StageResult
from etl_cli.model.streaming import StreamingSettings
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import RunContext, Sink, Source, StageSpec, Transform
from etl_cli.plugins.quality.base import RowCheck
from etl_cli.plugins.registry import Registry
from etl_cli.runtime.bookkeeping.tracing_setup import StageSpans
from etl_cli.runtime.execution.executor import StageFailed
from etl_cli.runtime.execution.row_access import RowAccess
from etl_cli.runtime.safeguards.dead_letters import DeadLetterQueue
from etl_cli.runtime.safeguards.guards import StageGuards
from etl_cli.runtime.safeguards.quality import contracts
from etl_cli.runtime.safeguards.quality.report import QualityReport, StageQuality
from etl_cli.runtime.safeguards.quality.streaming import StreamChecks, gate_error
from etl_cli.runtime.spark.connect import observed_values
from etl_cli.runtime.streams.late import LateRecords

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.streaming import DataStreamWriter, StreamingQuery
    from pyspark.sql.streaming.listener import StreamingQueryProgress

POLL_S = 1.0
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """SIGINT and SIGTERM, caught while the queries run instead of killing the process."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.count = 0
        self._event = threading.Event()

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def forced(self) -> bool:
        """A second signal: stop without waiting for running micro-batches."""
        return self.count > 1

    def _handle(self, signum: int, _frame: Any) -> None:
        self.signal = self.signal or signum
        self.count += 1
        self._event.set()

    def request(self) -> None:
        """Stop as a first SIGTERM does, from any thread (``run --watch`` restarting with a changed pipeline)."""
        self._handle(signal.SIGTERM, None)

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the first signal arrives."""
        self._event.wait(seconds)

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """Catch the signals for the duration of the block (only the main thread can)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {number: signal.signal(number, self._handle) for number in _STOP_SIGNALS}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


@dataclasses.dataclass
class BatchTimings:
    """Where the time of a query's micro-batches with data went: Spark's ``durationMs`` phases, summed.

    ``triggerExecution`` is a whole micro-batch; ``addBatch`` runs the query and writes the sink;
    ``walCommit`` and ``commitOffsets`` write the checkpoint; ``queryPlanning``, ``getBatch`` and
    ``latestOffset`` prepare the batch. Kept as sums and maxima, so a stream running for weeks
    holds a handful of numbers.
    """

    batches: int = 0
    total_ms: dict[str, int] = dataclasses.field(default_factory=dict)
    max_ms: dict[str, int] = dataclasses.field(default_factory=dict)

    def add(self, duration_ms: dict[str, int]) -> None:
        self.batches += 1
        for phase, value in duration_ms.items():
            self.total_ms[phase] = self.total_ms.get(phase, 0) + int(value)
            self.max_ms[phase] = max(self.max_ms.get(phase, 0), int(value))

    def summary(self) -> dict[str, Any]:
        """Mean and maximum milliseconds per phase, the longest phases first."""
        phases = sorted(self.total_ms, key=lambda phase: -self.total_ms[phase])
        return {
            "micro_batches": self.batches,
            "mean": {phase: round(self.total_ms[phase] / self.batches) for phase in phases},
            "max": {phase: self.max_ms[phase] for phase in phases},
        }


@dataclasses.dataclass
class SinkQuery:
    """One sink's running query and what its progress reports have said so far."""

    stage: StageSpec
    query: StreamingQuery
    checkpoint: str
    started: float
    metric: str
    rows: int = 0
    batches: int = 0
    last_batch: int | None = None
    #: (batch id, timestamp) of the newest progress report already counted
    newest_seen: tuple[int, str] | None = None
    timings: BatchTimings = dataclasses.field(default_factory=BatchTimings)
    #: takes each micro-batch's late records (streams/late.py)
    late: LateRecords | None = None
    #: whether the query counts the rows it writes (an ``observe`` beside the sink; ``streaming.count_rows: false``
    #: leaves it out: in real-time mode it costs about a seventh of the query's CPU)
    counted: bool = True

    def poll(self, reporter: Reporter, checks: Sequence[StreamChecks] = ()) -> None:
        """Count the rows of every micro-batch reported since the last poll (and what ``checks`` found)."""
        for progress in self._new_progress():
            for checked in checks:
                checked.count(str(self.query.id), progress.batchId, progress.observedMetrics.get(checked.metric))
            if self.late is not None:
                self.late.collect(self.stage.name, progress)
            observed = progress.observedMetrics.get(self.metric)
            rows = int(observed_values(observed)["rows"]) if observed is not None else 0
            if progress.numInputRows or rows:
                self.rows += rows
                self.batches += 1
                self.last_batch = progress.batchId
                self.timings.add(dict(progress.durationMs))
                took = progress.durationMs.get("triggerExecution")
                done = f"{rows} rows written" if self.counted else f"{progress.numInputRows} rows read"
                written = done + (f" in {took} ms" if took is not None else "")
                reporter.message("info", f"{self.stage.name}: micro-batch {progress.batchId}: {written}")

    def _new_progress(self) -> list[StreamingQueryProgress]:
        """The progress reports made since the last poll, oldest first."""
        fresh = []
        for progress in self._newest_first():
            if (progress.batchId, progress.timestamp) == self.newest_seen:
                break
            fresh.append(progress)
        if fresh:
            self.newest_seen = (fresh[0].batchId, fresh[0].timestamp)
        return fresh[::-1]

    def _newest_first(self) -> Iterator[StreamingQueryProgress]:
        """The progress reports Spark keeps, newest first, each converted only when asked for.

        Spark keeps the last 100 (``spark.sql.streaming.numRecentProgressUpdates``);
        ``StreamingQuery.recentProgress`` converts every one of them, two JVM calls and a JSON
        parse each, on every poll, where a poll needs only the few made since the last one.
        """
        from pyspark.sql.streaming.listener import StreamingQueryProgress

        jvm_query = getattr(self.query, "_jsq", None)  # classic sessions; Spark Connect has none
        if jvm_query is None:
            yield from reversed(self.query.recentProgress)
            return
        reports = jvm_query.recentProgress()
        for index in range(len(reports) - 1, -1, -1):
            yield StreamingQueryProgress.fromJson(json.loads(reports[index].json()))

    def result(self, status: str, stopped_by: str | None = None, error: str | None = None) -> StageResult:
        details: dict[str, Any] = {
            "query_id": str(self.query.id),
            "checkpoint": self.checkpoint,
            "micro_batches": self.batches,
            "last_batch_id": self.last_batch,
        }
        if self.timings.batches:
            details["duration_ms"] = self.timings.summary()
        if stopped_by:
            details["stopped_by"] = stopped_by
        return StageResult(
            self.stage.name,
            self.stage.kind,
            self.stage.type,
            status,
            rows_in=self.rows if self.counted else None,
            rows_out=self.rows if self.counted else None,
            duration_s=time.perf_counter() - self.started,
            error=error,
            details=details,
        )


class StreamingExecutor:
    """Runs a streaming plan with one Spark session (passed in, never fetched globally)."""

    def __init__(
        self, plan: Plan, ctx: RunContext, registry: Registry, reporter: Reporter, settings: StreamingSettings
    ):
        self.plan = plan
        self.ctx = ctx
        self.registry = registry
        self.reporter = reporter
        self.settings = settings
        #: the row filters of the project's ``access:`` rules, applied to every source as it is read
        self.row_access = RowAccess(plan)
        self.partial_results: list[StageResult] = []
        self._results: dict[str, StageResult] = {}
        self._queries: list[SinkQuery] = []
        #: queries appending quarantined rows to the dead-letter queue, one per stage with quarantine checks
        self._dead_letter_queries: list[SinkQuery] = []
        self.guards = StageGuards(plan, ctx, registry, reporter)
        self.checks = self._stream_checks()
        #: stateful stages whose late records go to the dead-letter queue (streams/late.py)
        checkpoints = {s.name: ctx.path(settings.checkpoint_for(s.name)) for s in plan.sinks}
        self.late = LateRecords(plan, ctx, registry, reporter, checkpoints)
        #: the stages whose checks each sink's query counts (each checked stage counted by one query only)
        self._counted_by: dict[str, list[StreamChecks]] = {}
        #: the stages' spans of the run's trace, open until the queries end (nothing while tracing is off)
        self.spans = StageSpans(end_at_results=True)
        #: called with the queries after each poll of their progress (the run's control file, streams/control.py)
        self.on_poll: Callable[[Sequence[SinkQuery]], None] | None = None
        #: the signals the queries stop on; ``request()`` stops them the same way (``run --watch`` restarting)
        self.stop_request = StopRequest()

    def _stream_checks(self) -> dict[str, StreamChecks]:
        found: dict[str, StreamChecks] = {}
        for check in self.plan.pipeline.checks:
            plugin = self.registry.get("check", check.type)()
            if isinstance(plugin, RowCheck):
                found.setdefault(check.stage, StreamChecks(self.plan.stage(check.stage), [])).checks.append(
                    (check, plugin)
                )
        return found

    def run(self) -> list[StageResult]:
        """Start every query, wait until they end or a signal stops them; one result per stage."""
        with self.stop_request.installed() as stop:
            try:
                self._start_all()
                self._await(stop)
            except BaseException:
                self._stop_all()
                self._finish_results("failed")
                with contextlib.suppress(Exception):  # late records of batches Spark committed are still kept
                    self.late.flush()
                self.spans.finish(self.partial_results)
                raise
            self._finish_results("ok", _signal_name(stop.signal))
            self.late.flush()
            self.late.report()
            self.spans.finish(self.partial_results)
            if stop.requested and (self.settings.trigger.bounded or stop.signal == signal.SIGINT):
                raise KeyboardInterrupt
        return self.partial_results

    # ------------------------------------------------------------------ start

    def _start_all(self) -> None:
        frames: dict[str, DataFrame] = {}
        total = len(self.plan.stages)
        for index, stage in enumerate(self.plan.stages, start=1):
            self.reporter.stage_started(stage.name, stage.kind, stage.type, index, total)
            started = time.perf_counter()
            try:
                with self.spans.active(stage):
                    if stage.kind == "sink":
                        self._queries.append(self._start_query(stage, frames[stage.inputs[0]], started))
                        self.reporter.message("info", f"{stage.name}: streaming query started")
                        continue
                    frames[stage.name] = self._frame(stage, frames)
            except Exception as exc:
                failure = StageFailed(stage, exc, self.plan)
                self._results[stage.name] = StageResult(
                    stage.name,
                    stage.kind,
                    stage.type,
                    "failed",
                    duration_s=time.perf_counter() - started,
                    error=failure.message,
                )
                self.reporter.stage_finished(self._results[stage.name], index, total)
                raise failure from exc
            result = StageResult(stage.name, stage.kind, stage.type, "ok", duration_s=time.perf_counter() - started)
            self._results[stage.name] = result
            self.reporter.stage_finished(result, index, total)

    def _frame(self, stage: StageSpec, frames: dict[str, DataFrame]) -> DataFrame:
        plugin = self.registry.get(stage.kind, stage.type)()
        if isinstance(plugin, Source):
            streams = plugin.is_streaming(stage.options)
            df = plugin.read_stream(self.ctx, stage) if streams else plugin.read(self.ctx, stage)
            df = self.row_access.filtered(stage, df)
        elif isinstance(plugin, Transform):
            df = plugin.apply(self.ctx, stage, self.late.marked(stage, {name: frames[name] for name in stage.inputs}))
        else:
            raise RunError(f"{stage.label}: plug-in {type(plugin).__name__} is neither a source nor a transform")
        return self._guarded(stage, df)

    def _guarded(self, stage: StageSpec, df: DataFrame) -> DataFrame:
        """``df`` through the stage's contract (checked now) and checks (applied to every micro-batch)."""
        contract = self.guards.contract_for(stage)
        if contract is not None:
            df, note = contracts.enforce(contract, stage, df)
            self.guards.report.contracts.append(note)
            if (implicit := contracts.not_null_check(contract)) is not None:
                checker = self.registry.get("check", implicit.type)()
                assert isinstance(checker, RowCheck)
                self.checks.setdefault(stage.name, StreamChecks(stage, [])).checks.append((implicit, checker))
        checked = self.checks.get(stage.name)
        if checked is None or not df.isStreaming:
            return df
        output, quarantined = checked.apply(df)
        if quarantined is not None:
            self._dead_letter_queries.append(self._start_dead_letters(stage, quarantined))
        owner = next((s.name for s in self.plan.sinks if stage.name in self.plan.ancestors(s.name)), None)
        if owner is not None:
            self._counted_by.setdefault(owner, []).append(checked)
        return output

    def _start_dead_letters(self, stage: StageSpec, rows: DataFrame) -> SinkQuery:
        """A query appending the rows ``stage``'s quarantine checks remove to the dead-letter queue."""
        from pyspark.sql import functions as F

        spec = self.plan.pipeline
        queue_spec = spec.dead_letter
        if queue_spec is None:
            raise RunError(f"{stage.label} has quarantine checks but the pipeline has no dead_letter")
        ctx, registry = self.ctx, self.registry

        def write(batch: DataFrame, batch_id: int) -> None:
            queue = DeadLetterQueue(queue_spec, registry, spec.name, spec.env)
            queue.add(stage.name, "quarantined", batch)
            batch_ctx = dataclasses.replace(ctx, micro_batch=batch_id)
            pending = queue.stage_write(batch_ctx)
            if pending is not None:
                pending.commit()

        name = f"dead_letter_{stage.name}"
        metric = f"etl_sink_{name}"
        writer = rows.observe(metric, F.count(F.lit(1)).alias("rows")).writeStream.foreachBatch(write)
        checkpoint = self.ctx.path(self.settings.checkpoint_for(f"_dead_letters/{stage.name}"))
        query = self._with_trigger(writer.option("checkpointLocation", checkpoint)).queryName(name).start()
        target = dataclasses.replace(queue_spec.as_sink(), name=name)
        return SinkQuery(target, query, checkpoint, time.perf_counter(), metric)

    def _start_query(self, stage: StageSpec, df: DataFrame, started: float) -> SinkQuery:
        from pyspark.sql import functions as F

        plugin = self.registry.get("sink", stage.type)()
        assert isinstance(plugin, Sink)
        if not df.isStreaming:
            raise RunError(f"{stage.label} reads no streaming source", location=stage.location)
        metric = f"etl_sink_{stage.name}"
        counted = self.settings.count_rows
        observed = df.observe(metric, F.count(F.lit(1)).alias("rows")) if counted else df
        if stage.option("mode") in plugin.streaming_modes:
            writer = plugin.stream_writer(self.ctx, stage, observed)
        else:
            writer = self._micro_batch_writer(plugin, stage, observed)
        checkpoint = self.ctx.path(self.settings.checkpoint_for(stage.name))
        output_mode = self.settings.output_mode_for(type(plugin), stage.option("mode"), stage.option("output_mode"))
        writer = self._with_trigger(writer.option("checkpointLocation", checkpoint).outputMode(output_mode))
        query = writer.queryName(stage.name).start()
        return SinkQuery(stage, query, checkpoint, started, metric, late=self.late or None, counted=counted)

    def _micro_batch_writer(self, plugin: Sink, stage: StageSpec, df: DataFrame) -> DataStreamWriter:
        """foreachBatch through the sink's batch write: each micro-batch staged and committed on its own.

        After a crash Spark replays the last micro-batch with the same id and the same rows, so this is
        only offered for modes whose writes are idempotent (``micro_batch_modes``, e.g. an upsert).
        """
        ctx = self.ctx

        def write(batch: DataFrame, batch_id: int) -> None:
            batch_ctx = dataclasses.replace(ctx, run_id=f"{ctx.run_id}-b{batch_id}", micro_batch=batch_id)
            with tracing.span("etl.micro_batch", **{"etl.stage": stage.name, "etl.batch_id": batch_id}):
                pending = plugin.stage_write(batch_ctx, stage, batch)
                try:
                    pending.commit()
                except BaseException:
                    pending.abort()
                    raise

        return df.writeStream.foreachBatch(write)

    def _with_trigger(self, writer: DataStreamWriter) -> DataStreamWriter:
        trigger = self.settings.trigger
        if trigger.kind == "available_now":
            return writer.trigger(availableNow=True)
        if trigger.kind == "once":
            return writer.trigger(once=True)
        if trigger.kind == "real_time":
            return real_time_trigger(writer, trigger.interval or "5 minutes")
        return writer.trigger(processingTime=trigger.interval or "0 seconds")

    def summary(self) -> dict[str, Any]:
        """``quality`` and ``dead_letters`` for the run results (None where the pipeline has none)."""
        spec = self.plan.pipeline
        quarantined = {q.stage.name.removeprefix("dead_letter_"): q.rows for q in self._dead_letter_queries}
        report = QualityReport(self.ctx.run_id, spec.name, contracts=self.guards.report.contracts)
        for checked in self.checks.values():
            results = checked.results()
            report.checks += results
            removed = max((r.rows_removed for r in results), default=0)
            stage = checked.stage.name
            report.stages.append(StageQuality(stage, checked.evaluated, removed, quarantined.get(stage, 0)))
        queue = spec.dead_letter
        dead_letters = None
        if queue is not None and self._dead_letter_queries:
            dead_letters = {
                "type": queue.type,
                "target": queue.target,
                "written": True,
                "rows": sum(quarantined.values()),
                "by_stage": {stage: {"quarantined": rows} for stage, rows in quarantined.items()},
            }
        return {"quality": None if report.empty else report.to_json(), "dead_letters": self.late.merged(dead_letters)}

    # ------------------------------------------------------------------ wait and stop

    @property
    def _all_queries(self) -> list[SinkQuery]:
        """The sinks' queries, then the dead-letter queue's."""
        return self._queries + self._dead_letter_queries

    def _await(self, stop: StopRequest) -> None:
        while True:
            self._poll_and_check()
            if self.on_poll is not None:
                self.on_poll(self._all_queries)
            if stop.requested:
                self._graceful_stop(stop)
                return
            # the dead-letter queries too: a run that ended with the sinks' queries would read (and report) the
            # rows quarantined by their last batch before it was written
            if not any(q.query.isActive for q in self._all_queries):
                self._poll_and_check()  # a query that failed since the check above fails the run
                return
            stop.wait(POLL_S)

    def _poll_and_check(self) -> None:
        for sink_query in self._all_queries:
            sink_query.poll(self.reporter, self._counted_by.get(sink_query.stage.name, []))
            error = sink_query.query.exception()
            if error is not None:
                gate = gate_error(str(error))
                if gate is not None:
                    failed, names = gate
                    for checked in self.checks.values():
                        checked.gate_failed |= names
                    raise failed from None
                raise StageFailed(sink_query.stage, error, self.plan)
        self.late.flush()

    def _graceful_stop(self, stop: StopRequest) -> None:
        name = _signal_name(stop.signal)
        self.reporter.message("info", f"{name}: stopping the streaming queries")
        # a real-time batch runs for minutes, passing records on as they come: nothing is gained by waiting
        # for its end (the next run reads again from where the last finished batch ended)
        waits = self.settings.trigger.kind != "real_time"
        deadline = time.monotonic() + (self.settings.stop_timeout_s if waits else 0)
        while not stop.forced and time.monotonic() < deadline and any(_in_batch(q.query) for q in self._queries):
            time.sleep(0.2)
        self._stop_all()
        self._poll_and_check()

    def _stop_all(self) -> None:
        for sink_query in self._all_queries:
            try:
                sink_query.query.stop()
            except Exception as exc:  # a query that cannot stop cleanly must not hide why the run ends
                self.reporter.message("warning", f"{sink_query.stage.name}: stopping the query failed: {exc}")

    def _finish_results(self, sink_status: str, stopped_by: str | None = None) -> None:
        for sink_query in self._dead_letter_queries:
            with contextlib.suppress(Exception):
                sink_query.poll(self.reporter)
        for sink_query in self._queries:
            with contextlib.suppress(Exception):  # progress is informative only; the outcome is already decided
                sink_query.poll(self.reporter, self._counted_by.get(sink_query.stage.name, []))
            error = _query_error(sink_query.query)
            status = "failed" if error else ("ok" if sink_status == "ok" else "stopped")
            self._results[sink_query.stage.name] = sink_query.result(status, stopped_by, error)
        for stage in self.plan.stages:
            self._results.setdefault(stage.name, StageResult(stage.name, stage.kind, stage.type, "not_run"))
        self.partial_results = [self._results[s.name] for s in self.plan.stages]
        if sink_status == "ok":
            total = len(self.plan.stages)
            position = {s.name: i for i, s in enumerate(self.plan.stages, start=1)}
            for sink_query in self._queries:
                self.reporter.stage_finished(
                    self._results[sink_query.stage.name], position[sink_query.stage.name], total
                )


def real_time_trigger(writer: DataStreamWriter, duration: str) -> DataStreamWriter:
    """``writer`` with Spark's real-time trigger (batches of ``duration``), set on the JVM: pyspark 4.1 has no
    Python form of it (``Trigger.RealTime`` in Scala); validate refuses real-time mode over Spark Connect."""
    from pyspark import SparkContext

    jvm = SparkContext._jvm
    if jvm is None:
        raise RunError("real-time mode needs Spark's JVM in this process (not available over Spark Connect)")
    writer._jwrite = writer._jwrite.trigger(jvm.org.apache.spark.sql.streaming.Trigger.RealTime(duration))
    return writer


def _in_batch(query: StreamingQuery) -> bool:
    try:
        return bool(query.isActive and query.status["isTriggerActive"])
    except Exception:
        return False


def _query_error(query: StreamingQuery) -> str | None:
    try:
        error = query.exception()
    except Exception:
        return None
    if error is None:
        return None
    text = str(error).strip()
    return text.splitlines()[0][:800] if text else type(error).__name__


def _signal_name(number: int | None) -> str | None:
    return signal.Signals(number).name if number else None
