"""Run one pipeline test on a live Spark session: fixtures in place of sources, sinks capture instead of writing.

The plan runs through the executor's own pieces, as ``debug`` does: each transform is built
by :meth:`Executor.compute_stage` and shaped by the run's guards (contracts, checks, quarantine
into the dead letters), so the rows a test sees are the rows a run would pass on. Only the
sources are different (:mod:`etl_cli.testing.fixtures`), and a sink's ``stage_write`` is never
called: the frame it would write is captured and compared.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from etl_cli.config.yaml_loader import display_path
from etl_cli.errors import ConfigError, EtlError
from etl_cli.events import Reporter
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_types import first_line
from etl_cli.runtime.execution.executor import Executor, StageFailed
from etl_cli.runtime.execution.workspace import Workspace
from etl_cli.runtime.safeguards.guards import RunExtras
from etl_cli.runtime.safeguards.quality.report import CheckResult
from etl_cli.testing.compare import RowsDiff, compare_rows, rows_equal, show_row
from etl_cli.testing.fixtures import source_frame
from etl_cli.testing.properties import Inputs, Observation, example_sizes, explore, generate_inputs, violation
from etl_cli.testing.snapshots import read_snapshot, snapshot_path, write_snapshot
from etl_cli.testing.spec import Given, PipelineTest, StageExpect

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

Status = Literal["pass", "fail", "error"]


@dataclass
class TestOutcome:
    """How one test went: ``fail`` an expectation was not met, ``error`` the test could not run as written."""

    __test__ = False  # not a pytest class

    test: PipelineTest
    status: Status = "pass"
    duration_s: float = 0.0
    #: what went wrong, as lines of text (diffs, messages)
    lines: list[str] = field(default_factory=list)
    #: snapshot files written (``--update-snapshots``)
    updated: list[str] = field(default_factory=list)

    def fail(self, *lines: str) -> None:
        if self.status == "pass":
            self.status = "fail"
        self.lines.extend(lines)


@dataclass
class _Run:
    """The frames of one test run, and the first stage that failed."""

    frames: dict[str, DataFrame] = field(default_factory=dict)
    captured: dict[str, DataFrame] = field(default_factory=dict)
    collected: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failure: StageFailed | None = None


class TestRunner:
    """Runs tests of one pipeline in a workspace (its plan compiled with the test's vars, params and env)."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        workspace: Workspace,
        registry: Registry,
        reporter: Reporter,
        scratch: Path,
        update_snapshots: bool = False,
    ):
        self.workspace = workspace
        #: where inline rows are written for Spark to read (removed when the invocation ends)
        self.scratch = scratch
        self.registry = registry
        self.reporter = reporter
        self.update_snapshots = update_snapshots

    def run(self, test: PipelineTest) -> TestOutcome:
        started = time.perf_counter()
        outcome = TestOutcome(test)
        try:
            if test.properties:
                self._judge_properties(test, outcome)
            else:
                self._judge_expectations(test, outcome)
        finally:
            outcome.duration_s = time.perf_counter() - started
        return outcome

    def _executor(self) -> Executor:
        return Executor(
            self.workspace.plan, self.workspace.ctx, self.registry, self.reporter, RunExtras(count_while_writing=False)
        )

    def _judge_expectations(self, test: PipelineTest, outcome: TestOutcome) -> None:
        executor = self._executor()
        run = _Run()
        try:
            self._build(executor, test, run)
            self._judge(executor, test, run, outcome)
        finally:
            executor.guards.release()

    # ----------------------------------------------------------------- property checks

    def _judge_properties(self, test: PipelineTest, outcome: TestOutcome) -> None:
        """Run the pipeline on generated inputs; the first that breaks a property is shrunk and shown."""
        spec = self.workspace.plan.pipeline
        fixed = {g.source: g.rows for g in test.given if g.rows is not None}
        given = {g.source for g in test.given}
        generated = [s.name for s in self.workspace.plan.stages if s.kind == "source" and s.name not in given]
        report = explore(
            test.properties,
            lambda count, seed: generate_inputs(spec, generated, fixed, count, seed),
            lambda inputs: self.observe(test, inputs),
            example_sizes(test.examples, test.max_rows, test.seed),
            test.seed,
        )
        lines = report.lines(test.properties)
        if lines:
            outcome.fail(*lines)

    def observe(self, test: PipelineTest, inputs: Inputs) -> Observation:
        """One run on ``inputs`` (rows per generated source; the test's own given rows for the others).

        Only the stages the properties read are computed, and the pipeline's checks only when a property
        fails (each example is a Spark run: few jobs keep it quick). An input that fails a check would stop
        a run at the quality gate, so its output is not held against the properties.
        """
        extra = tuple(Given(source, rows=tuple(rows), location=test.location) for source, rows in inputs.items())
        example = replace(test, given=(*test.given, *extra))
        executor = self._executor()
        run = _Run()
        try:
            self._build(executor, example, run)
            wanted = {name for prop in test.properties for name in prop.stages}
            needed = [s for s in self.workspace.plan.stages if s.name in wanted]
            if run.failure is None:
                self._collect_stages(run, needed)
            if run.failure is not None:
                return Observation(failure=(run.failure.stage.name, str(run.failure)))
            rows = {name: run.collected[name] for name in wanted}
            if all(violation(prop, rows) is None for prop in test.properties):
                return Observation(rows)
            failed = [r.name for r in self._check_results(executor, run).values() if r.outcome == "failed"]
            return Observation(rows, rejected=tuple(failed))
        finally:
            executor.guards.release()

    # ----------------------------------------------------------------- building the frames

    def _build(self, executor: Executor, test: PipelineTest, run: _Run) -> None:
        """Each stage's lazy frame, as a run builds it; a stage that fails to build is the run's failure."""
        for stage in self.workspace.plan.stages:
            if stage.kind == "sink":
                run.captured[stage.name] = run.frames[stage.inputs[0]]
                continue
            built = self._given_frame(stage, test) if stage.kind == "source" else None
            try:
                if built is None:
                    built = executor.compute_stage(stage, run.frames)
                run.frames[stage.name] = executor.guards.after_compute(stage, built)
            except Exception as exc:
                run.failure = StageFailed(stage, exc, self.workspace.plan)
                return

    def _given_frame(self, stage: StageSpec, test: PipelineTest) -> DataFrame:
        """The test's rows for a source; a problem with them means the test cannot run as written (ConfigError)."""
        given = next((g for g in test.given if g.source == stage.name), None)
        pipeline = self.workspace.plan.pipeline
        try:
            return source_frame(self.workspace.session, pipeline, stage, given, self.scratch, test.given)
        except EtlError:
            raise
        except Exception as exc:
            where = given.location if given is not None else test.location
            raise ConfigError(
                f"the rows given for source '{stage.name}' cannot be read: {first_line(exc)}", location=where
            ) from exc

    def _rows(self, run: _Run, stage: StageSpec) -> list[dict[str, Any]]:
        """The collected rows of ``stage`` (a sink: of the frame it would write); a failure is the stage's."""
        if stage.name not in run.collected:
            df = run.captured[stage.name] if stage.kind == "sink" else run.frames[stage.name]
            try:
                run.collected[stage.name] = [row.asDict(recursive=True) for row in df.collect()]
            except Exception as exc:
                run.failure = StageFailed(stage, exc, self.workspace.plan)
                raise
        return run.collected[stage.name]

    def _collect(self, test: PipelineTest, run: _Run) -> None:
        """Collect what the test compares and every sink's rows (what a run would write), in plan order.

        A failure is then put on its own stage: the first stage, in order, whose rows fail to compute
        (Spark only meets most errors when rows flow, often in a later stage's job).
        """
        wanted = {e.stage for e in test.stages}
        needed = [s for s in self.workspace.plan.stages if s.kind == "sink" or s.name in wanted]
        if test.error is not None:
            needed = list(self.workspace.plan.stages)
        self._collect_stages(run, needed)

    def _collect_stages(self, run: _Run, needed: Sequence[StageSpec]) -> None:
        for stage in needed:
            if run.failure is not None:
                return
            try:
                self._rows(run, stage)
            except Exception:
                self._locate(run)
                return

    def _locate(self, run: _Run) -> None:
        for stage in self.workspace.plan.stages:
            try:
                self._rows(run, stage)
            except Exception:
                return

    # ----------------------------------------------------------------- judging

    def _judge(self, executor: Executor, test: PipelineTest, run: _Run, outcome: TestOutcome) -> None:
        if run.failure is None:
            self._collect(test, run)
        if run.failure is not None or test.error is not None:
            self._judge_error(test, run, outcome)
            return
        for expect in test.stages:
            self._judge_stage(expect, run, outcome)
        self._judge_checks(executor, test, run, outcome)
        if test.dead_letters is not None:
            self._judge_dead_letters(executor, test, outcome)

    def _judge_error(self, test: PipelineTest, run: _Run, outcome: TestOutcome) -> None:
        failure = run.failure
        wanted = test.error
        if wanted is None:
            assert failure is not None
            outcome.status = "error"
            outcome.lines.append(str(failure))
            return
        if failure is None:
            outcome.fail(f"expected {wanted.stage} to fail, but the pipeline ran through")
        elif failure.stage.name != wanted.stage:
            outcome.fail(f"expected {wanted.stage} to fail, but {failure.stage.name} failed: {failure.detail}")
        elif wanted.contains is not None and wanted.contains.lower() not in str(failure).lower():
            outcome.fail(f"{wanted.stage} failed, but its error does not contain {wanted.contains!r}: {failure.detail}")

    def _judge_stage(self, expect: StageExpect, run: _Run, outcome: TestOutcome) -> None:
        stage = self.workspace.plan.stage(expect.stage)
        actual = self._rows(run, stage)
        if expect.count is not None and expect.count != len(actual):
            outcome.fail(f"{expect.stage}: expected {expect.count} row(s), got {len(actual)}")
        if expect.rows is not None:
            self._report(outcome, self._compare(expect, expect.rows, actual))
        if expect.snapshot:
            self._judge_snapshot(expect, actual, run, outcome)

    def _compare(self, expect: StageExpect, expected: Any, actual: list[dict[str, Any]]) -> RowsDiff:
        return compare_rows(
            expect.stage,
            expected,
            actual,
            columns=expect.columns,
            keys=expect.keys,
            subset=expect.subset,
            ordered=expect.ordered,
            tolerance=expect.tolerance,
        )

    @staticmethod
    def _report(outcome: TestOutcome, diff: RowsDiff) -> None:
        if not diff.ok:
            outcome.fail(*diff.lines())

    def _judge_snapshot(
        self, expect: StageExpect, actual: list[dict[str, Any]], run: _Run, outcome: TestOutcome
    ) -> None:
        path = snapshot_path(outcome.test, expect.stage)
        stage = self.workspace.plan.stage(expect.stage)
        frame = run.captured[stage.name] if stage.kind == "sink" else run.frames[stage.name]
        columns = list(expect.columns) if expect.columns is not None else list(frame.columns)
        if self.update_snapshots:
            write_snapshot(path, columns, actual)
            outcome.updated.append(display_path(path))
            return
        stored = read_snapshot(path)
        if stored is None:
            outcome.fail(
                f"{expect.stage}: no snapshot at {display_path(path)}; run etl-cli test --update-snapshots to write it"
            )
            return
        diff = compare_rows(expect.stage, stored, actual, columns=columns, keys=expect.keys, tolerance=expect.tolerance)
        if not diff.ok:
            outcome.fail(
                *diff.lines(),
                f"  (snapshot {display_path(path)}: if the change is intended, run etl-cli test --update-snapshots)",
            )

    def _judge_checks(self, executor: Executor, test: PipelineTest, run: _Run, outcome: TestOutcome) -> None:
        """Every check of the pipeline is judged; a failed one the test does not expect fails the test."""
        results = self._check_results(executor, run)
        for name, wanted in test.checks.items():
            got = results.get(name)
            if got is None:
                outcome.fail(f"check {name}: expected {wanted}, but it was not judged")
            elif got.outcome != wanted:
                outcome.fail(f"check {name}: expected {wanted}, got {got.outcome} ({got.summary})")
        for name, result in results.items():
            if result.outcome == "failed" and name not in test.checks:
                outcome.fail(
                    f"check {name} failed ({result.summary}): a run would stop at the quality gate",
                    f"  (expect it with expect.checks.{name}: failed, or fix the rows)",
                )

    @staticmethod
    def _check_results(executor: Executor, run: _Run) -> dict[str, CheckResult]:
        results: dict[str, CheckResult] = {}
        for checked in list(executor.guards.checked):
            for result in executor.guards.evaluate_stage(checked.stage.name, run.frames):
                results[result.name] = result
        return results

    def _judge_dead_letters(self, executor: Executor, test: PipelineTest, outcome: TestOutcome) -> None:
        wanted = test.dead_letters
        assert wanted is not None
        queue = executor.guards.dead_letters
        letters = queue.letters(self.workspace.ctx) if queue is not None else None
        found = [] if letters is None else [_letter(r.asDict()) for r in letters.collect()]
        if wanted.count is not None and wanted.count != len(found):
            outcome.fail(f"dead letters: expected {wanted.count}, got {len(found)}")
        for row in wanted.rows or ():
            if not any(rows_equal(row, letter) for letter in found):
                outcome.fail(f"dead letters: none is {show_row(row)}", *(f"  have {show_row(x)}" for x in found[:5]))


def _letter(row: Mapping[str, Any]) -> dict[str, Any]:
    """A dead letter as a test states it: its stage, kind, check, reason, and the row as a mapping."""
    found = {k: row[k] for k in ("stage", "kind", "check", "reason")}
    found["row"] = json.loads(row["row"]) if row.get("row") else None
    return found
