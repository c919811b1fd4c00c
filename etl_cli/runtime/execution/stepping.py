"""``debug``: run a plan one stage at a time and describe each stage's output.

Each source and transform is computed once and kept (persisted) so later stages, SQL
queries and ``more`` reuse it; it is also a temporary view named after the stage. A
stage's contract and checks apply as in a run (``drop`` and ``quarantine`` remove rows)
and its checks are judged as soon as it is computed. Sinks are described, and written
only when asked (``write``) and when no check stopped the run: they are staged as in a
run and published together by :meth:`Stepper.finish`, with the dead letters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.errors import RunError, UsageError
from etl_cli.events import Reporter, StageResult
from etl_cli.plugins.api import Effect, PendingWrite, Sink, StageSpec
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_types import first_line, quote
from etl_cli.runtime.bookkeeping.progress import watch_spark_progress
from etl_cli.runtime.execution.describe import Masker, SchemaField, first_rows, rows_and_nulls, schema_fields
from etl_cli.runtime.execution.executor import Executor
from etl_cli.runtime.execution.workspace import Workspace
from etl_cli.runtime.safeguards.guards import RunExtras
from etl_cli.runtime.safeguards.masking import display_mask
from etl_cli.runtime.safeguards.quality.report import CheckResult
from etl_cli.secrets.redaction import MASK

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_QUERY_START = re.compile(r"^\s*\(*\s*(select|with|values|table|from|show|describe|desc|explain)\b", re.IGNORECASE)
#: parsed statements that change something (FROM ... INSERT and WITH ... INSERT start like queries)
_WRITES = ("Insert", "Create", "Replace", "Drop", "Alter", "Delete", "Update", "Merge", "Overwrite")


@dataclass(frozen=True)
class StageSnapshot:
    """What debug shows about one stage after computing it."""

    stage: StageSpec
    index: int
    total: int
    rows_in: int | None
    rows_out: int | None
    schema: tuple[SchemaField, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    null_counts: Mapping[str, int]
    masked: tuple[str, ...] = ()
    effects: tuple[Effect, ...] = ()
    staged: bool = False
    streaming: bool = False
    #: the stage's checks, judged on its rows (as a run judges them, on the sample if there is one)
    checks: tuple[CheckResult, ...] = ()
    #: the stage's tagged columns: column → its tags and states (``pii, pii:email (masked)``)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowsPage:
    """Rows for a table: of the current stage (``more``) or of a SQL query."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    offset: int = 0


@dataclass
class _Pending:
    stage: StageSpec
    write: PendingWrite


@dataclass
class Stepper:
    """Steps through a workspace's plan in topological order."""

    workspace: Workspace
    registry: Registry
    reporter: Reporter
    limit: int = 10
    sample: int | None = None
    write: bool = False
    position: int = 0
    current: StageSnapshot | None = None
    shown: int = 0
    frames: dict[str, DataFrame] = field(default_factory=dict)
    rows_out: dict[str, int | None] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)

    def __post_init__(self) -> None:
        extras = RunExtras(sampled=bool(self.sample), count_while_writing=False)
        self.executor = Executor(self.workspace.plan, self.workspace.ctx, self.registry, self.reporter, extras)
        self.guards = self.executor.guards
        # sensitive columns and tagged ones (docs/data-security.md); a stage's own rows hide its unprotected tags
        self.display = display_mask(self.workspace.plan.pipeline, self.registry)
        self.masker = Masker(self.display.columns(None), self.workspace.redactor.mask)

    def _masker_for(self, stage: str) -> Masker:
        """What hides the values of ``stage``'s rows."""
        return Masker(self.display.columns(stage), self.workspace.redactor.mask)

    def _tags_of(self, stage: str) -> dict[str, str]:
        return {name: tags.describe() for name, tags in sorted(self.display.tags.of(stage).items())}

    @property
    def stages(self) -> tuple[StageSpec, ...]:
        return self.workspace.plan.stages

    @property
    def done(self) -> bool:
        return self.position >= len(self.stages)

    @property
    def next_stage(self) -> StageSpec | None:
        return None if self.done else self.stages[self.position]

    def step(self) -> StageSnapshot:
        """Compute the next stage and describe it."""
        stage = self.stages[self.position]
        total = len(self.stages)
        self.reporter.stage_started(stage.name, stage.kind, stage.type, self.position + 1, total)
        with self.workspace.redactor.guard(), watch_spark_progress(self.workspace.ctx.spark, self.reporter):
            snapshot = self._sink(stage) if stage.kind == "sink" else self._frame(stage)
        self.position += 1
        self.current, self.shown = snapshot, len(snapshot.rows)
        result = StageResult(stage.name, stage.kind, stage.type, "ok", snapshot.rows_in, snapshot.rows_out)
        self.reporter.stage_finished(result, self.position, total)
        return snapshot

    def _frame(self, stage: StageSpec) -> StageSnapshot:
        from pyspark import StorageLevel

        df = self.guards.read(stage, lambda: self.executor.compute_stage(stage, self.frames))
        if stage.kind == "source" and self.sample:
            df = df.limit(self.sample)
        df = self.guards.after_compute(stage, df)
        streaming = bool(df.isStreaming)
        if not streaming:
            df = df.persist(StorageLevel.MEMORY_AND_DISK)
        df.createOrReplaceTempView(stage.name)
        self.frames[stage.name] = df
        rows: int | None = None
        nulls: dict[str, int] = {}
        shown: tuple[tuple[str, ...], ...] = ()
        if not streaming:
            rows, nulls = rows_and_nulls(df)
            shown = first_rows(df, self._masker_for(stage.name), self.limit)
        self.rows_out[stage.name] = rows
        checks = () if streaming else tuple(self.guards.evaluate_stage(stage.name, self.frames))
        return StageSnapshot(
            stage,
            self.position + 1,
            len(self.stages),
            self._rows_in(stage),
            rows,
            schema_fields(df),
            tuple(df.columns),
            shown,
            nulls,
            masked=tuple(c for c in df.columns if self._masker_for(stage.name).is_sensitive(c)),
            streaming=streaming,
            checks=checks,
            tags=self._tags_of(stage.name),
        )

    def _sink(self, stage: StageSpec) -> StageSnapshot:
        plugin = self.registry.get("sink", stage.type)()
        assert isinstance(plugin, Sink)
        df = self.frames[stage.inputs[0]]
        if self.write:
            self.guards.report.raise_if_failed()  # a run stops before any sink writes: so does debug
            write = self.guards.write(stage, lambda: plugin.stage_write(self.workspace.ctx, stage, df))
            self.pending.append(_Pending(stage, write))
        rows = self._rows_in(stage)
        return StageSnapshot(
            stage,
            self.position + 1,
            len(self.stages),
            rows,
            rows,
            schema_fields(df),
            tuple(df.columns),
            (),
            {},
            effects=tuple(plugin.effects(stage, self.workspace.ctx.project_root)),
            staged=self.write,
            tags=self._tags_of(stage.name),
        )

    def _rows_in(self, stage: StageSpec) -> int | None:
        counts = [self.rows_out.get(name) for name in stage.inputs]
        return None if not counts or any(c is None for c in counts) else sum(c for c in counts if c is not None)

    def _current_frame(self) -> DataFrame:
        if self.current is None:
            raise UsageError("no stage has run yet", hint="type n to run the first stage")
        return self.frames[self._current_name()]

    def _current_name(self) -> str:
        """The stage whose rows are current (a sink's: its input's)."""
        assert self.current is not None
        return self.current.stage.inputs[0] if self.current.stage.kind == "sink" else self.current.stage.name

    def more(self) -> RowsPage:
        """The next ``limit`` rows of the current stage."""
        df = self._current_frame()
        with self.workspace.redactor.guard():
            rows = first_rows(df, self._masker_for(self._current_name()), self.limit, offset=self.shown)
        page = RowsPage(tuple(df.columns), rows, self.shown)
        self.shown += len(rows)
        return page

    def sql(self, query: str) -> RowsPage:
        """Run a read-only query; every stage computed so far is a view named after the stage."""
        spark = self.workspace.ctx.spark
        from pyspark.errors import AnalysisException, ParseException

        with self.workspace.redactor.guard():
            _require_query(spark, query)
            try:
                df = spark.sql(query)
            except (AnalysisException, ParseException) as exc:
                raise UsageError(
                    f"the query failed: {first_line(exc)}", hint="'sql SHOW VIEWS' lists the tables"
                ) from None
            return RowsPage(tuple(df.columns), first_rows(df, self.masker, self.limit))

    def save(self, path: Path | None = None) -> tuple[Path, Path]:
        """Write the rows shown so far as JSON lines plus Spark's schema JSON; sensitive columns masked."""
        if self.current is None:
            raise UsageError("no stage has run yet", hint="type n to run the first stage")
        stage = self.current.stage
        spec = self.workspace.plan.pipeline
        # the pipeline's own tests/fixtures/: a test file beside it reads it as ``file: fixtures/<stage>.jsonl``
        target = path or spec.file.parent / "tests" / "fixtures" / f"{stage.name}.jsonl"
        target = target if target.suffix else target.with_suffix(".jsonl")
        df = self._masked_for_fixture(self._current_frame()).limit(max(self.shown, self.limit))
        with self.workspace.redactor.guard():
            lines = [self.workspace.redactor.mask(line) for line in df.toJSON().collect()]
        schema_file = target.with_name(target.stem + ".schema.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        schema_file.write_text(json.dumps(df.schema.jsonValue(), indent=2) + "\n", encoding="utf-8")
        return target, schema_file

    def _masked_for_fixture(self, df: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F

        replaced: dict[str, Any] = {}
        masker = self._masker_for(self._current_name())
        for column, kind in df.dtypes:
            if masker.is_sensitive(column):
                value = F.lit(MASK) if kind == "string" else F.lit(None).cast(kind)
                replaced[column] = F.when(F.col(quote(column)).isNotNull(), value)
        return df.withColumns(replaced) if replaced else df

    def finish(self) -> list[StageResult]:
        """Publish every staged sink (``write``); returns one result per sink written."""
        results = []
        if self.pending:
            self.guards.stage_dead_letters()
        for item in self.pending:
            try:
                item.write.commit()
            except Exception as exc:
                raise RunError(f"{item.stage.label}: publishing failed: {exc}", location=item.stage.location) from exc
            status = "ok" if item.write.rows is not None else "skipped"
            stage = item.stage
            results.append(StageResult(stage.name, stage.kind, stage.type, status, item.write.rows, item.write.rows))
        self.pending.clear()
        self.guards.commit_dead_letters()
        return results

    def close(self) -> None:
        """Abort staged writes that were not published and release cached data."""
        for item in self.pending:
            item.write.abort()
        self.pending.clear()
        self.guards.abort()
        self.guards.release()
        for df in self.frames.values():
            if not df.isStreaming:
                df.unpersist()


def _require_query(spark: Any, query: str) -> None:
    """Refuse statements that change anything: debug only reads."""
    hint = "debug runs read-only queries: SELECT, WITH, VALUES, TABLE, SHOW, DESCRIBE, EXPLAIN"
    if not _QUERY_START.match(query):
        raise UsageError("only queries can run here", hint=hint)
    try:
        plan = spark._jsparkSession.sessionState().sqlParser().parsePlan(query)
    except Exception:
        return  # Spark reports the syntax error itself when the query runs
    if str(plan.nodeName()).startswith(_WRITES):
        raise UsageError(f"only queries can run here, not {plan.nodeName()}", hint=hint)
