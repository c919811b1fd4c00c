"""Retries and the circuit breaker wired into a run: sources and sinks that fail like a server going away.

The flaky plug-ins live in a registry of this module only, so the published schema never sees them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pyspark.sql import DataFrame, SparkSession

from etl_cli import app
from etl_cli.config.loader import load_pipeline
from etl_cli.events import Reporter
from etl_cli.model.check import check_pipeline
from etl_cli.plan.dag import compile_plan
from etl_cli.plugins.api import PLUGIN_KINDS, PendingWrite, RunContext, Sink, StageSpec
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sources.files import CsvSource
from etl_cli.runtime.execution.executor import Executor, StageFailed
from tests.support import RecordingReporter
from tests.unit.helpers import make_project

CALLS: Counter[str] = Counter()


class Done(PendingWrite):
    def __init__(self, rows: int):
        self.rows = rows

    def commit(self) -> None:
        CALLS["commit"] += 1

    def abort(self) -> None:
        CALLS["abort"] += 1


class FlakySink(Sink):
    """Refuses the connection ``failures`` times, then takes the rows."""

    type = "flaky"
    options_schema: ClassVar[dict[str, Any]] = {"url": {"type": "string"}, "failures": {"type": "integer"}}

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        CALLS[stage.name] += 1
        if CALLS[stage.name] <= stage.options["failures"]:
            raise ConnectionRefusedError(111, "Connection refused")
        return Done(df.count())


class RefusedAtCommit(PendingWrite):
    def __init__(self, rows: int):
        self.rows = rows

    def commit(self) -> None:
        raise PermissionError(13, "Permission denied", "/srv/out")

    def abort(self) -> None:
        CALLS["abort"] += 1


class CommitFailsSink(Sink):
    """Stages its rows, then fails to publish them."""

    type = "commit_fails"
    options_schema: ClassVar[dict[str, Any]] = {}

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        return RefusedAtCommit(df.count())


class FlakyCsv(CsvSource):
    """A csv source whose first listing times out."""

    type = "flaky_csv"

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        CALLS[stage.name] += 1
        if CALLS[stage.name] == 1:
            raise TimeoutError("listing timed out")
        return super().read(ctx, stage)


@pytest.fixture(scope="module")
def registry() -> Registry:
    own = Registry()
    for kind in PLUGIN_KINDS:
        for plugin in app.registry().plugins(kind):
            own.register(plugin)
    own.register(FlakySink)
    own.register(FlakyCsv)
    own.register(CommitFailsSink)
    return own


@pytest.fixture(autouse=True)
def fresh_counts() -> None:
    CALLS.clear()


def run(spark: SparkSession, root: Path, registry: Registry, text: str, reporter: Reporter) -> Executor:
    make_project(root, {"in.csv": "id,amount\n1,2.5\n2,3.5\n", "pipeline.yaml": text})
    spec, diagnostics = check_pipeline(load_pipeline(root / "pipeline.yaml", None, environ={}), registry)
    assert spec is not None, diagnostics
    executor = Executor(compile_plan(spec), RunContext(spark, root, "r1"), registry, reporter)
    executor.run()
    return executor


def pipeline(sinks: str, settings: str = "", source_type: str = "csv") -> str:
    return f"sources:\n  - {{name: src, type: {source_type}, path: in.csv}}\nsinks:\n{sinks}{settings}"


def test_a_sink_refused_twice_is_retried_and_the_run_succeeds(
    spark: SparkSession, tmp_path: Path, registry: Registry
) -> None:
    reporter = RecordingReporter()
    text = pipeline(
        "  - {name: db, type: flaky, input: src, url: 'flaky://db1:5432/x', failures: 2}\n",
        "retry: {attempts: 3, initial_delay: 0, jitter: 0}\n",
    )
    executor = run(spark, tmp_path, registry, text, reporter)
    assert CALLS["db"] == 3 and CALLS["commit"] == 1
    assert [(r.operation, r.attempt) for r in reporter.retries] == [
        ("write sink 'db' (flaky)", 1),
        ("write sink 'db' (flaky)", 2),
    ]
    metrics = executor.guards.summary()["resilience"]["flaky://db1:5432"]
    # three writes and the commit went to the endpoint
    assert (metrics["attempts"], metrics["failures"], metrics["retries"], metrics["state"]) == (4, 2, 2, "closed")


def test_a_source_read_is_retried_too(spark: SparkSession, tmp_path: Path, registry: Registry) -> None:
    reporter = RecordingReporter()
    text = pipeline(
        "  - {name: db, type: flaky, input: src, url: 'flaky://db1', failures: 0}\n",
        "retry: {attempts: 2, initial_delay: 0, jitter: 0}\n",
        source_type="flaky_csv",
    )
    run(spark, tmp_path, registry, text, reporter)
    assert CALLS["src"] == 2
    assert [(r.operation, r.attempt) for r in reporter.retries] == [("read source 'src' (flaky_csv)", 1)]


def test_an_open_circuit_cuts_the_retries_short_and_fails_the_run(
    spark: SparkSession, tmp_path: Path, registry: Registry
) -> None:
    reporter = RecordingReporter()
    text = pipeline(
        "  - {name: db, type: flaky, input: src, url: 'flaky://db1', failures: 99}\n"
        "  - {name: db2, type: flaky, input: src, url: 'flaky://db1', failures: 0}\n",
        "retry: {attempts: 5, initial_delay: 0, jitter: 0}\n"
        "circuit_breaker: {failure_threshold: 2, reset_timeout: 60}\n",
    )
    with pytest.raises(StageFailed) as caught:
        run(spark, tmp_path, registry, text, reporter)
    assert caught.value.exit_code == 4
    assert "circuit for flaky://db1 is open after 2 consecutive failure(s)" in caught.value.message
    assert CALLS["db"] == 2, "the third attempt failed fast instead of calling the server"
    assert CALLS["db2"] == 0 and CALLS["commit"] == 0
    assert [(c.endpoint, c.old, c.new) for c in reporter.changes] == [("flaky://db1", "closed", "open")]


def test_after_the_reset_timeout_a_trial_goes_through_and_closes_the_circuit(
    spark: SparkSession, tmp_path: Path, registry: Registry
) -> None:
    reporter = RecordingReporter()
    text = pipeline(
        "  - {name: db, type: flaky, input: src, url: 'flaky://db1', failures: 2}\n",
        "retry: {attempts: 3, initial_delay: 0.3, jitter: 0}\n"
        "circuit_breaker: {failure_threshold: 2, reset_timeout: 0.2}\n",
    )
    executor = run(spark, tmp_path, registry, text, reporter)
    assert CALLS["db"] == 3
    assert [c.new for c in reporter.changes] == ["open", "half_open", "closed"]
    metrics = executor.guards.summary()["resilience"]["flaky://db1"]
    assert (metrics["circuit_opened"], metrics["circuit_half_opened"], metrics["circuit_closed"]) == (1, 1, 1)


def test_a_permanent_error_is_not_retried(spark: SparkSession, tmp_path: Path, registry: Registry) -> None:
    reporter = RecordingReporter()
    text = pipeline(
        "  - {name: db, type: flaky, input: src, url: 'flaky://db1', failures: 0}\n",
        "retry: {attempts: 5, initial_delay: 0, jitter: 0}\n",
    ).replace("path: in.csv", "path: missing.csv")
    with pytest.raises(StageFailed, match="PATH_NOT_FOUND"):
        run(spark, tmp_path, registry, text, reporter)
    assert reporter.retries == []


def test_a_sink_whose_commit_fails_is_recorded_as_failed_not_as_never_run(
    spark: SparkSession, tmp_path: Path, registry: Registry
) -> None:
    make_project(
        tmp_path,
        {
            "in.csv": "id,amount\n1,2.5\n",
            "pipeline.yaml": pipeline("  - {name: out, type: commit_fails, input: src}\n"),
        },
    )
    spec, diagnostics = check_pipeline(load_pipeline(tmp_path / "pipeline.yaml", None, environ={}), registry)
    assert spec is not None, diagnostics
    reporter = RecordingReporter()
    executor = Executor(compile_plan(spec), RunContext(spark, tmp_path, "r1"), registry, reporter)
    with pytest.raises(StageFailed, match="Permission denied"):
        executor.run()
    statuses = {r.name: r.status for r in executor.partial_results}
    assert statuses == {"src": "ok", "out": "failed"}
    (failed,) = [r for r in executor.partial_results if r.name == "out"]
    assert failed.error is not None and "Permission denied" in str(failed.error)
    assert CALLS["abort"] == 1
