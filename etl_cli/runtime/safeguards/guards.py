"""What guards a batch run's stages: retries and circuit breakers, schema contracts, checks, dead letters.

The executor calls these hooks and knows nothing else about them:

- :meth:`StageGuards.read`, :meth:`~StageGuards.write`, :meth:`~StageGuards.commit` wrap the
  external operations in retries and the endpoint's circuit breaker;
- :meth:`~StageGuards.after_compute` shapes each source and transform as soon as its
  DataFrame is built (lazily): malformed records split off, contract enforced, rows failing
  drop/quarantine checks filtered out, so downstream stages only see what passed;
- :meth:`~StageGuards.gate` runs before the first sink: one Spark job per checked stage,
  the quality report, and QualityGateError (exit 3) if a check with severity error breached;
- :meth:`~StageGuards.stage_dead_letters` / :meth:`~StageGuards.commit_dead_letters` write
  the dead-letter queue with the sinks, and :meth:`~StageGuards.abort` drops it with them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from etl_cli.errors import EtlError, RunError
from etl_cli.events import Reporter
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import PendingWrite, RunContext, StageSpec
from etl_cli.plugins.checks import CheckSpec, ContractSpec
from etl_cli.plugins.quality.base import Check
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sources.malformed import CORRUPT_COLUMN
from etl_cli.runtime.execution.signals import RunSignals
from etl_cli.runtime.safeguards.dead_letters import DeadLetterQueue, split_malformed
from etl_cli.runtime.safeguards.masking import display_mask
from etl_cli.runtime.safeguards.quality import contracts
from etl_cli.runtime.safeguards.quality.evaluate import CheckedStage
from etl_cli.runtime.safeguards.quality.report import CheckResult, QualityReport
from etl_cli.runtime.safeguards.resilience import Resilience, endpoint_of, first_line

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: replaces a stage's DataFrame (``dlq replay``): given the run and the stage's own frame, returns the rows to use
#: dataset-level check types whose verdict on a sample says nothing about the whole data
NEEDS_EVERY_ROW = frozenset({"row_count", "freshness", "relationships"})
Replacement = Callable[[RunContext, "DataFrame"], "DataFrame"]


@dataclass(frozen=True)
class RunExtras:
    """How a run differs from a plain ``etl-cli run`` (``dlq replay`` sets these)."""

    replace: Mapping[str, Replacement] = field(default_factory=dict)
    #: the stages whose checks run and whose dead letters are kept (None: all)
    scope: frozenset[str] | None = None
    skip_dataset_checks: bool = False
    #: sources were cut to a sample (``dry-run --sample``, ``debug --sample``): dataset-level checks that
    #: need every row (row_count, freshness, relationships) are reported as skipped
    sampled: bool = False
    #: checks that cannot stop the run (row-level, severity warn, no quarantine) are counted while the
    #: sinks write instead of in a pass of their own; dry-run and debug judge them before (False)
    count_while_writing: bool = True
    #: recorded in the run results as ``replay``
    info: Mapping[str, Any] = field(default_factory=dict)


class StageGuards:
    """The guards of one run of one plan."""

    def __init__(
        self,
        plan: Plan,
        ctx: RunContext,
        registry: Registry,
        reporter: Reporter,
        extras: RunExtras | None = None,
        signals: RunSignals | None = None,
    ):
        spec = plan.pipeline
        # after SIGINT/SIGTERM a retry back-off ends at once and nothing is tried again
        signals = signals or RunSignals()
        self.plan = plan
        self.ctx = ctx
        self.registry = registry
        self.reporter = reporter
        self.extras = extras or RunExtras()
        self.resilience = Resilience(
            spec.retry,
            spec.circuit_breaker,
            reporter,
            sleep=signals.sleep,
            classifier=signals.classify,
        )
        names = {s.name for s in plan.stages}
        self.checks: dict[str, list[CheckSpec]] = {}
        for check in spec.checks:
            if check.stage in names and self._in_scope(check.stage):
                self.checks.setdefault(check.stage, []).append(check)
        self.dead_letters = (
            DeadLetterQueue(spec.dead_letter, registry, spec.name, spec.env) if spec.dead_letter is not None else None
        )
        self.report = QualityReport(ctx.run_id, spec.name)
        # as for debug: sensitive columns (any stage's) and the stage's unprotected tagged columns are masked
        self.display = display_mask(spec, registry)
        self.checked: list[CheckedStage] = []
        self._persisted: list[DataFrame] = []
        self._dead_letters_committed = False

    # ----------------------------------------------------------------- external operations

    def read(self, stage: StageSpec, read: Callable[[], DataFrame]) -> DataFrame:
        """Build a source's DataFrame (listing files, connecting, inferring a schema) with retries."""
        if stage.kind != "source":
            return read()
        return self._call(stage, f"read {stage.label}", read)

    def write(self, stage: StageSpec, write: Callable[[], PendingWrite]) -> PendingWrite:
        """Stage a sink's output with retries; rows it rejected join the dead letters."""
        pending = self._call(stage, f"write {stage.label}", write)
        rejected = pending.rejected
        if rejected is not None and self.dead_letters is not None and self._in_scope(stage.inputs[0]):
            self.dead_letters.add(stage.name, "rejected", rejected.select("reason", _null("check"), "row"))
        return pending

    def commit(self, stage: StageSpec, commit: Callable[[], None]) -> None:
        self._call(stage, f"commit {stage.label}", commit)

    def _call(self, stage: StageSpec, operation: str, fn: Callable[[], Any]) -> Any:
        plugin = self.registry.get(stage.kind, stage.type)
        policy = self.plan.pipeline.retry_for(stage)
        return self.resilience.call(fn, operation=operation, endpoint=endpoint_of(stage, plugin), policy=policy)

    # ----------------------------------------------------------------- stage data

    def after_compute(self, stage: StageSpec, df: DataFrame) -> DataFrame:
        """The stage's frame as later stages must see it (everything lazy: no Spark job here)."""
        replaced = stage.name in self.extras.replace
        if replaced:
            df = self.extras.replace[stage.name](self.ctx, _without_corrupt(df))
        if (replaced or stage.option("on_malformed") == "dead_letter") and CORRUPT_COLUMN in df.columns:
            df = self._split_malformed(stage, df)
        contract = self.contract_for(stage)
        if contract is not None:
            df, note = contracts.enforce(contract, stage, df)
            self.report.contracts.append(note)
            if note.get("new_columns"):
                self.reporter.message(
                    "warning",
                    f"{stage.label} has new columns its contract allows (policy evolve): "
                    + ", ".join(note["new_columns"]),
                )
        checks = list(self.checks.get(stage.name, ()))
        if contract is not None and self._in_scope(stage.name) and (implicit := contracts.not_null_check(contract)):
            checks.append(implicit)
        if checks:
            df = self._checked(stage, checks, df)
        return df

    def may_change_rows(self, stage: StageSpec) -> bool:
        """Whether :meth:`after_compute` may replace or drop rows of ``stage`` (keep in step with it)."""
        return (
            stage.name in self.extras.replace
            or stage.option("on_malformed") == "dead_letter"
            or self.contract_for(stage) is not None
            or bool(self.checks.get(stage.name))
        )

    def _split_malformed(self, stage: StageSpec, df: DataFrame) -> DataFrame:
        from pyspark import StorageLevel

        # Both halves must come from one parse: CSV column pruning would otherwise let a row that is
        # malformed in a column the sinks do not read count as parsed on one side only.
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        self._persisted.append(df)
        parsed, malformed = split_malformed(df)
        if self.dead_letters is not None and self._in_scope(stage.name):
            self.dead_letters.add(stage.name, "malformed", malformed)
        return parsed

    def contract_for(self, stage: StageSpec) -> ContractSpec | None:
        return None if stage.kind == "sink" else self.plan.pipeline.contract(stage.name)

    def _checked(self, stage: StageSpec, checks: list[CheckSpec], df: DataFrame) -> DataFrame:
        plugins = []
        for check in checks:
            plugin = self.registry.get("check", check.type)()
            assert isinstance(plugin, Check)
            plugins.append((check, plugin))
        checked = CheckedStage(stage, plugins, self.display.columns(stage.name))
        output = checked.build(df, self.extras.count_while_writing and checked.can_count_while_writing())
        if checked.persisted and checked.flagged is not None:
            self._persisted.append(checked.flagged)
        quarantined = checked.quarantined()
        if quarantined is not None and self.dead_letters is not None:
            self.dead_letters.add(stage.name, "quarantined", quarantined)
        self.checked.append(checked)
        return output

    # ----------------------------------------------------------------- the gate

    def gate(self, frames: Mapping[str, DataFrame]) -> None:
        """Evaluate every checked stage that can stop the run (one Spark job each), and stop it if a gate failed.

        Stages whose checks are counted while the sinks write are judged by :meth:`judge_written`,
        after the sinks committed; the report is shown once every check has a verdict.
        """
        if not self.checked:
            if self.report.contracts:
                self.reporter.quality_report(self.report.to_json())
            return
        for checked in self.checked:
            if checked.observation is None:
                self._evaluate(checked, frames)
        if self.report.failures:
            self._skip_written("not evaluated: the run stopped before the sinks wrote")
            self.reporter.quality_report(self.report.to_json())
            self.report.raise_if_failed()
        if not self._written_pending():
            self.reporter.quality_report(self.report.to_json())

    def judge_written(self) -> None:
        """After the sinks committed: the verdicts of the checks counted while they wrote, and the report."""
        if not self._written_pending():
            return
        for checked in self.checked:
            if checked.observation is not None and not checked.judged:
                results, stage_quality = checked.evaluate_written()
                self.report.checks += results
                self.report.stages.append(stage_quality)
                checked.judged = True
        self.reporter.quality_report(self.report.to_json())

    def _written_pending(self) -> bool:
        return any(c.observation is not None and not c.judged for c in self.checked)

    def _skip_written(self, note: str) -> None:
        for checked in self.checked:
            if checked.observation is not None and not checked.judged:
                self.report.checks += checked.skipped(note)
                checked.judged = True

    def evaluate_stage(self, stage: str, frames: Mapping[str, DataFrame]) -> list[CheckResult]:
        """Judge the checks of one stage now (``debug`` steps one stage at a time); nothing is raised."""
        found: list[CheckResult] = []
        for checked in self.checked:
            if checked.stage.name == stage:
                found += self._evaluate(checked, frames)
        return found

    def _evaluate(self, checked: CheckedStage, frames: Mapping[str, DataFrame]) -> list[CheckResult]:
        def skip(check: CheckSpec) -> str | None:
            if self.extras.skip_dataset_checks:
                return "dataset-level checks are not evaluated on replayed rows"
            if self.extras.sampled and check.type in NEEDS_EVERY_ROW:
                return "not judged on a sample: it needs every row"
            target = check.option("to")
            if target is not None and target not in frames:
                return f"not judged yet: stage '{target}' has not been computed"
            return None

        results, stage_quality = checked.evaluate(frames, skip)
        self.report.checks += results
        self.report.stages.append(stage_quality)
        return results

    # ----------------------------------------------------------------- the dead-letter queue

    def stage_dead_letters(self) -> None:
        """Stage the dead letters after every sink has staged its rows (nothing is visible yet)."""
        queue = self.dead_letters
        if queue is None or not queue.parts:
            return
        sink = queue.sink_stage()
        try:
            self._call(sink, "write the dead-letter queue", lambda: queue.stage_write(self.ctx))
        except EtlError as exc:
            raise RunError(f"writing the dead-letter queue {queue.spec.target} failed: {exc.message}") from exc
        except Exception as exc:
            raise RunError(f"writing the dead-letter queue {queue.spec.target} failed: {first_line(exc)}") from exc

    def commit_dead_letters(self) -> None:
        queue = self.dead_letters
        if queue is None or queue.write is None:
            return
        write = queue.write
        self._call(queue.sink_stage(), "commit the dead-letter queue", write.commit)
        self._dead_letters_committed = True
        rows = sum(n for kinds in queue.counts.values() for n in kinds.values())
        if rows:
            self.reporter.message("warning", f"{rows:,} row(s) written to the dead-letter queue {queue.spec.target}")

    def abort(self) -> None:
        if self.dead_letters is not None and self.dead_letters.write is not None and not self._dead_letters_committed:
            self.dead_letters.write.abort()

    def release(self) -> None:
        """Free what this run persisted (the session may outlive the run: tests, debug)."""
        for df in self._persisted:
            df.unpersist()
        self._persisted.clear()

    # ----------------------------------------------------------------- results

    def summary(self) -> dict[str, Any]:
        """``quality``, ``dead_letters``, ``resilience`` (and ``replay``) for the run results."""
        self._skip_written("not evaluated: the run stopped before the sinks committed")
        found: dict[str, Any] = {
            "quality": None if self.report.empty else self.report.to_json(),
            "dead_letters": None,
            "resilience": self.resilience.metrics() or None,
        }
        if self.dead_letters is not None:
            found["dead_letters"] = self.dead_letters.summary(self._dead_letters_committed)
        if self.extras.info:
            found["replay"] = dict(self.extras.info)
        return found

    def _in_scope(self, stage: str) -> bool:
        return self.extras.scope is None or stage in self.extras.scope


def _without_corrupt(df: DataFrame) -> DataFrame:
    return df.drop(CORRUPT_COLUMN) if CORRUPT_COLUMN in df.columns else df


def _null(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.lit(None).cast("string").alias(name)
