"""Execute a plan on Spark: sources → transforms → sinks, then publish every sink at once.

Every sink first writes to a staging place; only when all of them succeeded are they
committed (renamed into place). A failure before that aborts every staged write, so
targets are left as they were.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError, EtlError, RunError
from etl_cli.events import Reporter, StageResult
from etl_cli.model.pipeline import option_location
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import PendingWrite, RunContext, Sink, Source, StageSpec, Transform
from etl_cli.plugins.registry import Registry
from etl_cli.runtime.bookkeeping.tracing_setup import StageSpans
from etl_cli.runtime.execution.checkpointing import RunCheckpoints
from etl_cli.runtime.execution.observe import RowCounter
from etl_cli.runtime.execution.profiling import RunProfiler
from etl_cli.runtime.execution.row_access import RowAccess
from etl_cli.runtime.execution.signals import RunSignals
from etl_cli.runtime.execution.spark_errors import (
    SparkFailure,
    explain,
    missing_input_hint,
    sentence,
    source_reading,
)
from etl_cli.runtime.execution.sql_positions import expression_location
from etl_cli.runtime.safeguards.guards import RunExtras, StageGuards

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class StageFailed(RunError):
    """A stage raised: names the stage, the root cause, and the line of the user's YAML to look at.

    Always exit 4, whatever the cause (bad data, an unknown column, a server away): the
    pipeline passed ``validate`` and the run failed; the message and hint say what to fix.
    """

    def __init__(self, stage: StageSpec, cause: BaseException, plan: Plan | None = None):
        failure = explain(cause)
        reader = _reader_of(failure.file, stage, plan)
        read_where = _path_set_at(reader, plan) if reader is not None and plan is not None else ""
        spot = expression_location(cause, stage, plan.pipeline) if plan is not None else None
        where = read_where if reader is stage else (f"expression at {spot}" if spot else _defined_at(stage))
        #: the root cause, and the file and source it came from (also the failed stage's ``error``)
        self.detail = failure.message
        if reader is not None and reader is not stage:
            read_by = f"{reader.kind} '{reader.name}'{_within(read_where)}"
            self.detail = f"{sentence(failure.message)} File: {failure.file}, read by {read_by}."
        hint = cause.hint if isinstance(cause, EtlError) else _hint(failure, reader)
        if hint is None and plan is not None:
            hint = missing_input_hint(failure, plan.pipeline.project)
        super().__init__(f"{stage.label} failed{_within(where)}: {self.detail}", hint=hint)
        self.stage = stage


def _defined_at(stage: StageSpec) -> str:
    return f"defined at {stage.location}" if stage.location else ""


def _path_set_at(reader: StageSpec, plan: Plan) -> str:
    """Where the user set the reader's ``path`` (or the reader itself, when only a template did)."""
    path_at = option_location(plan.pipeline, reader, "path")
    return f"path set at {path_at}" if path_at else _defined_at(reader)


def _within(where: str) -> str:
    return f" ({where})" if where else ""


def _reader_of(file: str | None, stage: StageSpec, plan: Plan | None) -> StageSpec | None:
    """The source, ``stage`` or one it reads, whose ``path`` holds ``file`` (the file Spark failed on)."""
    if file is None or plan is None or stage.name not in plan.upstream:
        return None
    candidates = [stage, *(plan.stage(name) for name in sorted(plan.ancestors(stage.name)))]
    return source_reading(file, candidates, plan.pipeline.project_root)


def _hint(failure: SparkFailure, reader: StageSpec | None) -> str | None:
    if reader is not None and (failure.condition or "").startswith("MALFORMED_RECORD_IN_PARSING"):
        return f"fix the record, or set on_malformed on {reader.kind} '{reader.name}' to drop, keep or dead_letter"
    return None


@dataclass
class _Computed:
    frames: dict[str, DataFrame] = field(default_factory=dict)
    counters: dict[str, RowCounter] = field(default_factory=dict)
    results: dict[str, StageResult] = field(default_factory=dict)
    #: rows each sink counted while writing (None: it cannot vouch for every row it was given)
    sink_rows: dict[str, int | None] = field(default_factory=dict)
    #: stages whose frame the guards changed after the plug-in built it
    reshaped: set[str] = field(default_factory=set)
    #: rows of the stages a checkpoint holds (written by this run, or read): counted when it was written
    checkpointed_rows: dict[str, int | None] = field(default_factory=dict)


class Executor:
    """Runs one plan with one Spark session. The session is passed in, never fetched globally."""

    def __init__(
        self,
        plan: Plan,
        ctx: RunContext,
        registry: Registry,
        reporter: Reporter,
        extras: RunExtras | None = None,
        signals: RunSignals | None = None,
        profiler: RunProfiler | None = None,
        checkpoints: RunCheckpoints | None = None,
    ):
        self.plan = plan
        # plug-ins retrying their own requests (REST) take the stage's retry: over the pipeline's
        self.ctx = ctx = replace(ctx, retry_for=plan.pipeline.retry_for)
        self.registry = registry
        self.reporter = reporter
        #: SIGINT/SIGTERM of the run: checked where stopping leaves every target as it was
        self.signals = signals
        #: retries, contracts, quality checks and dead letters around the stages
        self.guards = StageGuards(plan, ctx, registry, reporter, extras, signals)
        #: ``run --profile``: tags the Spark queries of each step, to attribute their time afterwards
        self.profiler = profiler
        #: the stages whose rows are counted (observed): their count marks where their operators end in a plan
        self.counted: set[str] = set()
        #: the frame each sink was given to write, by sink name (catalog registration reads its schema)
        self.written: dict[str, DataFrame] = {}
        #: when given (lineage): each source's and transform's columns and Spark types, read from the analysed frame
        self.schemas: dict[str, list[tuple[str, str]]] | None = None
        #: the checkpoints the run starts from and those it writes (``checkpoint: true``); None: neither
        self.checkpoints = checkpoints
        #: the stages' spans of the run's trace (nothing while tracing is off)
        self.spans = StageSpans()
        #: the row filters of the project's ``access:`` rules, applied to every source as it is read
        self.row_access = RowAccess(plan)

    def run(self) -> list[StageResult]:
        """Run every stage; return one result per stage (raises StageFailed on the first failure)."""
        computed = _Computed()
        pending: list[tuple[StageSpec, PendingWrite, float]] = []
        total = len(self.plan.stages)
        # sinks last, so the quality gate runs once every checked stage is built and before any sink writes
        ordered = sorted(self.plan.stages, key=lambda s: s.kind == "sink")
        gated = False
        try:
            for index, stage in enumerate(ordered, start=1):
                self._stop_if_signalled()
                if stage.kind == "sink" and not gated:
                    with self._step("quality gate"):
                        self._gate(computed)
                    gated = True
                self.reporter.stage_started(stage.name, stage.kind, stage.type, index, total)
                started = time.perf_counter()
                try:
                    with self._step(stage.label, stage.name), self.spans.active(stage):
                        if stage.kind == "sink":
                            pending.append((stage, self._stage_sink(stage, computed), started))
                        else:
                            self._compute(stage, computed)
                except Exception as exc:
                    stopped = self.signals is not None and self.signals.received is not None
                    failure = StageFailed(stage, exc, self.plan)
                    self._finish_failed(failure, started, computed, index, total, stopped=stopped)
                    self._stop_if_signalled()
                    raise failure from exc
                if stage.kind != "sink":
                    self._finish_lazy(stage, computed, started, index, total)
            with self._step("dead letters"):
                self.guards.stage_dead_letters()
            self._stop_if_signalled()  # the last point where stopping leaves every target as it was
            self._commit(pending, computed, total)
            self.guards.commit_dead_letters()
            self.guards.judge_written()
        except BaseException:
            for _stage, write, _ in pending:
                write.abort()
            self.guards.abort()
            self._fill_skipped(computed)
            self.spans.finish(self.partial_results)
            raise
        finally:
            self.guards.release()
        self._collect_counts(computed)
        self.spans.finish(computed.results.values())
        return [computed.results[s.name] for s in self.plan.stages]

    def _step(self, label: str, stage: str | None = None) -> AbstractContextManager[None]:
        """Spark queries run in the block are the step's, for the profile (nothing without ``--profile``)."""
        return nullcontext() if self.profiler is None else self.profiler.step(label, stage)

    def _stop_if_signalled(self) -> None:
        if self.signals is not None:
            self.signals.check()

    def _gate(self, computed: _Computed) -> None:
        """The quality gate. A check Spark cannot resolve fails the run (exit 4), as a stage that cannot does."""
        try:
            self.guards.gate(computed.frames)
        except ConfigError as exc:
            raise RunError(exc.message, location=exc.location, hint=exc.hint) from exc

    def compute_stage(self, stage: StageSpec, frames: Mapping[str, DataFrame]) -> DataFrame:
        """The lazy DataFrame of one source or transform, given its inputs' frames (also for dry-run and debug)."""
        plugin = self.registry.get(stage.kind, stage.type)()
        if isinstance(plugin, Source):
            return self.row_access.filtered(stage, plugin.read(self.ctx, stage))
        if isinstance(plugin, Transform):
            return plugin.apply(self.ctx, stage, {name: frames[name] for name in stage.inputs})
        raise RunError(f"{stage.label}: plug-in {type(plugin).__name__} is neither a source nor a transform")

    def _compute(self, stage: StageSpec, computed: _Computed) -> None:
        checkpoints = self.checkpoints
        if checkpoints is not None and self._read_from_checkpoint(stage.name):  # computed by an earlier run
            df = checkpoints.read(self.ctx.spark, stage.name)
            self._note_schema(stage, df)
            computed.frames[stage.name] = df
            computed.checkpointed_rows[stage.name] = checkpoints.reading[stage.name].rows
            return
        built = self.guards.read(stage, lambda: self.compute_stage(stage, computed.frames))
        df = self.guards.after_compute(stage, built)
        if df is not built:
            computed.reshaped.add(stage.name)
        self._note_schema(stage, df)
        if checkpoints is not None and checkpoints.keeps(stage):
            # one Spark job writes it and counts its rows; the stages after it read the written copy
            self.counted.add(stage.name)
            computed.frames[stage.name], computed.checkpointed_rows[stage.name] = checkpoints.write(stage, df)
            return
        if self._counted_by(stage) is not None or stage.option("count_rows") is False:
            computed.frames[stage.name] = df  # its reader counts the same rows, or nobody (count_rows: false)
            return
        counter = RowCounter(stage.name)
        computed.counters[stage.name] = counter
        self.counted.add(stage.name)
        computed.frames[stage.name] = counter.attach(df)

    def _read_from_checkpoint(self, name: str) -> bool:
        """Whether the run reads ``name``'s rows from a checkpoint (it then reads none of its inputs)."""
        return self.checkpoints is not None and name in self.checkpoints.reading

    def _note_schema(self, stage: StageSpec, df: DataFrame) -> None:
        if self.schemas is not None:  # the frame is analysed already: reading its schema starts no Spark job
            self.schemas[stage.name] = [(f.name, f.dataType.simpleString()) for f in df.schema.fields]

    def _counted_by(self, stage: StageSpec) -> str | None:
        """The stage that counts exactly the rows ``stage`` outputs, so ``stage`` needs no count of its own.

        That is its only reader, when it is a sink (which counts what it writes) or a transform of
        that one input that keeps the row count (derive, window...). Every observed count is one
        more pass over the rows and splits Spark's generated code, so a chain of such stages is
        counted once, at its end.
        """
        readers = [r for r in self.plan.downstream[stage.name] if not self._read_from_checkpoint(r)]
        if len(readers) != 1:
            return None
        reader = self.plan.stage(readers[0])
        if reader.kind == "sink":
            return reader.name
        plugin = self.registry.get(reader.kind, reader.type)
        keeps = issubclass(plugin, Transform) and plugin.keeps_row_count(reader.options)
        if keeps and reader.inputs == (stage.name,) and not self.guards.may_change_rows(reader):
            return reader.name
        return None

    def _stage_sink(self, stage: StageSpec, computed: _Computed) -> PendingWrite:
        plugin = self.registry.get("sink", stage.type)()
        assert isinstance(plugin, Sink)
        self.written[stage.name] = computed.frames[stage.inputs[0]]
        return self.guards.write(stage, lambda: plugin.stage_write(self.ctx, stage, self.written[stage.name]))

    def _finish_failed(
        self, failure: StageFailed, started: float, computed: _Computed, index: int, total: int, stopped: bool = False
    ) -> None:
        """Record and report the failed stage (``interrupted`` when a signal stopped it: no error of its own)."""
        stage = failure.stage
        result = StageResult(
            stage.name,
            stage.kind,
            stage.type,
            "interrupted" if stopped else "failed",
            duration_s=time.perf_counter() - started,
            error=None if stopped else failure.detail,
        )
        computed.results[stage.name] = result
        self.reporter.stage_finished(result, index, total)

    def _finish_lazy(self, stage: StageSpec, computed: _Computed, started: float, index: int, total: int) -> None:
        read = self.checkpoints.reading.get(stage.name) if self.checkpoints is not None else None
        result = StageResult(
            stage.name,
            stage.kind,
            stage.type,
            "ok",
            duration_s=time.perf_counter() - started,
            from_checkpoint=read.run_id if read is not None else None,
        )
        computed.results[stage.name] = result
        self.reporter.stage_finished(result, index, total)

    def _commit(self, pending: list[tuple[StageSpec, PendingWrite, float]], computed: _Computed, total: int) -> None:
        position = {s.name: i for i, s in enumerate(self.plan.stages, start=1)}
        # writes that cannot be taken back (produced Kafka records) go last: a failing commit before them
        # then leaves nothing behind that the next run would duplicate
        ordered = sorted(pending, key=lambda entry: entry[1].irreversible)
        for stage, write, started in ordered:
            try:
                with self._step(stage.label, stage.name), self.spans.active(stage):
                    self.guards.commit(stage, write.commit)
            except Exception as exc:
                failure = StageFailed(stage, exc, self.plan)
                self._finish_failed(failure, started, computed, position[stage.name], total)
                raise failure from exc
            status = "ok" if write.rows is not None else "skipped"
            given = _rows_given(write)
            computed.sink_rows[stage.name] = given
            result = StageResult(
                stage.name,
                stage.kind,
                stage.type,
                status,
                rows_in=given,
                rows_out=write.rows,
                duration_s=time.perf_counter() - started,
                details=dict(write.details),
            )
            computed.results[stage.name] = result
            self.reporter.stage_finished(result, position[stage.name], total)

    def _collect_counts(self, computed: _Computed) -> None:
        """Row counts of the stages that fed a sink that really wrote: observed, or taken from their reader."""
        executed: set[str] = set()
        for sink in self.plan.sinks:
            if computed.results[sink.name].status == "ok":
                executed |= self.plan.ancestors(sink.name)
        for name in self.checkpoints.written if self.checkpoints is not None else ():
            executed |= self.plan.ancestors(name)  # writing the checkpoint ran the stages before it
        rows_out: dict[str, int | None] = {}
        for stage in reversed(self.plan.stages):  # readers first: a stage may take its reader's count
            if stage.kind != "sink":
                rows_out[stage.name] = self._rows_out(stage, computed, executed, rows_out)
        for stage in self.plan.stages:
            if stage.kind == "sink":
                continue
            read = self._read_from_checkpoint(stage.name)
            rows_in = _sum_known([rows_out[i] for i in stage.inputs]) if stage.inputs and not read else None
            computed.results[stage.name] = replace(
                computed.results[stage.name], rows_in=rows_in, rows_out=rows_out[stage.name]
            )

    def _rows_out(
        self, stage: StageSpec, computed: _Computed, executed: set[str], known: dict[str, int | None]
    ) -> int | None:
        if stage.name in computed.checkpointed_rows:
            return computed.checkpointed_rows[stage.name]
        reader = self._counted_by(stage)
        if reader is None:
            counter = computed.counters.get(stage.name)
            return counter.rows() if counter is not None and stage.name in executed else None
        if reader in computed.sink_rows:
            return computed.sink_rows[reader]
        # a reader whose guards changed its rows after all counts something else: better no count than a wrong one
        return None if reader in computed.reshaped else known.get(reader)

    def _fill_skipped(self, computed: _Computed) -> None:
        for stage in self.plan.stages:
            computed.results.setdefault(stage.name, StageResult(stage.name, stage.kind, stage.type, "not_run"))
        for name, rows in computed.checkpointed_rows.items():  # counted before the failure, when written
            computed.results[name] = replace(computed.results[name], rows_out=rows)
        self.partial_results = [computed.results[s.name] for s in self.plan.stages]


def _rows_given(write: PendingWrite) -> int | None:
    """The rows a sink was given: those it wrote plus those it set aside (None when it cannot say)."""
    if write.rows_rejected is not None and write.rows is not None:
        return write.rows + write.rows_rejected
    return write.rows if write.rejected is None else None


def _sum_known(values: list[Any]) -> int | None:
    return None if any(v is None for v in values) else sum(values)
