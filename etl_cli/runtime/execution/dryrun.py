"""``dry-run``: Spark analyses every stage of a plan, and nothing is written.

Each source and transform is built as a lazy DataFrame exactly as a run builds it, so
Spark's analyser resolves every column, type and function; sinks only describe their
effects (``Sink.effects``), their ``stage_write`` is never called. Contracts and checks
are applied as in a run, so Spark analyses them too. With a sample, every source is cut
to N rows, each stage is counted on that sample, and the checks are judged on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from etl_cli.diagnostics import Diagnostic, error, has_errors, warning
from etl_cli.errors import ConfigError, EtlError, Location, QualityGateError
from etl_cli.events import Reporter, StageResult
from etl_cli.model.input_paths import INPUT_NOT_FOUND
from etl_cli.model.pipeline import option_location, stage_path
from etl_cli.plugins.api import Effect, Sink, Source, StageSpec, resolve_path
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_types import first_line, quote
from etl_cli.runtime.bookkeeping.progress import watch_spark_progress
from etl_cli.runtime.execution.coercions import silent_casts
from etl_cli.runtime.execution.decimal_scale import wider_decimals
from etl_cli.runtime.execution.describe import SchemaField, cell_text, schema_fields
from etl_cli.runtime.execution.executor import Executor
from etl_cli.runtime.execution.spark_errors import explain, missing_input_hint
from etl_cli.runtime.execution.sql_positions import expression_location
from etl_cli.runtime.execution.workspace import Workspace
from etl_cli.runtime.safeguards.guards import RunExtras
from etl_cli.runtime.safeguards.quality.contracts import ContractViolation
from etl_cli.runtime.spark.connect import jvm_of

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: partition values listed per effect at most (the count says how many more the sample touches)
MAX_PARTITIONS = 20
#: option keys that say what a source reads, in the order they are shown
READ_KEYS = ("path", "url", "table", "dbtable", "query", "topic", "topics", "subscribe", "subscribePattern", "bucket")
_SPARK_NOISE = re.compile(r"\s*SQLSTATE: \w+;?|;?\s*line \d+ pos \d+;?")
#: diagnostics that mean the pipeline is wrong (exit 1); any other means the dry-run could not finish (exit 4)
CONFIG_CODES = frozenset(
    {"spark-analysis", "invalid-stage", "join-key-types", "non-numeric-aggregate", INPUT_NOT_FOUND}
)


@dataclass
class StageAnalysis:
    """What Spark found about one stage."""

    stage: StageSpec
    index: int
    status: str = "ok"
    reads: tuple[str, ...] = ()
    schema: tuple[SchemaField, ...] = ()
    schema_origin: str | None = None
    rows: int | None = None
    streaming: bool = False
    plan: str | None = None
    note: str | None = None
    #: the checks on this stage: ``name (type, action)``
    checks: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.stage.name,
            "kind": self.stage.kind,
            "type": self.stage.type,
            "location": str(self.stage.location) if self.stage.location else None,
            "status": self.status,
            "inputs": list(self.stage.inputs),
            "reads": list(self.reads),
            "schema": [f.to_json() for f in self.schema],
            "schema_origin": self.schema_origin,
            "rows": self.rows,
            "streaming": self.streaming,
            "plan": self.plan,
            "note": self.note,
            "checks": list(self.checks),
        }


@dataclass(frozen=True)
class EffectReport:
    """One effect a run would have, with the partitions it touches when a sample showed them."""

    effect: Effect
    partitions: tuple[str, ...] | None = None
    partitions_total: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.effect.stage,
            "action": self.effect.action,
            "target": self.effect.target,
            "mode": self.effect.mode,
            "details": dict(self.effect.details),
            "partitions": list(self.partitions) if self.partitions is not None else None,
            "partitions_total": self.partitions_total,
        }


@dataclass
class DryRunReport:
    """Everything a dry-run found: per stage, every effect, and every problem."""

    pipeline: str
    env: str | None
    master: str
    spark_version: str
    sample: int | None
    stages: list[StageAnalysis] = field(default_factory=list)
    effects: list[EffectReport] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: with a sample: the quality report of the checks judged on it
    quality: dict[str, Any] | None = None
    #: the tagged columns of each stage: stage → column → its tags and states (``pii, pii:email (masked)``)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No errors (warnings, such as a widened decimal, do not fail a dry-run)."""
        return not has_errors(self.diagnostics)

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        if any(d.code in CONFIG_CODES for d in self.diagnostics):
            return 1
        return 3 if all(d.code == "quality-gate" for d in self.diagnostics) else 4

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "pipeline": self.pipeline,
            "env": self.env,
            "master": self.master,
            "spark_version": self.spark_version,
            "sample": self.sample,
            "ok": self.ok,
            "stages": [s.to_json() for s in self.stages],
            "effects": [e.to_json() for e in self.effects],
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "quality": self.quality,
            "tags": self.tags,
        }


class DryRun:
    """Analyses one plan in one workspace; :meth:`analyse` returns the report."""

    def __init__(self, workspace: Workspace, registry: Registry, reporter: Reporter, sample: int | None, explain: bool):
        self.workspace = workspace
        self.registry = registry
        self.reporter = reporter
        self.sample = sample
        self.explain = explain
        extras = RunExtras(sampled=bool(sample), count_while_writing=False)
        self.executor = Executor(workspace.plan, workspace.ctx, registry, reporter, extras)
        self.guards = self.executor.guards
        self.frames: dict[str, DataFrame] = {}
        spec = workspace.plan.pipeline
        self.report = DryRunReport(spec.name, spec.env, workspace.master, workspace.spark_version, sample)
        self.report.tags = {
            stage: {name: tags.describe() for name, tags in sorted(columns.items())}
            for stage, columns in self.guards.display.tags.stages.items()
            if columns
        }

    def analyse(self) -> DryRunReport:
        """Analyse every stage in order; a stage reading a failed one is skipped, the others go on.

        With a sample, the checks of every analysed stage are judged, whatever failed elsewhere.
        """
        #: stage that was not analysed → the failed stages it depends on (itself, when it failed)
        blocked: dict[str, tuple[str, ...]] = {}
        stages = self.workspace.plan.stages
        with watch_spark_progress(self.workspace.ctx.spark, self.reporter):
            for index, stage in enumerate(stages, start=1):
                self.reporter.stage_started(stage.name, stage.kind, stage.type, index, len(stages))
                analysis = self._analyse(stage, index, blocked)
                self.report.stages.append(analysis)
                result = StageResult(stage.name, stage.kind, stage.type, analysis.status, rows_out=analysis.rows)
                self.reporter.stage_finished(result, index, len(stages))
            if self.sample:
                self._judge_checks()
        self._dead_letter_effects()
        for frame in self.frames.values():
            frame.unpersist()
        self.guards.release()
        return self.report

    def _judge_checks(self) -> None:
        """The checks of every stage on the sample, as the run's quality gate judges them."""
        try:
            self.guards.gate(self.frames)
        except QualityGateError as exc:
            hint = "a run would stop here, before writing (exit 3); on every row, more checks may fail"
            self.report.diagnostics.append(error("quality-gate", f"on the sample, {exc.message}", None, hint))
        if not self.guards.report.empty:
            self.report.quality = self.guards.report.to_json()

    def _dead_letter_effects(self) -> None:
        """Where rejected and quarantined rows would go (the pipeline's ``dead_letter:``), if anywhere."""
        queue = self.workspace.plan.pipeline.dead_letter
        if queue is None or queue.type not in self.registry.types("sink"):
            return
        plugin = self.registry.get("sink", queue.type)()
        assert isinstance(plugin, Sink)
        for effect in plugin.effects(queue.as_sink(), self.workspace.ctx.project_root):
            details = {**effect.details, "when": "rows are malformed, quarantined or rejected"}
            self.report.effects.append(EffectReport(replace(effect, mode="append", details=details)))

    def _analyse(self, stage: StageSpec, index: int, blocked: dict[str, tuple[str, ...]]) -> StageAnalysis:
        analysis = StageAnalysis(stage, index)
        failed = tuple(dict.fromkeys(root for name in stage.inputs for root in blocked.get(name, ())))
        if failed:
            analysis.status, analysis.note = "skipped", not_analysed_note(failed)
            blocked[stage.name] = failed
            return analysis
        try:
            if stage.kind == "sink":
                self._sink(stage, analysis)
            else:
                self._frame(stage, analysis)
        except Exception as exc:
            analysis.status = "failed"
            blocked[stage.name] = (stage.name,)
            self.report.diagnostics.append(self._problem(stage, exc))
        return analysis

    def _frame(self, stage: StageSpec, analysis: StageAnalysis) -> None:
        plugin = self.registry.get(stage.kind, stage.type)
        if issubclass(plugin, Source) and plugin.is_streaming(stage.options):
            df = plugin().read_stream(self.workspace.ctx, stage)  # lazy: nothing is consumed from the stream
        else:
            df = self.executor.compute_stage(stage, self.frames)
        analysis.streaming = bool(df.isStreaming)
        if stage.kind == "source" and self.sample and not analysis.streaming:
            df = df.limit(self.sample).cache()
        if not analysis.streaming:
            df = self.guards.after_compute(stage, df)  # contract and checks: analysed now, judged on a sample
            analysis.checks = tuple(f"{c.name} ({c.type}, {c.action})" for c in self.guards.checks.get(stage.name, ()))
        self.frames[stage.name] = df
        analysis.schema = schema_fields(df)
        if stage.kind == "source":
            analysis.reads = self._reads(stage)
            analysis.schema_origin = "declared" if stage.option("schema") is not None else "inferred"
        else:
            analysis.schema_origin = "derived"
            self._silent_casts(stage, df, analysis)
            self._wider_decimals(stage, df)
        if self.sample and not analysis.streaming:
            analysis.rows = df.count()
        if self.explain:
            analysis.plan = explain_string(df)

    def _silent_casts(self, stage: StageSpec, df: DataFrame, analysis: StageAnalysis) -> None:
        for cast in silent_casts(df, [self.frames[name] for name in stage.inputs]):
            code = "join-key-types" if cast.context == "join" else "non-numeric-aggregate"
            message = self._mask(f"{stage.label}: {cast.message()}")
            self.report.diagnostics.append(error(code, message, stage.location, cast.hint()))
            analysis.status = "failed"

    def _wider_decimals(self, stage: StageSpec, df: DataFrame) -> None:
        for found in wider_decimals(df, [self.frames[name] for name in stage.inputs]):
            message = self._mask(f"{stage.label}: {found.message()}")
            where = self._aggregation_location(stage, found.output)
            hint = found.hint()
            if stage.type == "aggregate":
                hint += f" (aggregations: {{{found.output}: {{expr: ...}}}})"
            self.report.diagnostics.append(warning("decimal-scale", message, where, hint))

    def _aggregation_location(self, stage: StageSpec, output: str) -> Location | None:
        """The line of ``aggregations.<output>`` when the stage has it (an aggregate), else the stage's."""
        spec = self.workspace.plan.pipeline
        same_kind = [s.name for s in spec.stages if s.kind == stage.kind]
        path = (*stage_path(stage.kind, same_kind.index(stage.name)), "aggregations", output)
        return spec.provenance.user_location(path) or stage.location

    def _sink(self, stage: StageSpec, analysis: StageAnalysis) -> None:
        plugin = self.registry.get("sink", stage.type)()
        assert isinstance(plugin, Sink)
        df = self.frames[stage.inputs[0]]
        analysis.schema, analysis.streaming = schema_fields(df), bool(df.isStreaming)
        analysis.rows = next((s.rows for s in self.report.stages if s.stage.name == stage.inputs[0]), None)
        plugin.preflight(self.workspace.ctx, stage)  # a target the sink may not replace: an error, not an effect
        for effect in plugin.effects(stage, self.workspace.ctx.project_root):
            self.report.effects.append(self._effect(stage, effect, df))
        if checkpoint := self._checkpoint(stage):
            self.report.effects.append(EffectReport(checkpoint))
        if registration := self.workspace.plan.pipeline.registrations.get(stage.name):
            self.report.effects.append(EffectReport(registration.effect(self.workspace.ctx.project_root)))
        if self.explain:
            analysis.plan = explain_string(df)

    def _effect(self, stage: StageSpec, effect: Effect, df: DataFrame) -> EffectReport:
        columns = [str(c) for c in effect.details.get("partition_by") or ()]
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ConfigError(
                f"{stage.label}: partition_by names no column '{missing[0]}' of '{stage.inputs[0]}'",
                location=stage.location,
                hint=f"columns: {', '.join(df.columns)}",
            )
        if not columns or not self.sample or df.isStreaming:
            return EffectReport(effect)
        values = df.select(*[quote(c) for c in columns]).distinct().orderBy(*[quote(c) for c in columns]).collect()
        shown = tuple(
            self._mask("/".join(f"{c}={cell_text(v)}" for c, v in zip(columns, row, strict=True)))
            for row in values[:MAX_PARTITIONS]
        )
        return EffectReport(effect, shown, len(values))

    def _checkpoint(self, stage: StageSpec) -> Effect | None:
        """A streaming pipeline's sink keeps its progress in a checkpoint folder: an effect too."""
        settings = self.workspace.plan.pipeline.streaming
        if settings is None:
            return None
        target = resolve_path(settings.checkpoint_for(stage.name), self.workspace.ctx.project_root)
        return Effect(stage.name, "checkpoint", target, "read and update")

    def _reads(self, stage: StageSpec) -> tuple[str, ...]:
        found: list[str] = []
        for key in READ_KEYS:
            value = stage.option(key)
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, str) and item:
                    shown = resolve_path(item, self.workspace.ctx.project_root) if key == "path" else item
                    found.append(self._mask(f"{key}: {shown}" if key != "path" else shown))
        return tuple(found)

    def _problem(self, stage: StageSpec, exc: BaseException) -> Diagnostic:
        from pyspark.errors import AnalysisException

        self.workspace.redactor.scrub_exception(exc)
        analysis = isinstance(exc, AnalysisException) or isinstance(exc.__cause__, AnalysisException)
        if isinstance(exc, EtlError):
            message = exc.message if stage.label in exc.message else f"{stage.label}: {exc.message}"
            code = "spark-analysis" if analysis else ("invalid-stage" if isinstance(exc, ConfigError) else "dry-run")
            code = "contract" if isinstance(exc, ContractViolation) else code
            where = self._expression_location(exc, stage) if analysis else None
            return error(code, tidy(message), where or exc.location or stage.location, exc.hint)
        if analysis:
            return self._analysis_problem(stage, exc)
        return error("dry-run", tidy(f"{stage.label}: {type(exc).__name__}: {first_line(exc)}"), stage.location)

    def _analysis_problem(self, stage: StageSpec, exc: BaseException) -> Diagnostic:
        """What Spark's analyser refused: an input that is not there (at the line that set its path), or a column."""
        message = tidy(f"{stage.label}: {first_line(exc)}")
        spec = self.workspace.plan.pipeline
        missing = missing_input_hint(explain(exc), spec.project)
        if missing is not None:
            return error(INPUT_NOT_FOUND, message, option_location(spec, stage, "path") or stage.location, missing)
        hint = "check the columns and types of the stage's inputs (shown above)"
        return error("spark-analysis", message, self._expression_location(exc, stage) or stage.location, hint)

    def _expression_location(self, exc: BaseException, stage: StageSpec) -> Location | None:
        """The place in the YAML of the expression Spark's analyser refused (None: Spark did not say)."""
        return expression_location(exc, stage, self.workspace.plan.pipeline)

    def _mask(self, text: str) -> str:
        return self.workspace.redactor.mask(text)


def not_analysed_note(failed: tuple[str, ...]) -> str:
    """Why a stage was not analysed: the failed stages it depends on (its problems are listed once, at them)."""
    names = ", ".join(f"'{name}'" for name in failed)
    return f"not analysed: it depends on {names}, which failed"


def tidy(message: str) -> str:
    """A Spark message without its SQLSTATE and position trailer."""
    return _SPARK_NOISE.sub("", message).strip()


def explain_string(df: DataFrame) -> str:
    """Spark's physical plan for ``df`` (what ``df.explain()`` prints)."""
    jvm: Any = jvm_of(df.sparkSession)
    if jvm is None:  # Spark Connect: the server explains it
        connect: Any = df
        return str(connect._explain_string(mode="simple")).strip()
    return str(jvm.PythonSQLUtils.explainString(df._jdf.queryExecution(), "simple")).strip()
