"""A whole run: lock, Spark session, execution, run results, exit code."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from etl_cli.config.project import load_project
from etl_cli.errors import EtlError, ExitCode, RunError, RunInterrupted
from etl_cli.events import Reporter
from etl_cli.model.metrics import metrics_of
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import Plan, compile_plan
from etl_cli.plugins.api import RunContext
from etl_cli.plugins.registry import Registry
from etl_cli.runtime.dlq import dead_letter_packages
from etl_cli.runtime.executor import Executor, StageFailed
from etl_cli.runtime.guards import RunExtras
from etl_cli.runtime.lock import run_lock
from etl_cli.runtime.metrics import StreamingPusher, export_run_metrics
from etl_cli.runtime.progress import watch_spark_progress
from etl_cli.runtime.quality.report import write_quality
from etl_cli.runtime.recover import journal_folder, recover_before_run
from etl_cli.runtime.results import RunResults, write_results
from etl_cli.runtime.results import results_dir as default_results_dir
from etl_cli.runtime.session import DEFAULT_MASTER, build_session
from etl_cli.runtime.signals import RunSignals
from etl_cli.runtime.state import RunState, state_folder
from etl_cli.runtime.streaming import StreamingExecutor
from etl_cli.secrets.resolver import SecretResolver

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def execute_run(
    spec: PipelineSpec,
    registry: Registry,
    reporter: Reporter,
    run_id: str,
    master: str | None = None,
    verbose: bool = False,
    results_dir: Path | None = None,
    full_refresh: bool = False,
    plan: Plan | None = None,
    extras: RunExtras | None = None,
    session: SparkSession | None = None,
) -> tuple[ExitCode, Path]:
    """Run ``spec`` once (or ``plan``, a part of it). Errors are recorded in the run results, then re-raised.

    ``session``: run on this already started Spark session, as it is configured, instead of
    starting one (benchmarks and notebooks keep one warm session across runs).
    """
    plan = plan or compile_plan(spec)
    state_dir = spec.state_dir
    folder = results_dir or default_results_dir(state_dir, spec.name, spec.env)
    chosen_master = master or spec.spark.master or DEFAULT_MASTER
    results = RunResults(run_id, spec.name, spec.env, str(spec.file), started_at=_now(), master=chosen_master)
    started = time.perf_counter()
    reporter.run_started(run_id, spec.name, spec.env, len(plan.stages))
    secrets = SecretResolver.for_project(load_project(spec.project_root), spec.env, pipeline=spec.name, run_id=run_id)
    secrets.redactor.install()
    exporter = metrics_of(spec.document, spec.provenance, spec.project_root)
    signals = RunSignals()
    with run_lock(state_dir, spec.name, spec.env, run_id), secrets.redactor.guard(), signals:
        try:
            if session is None:
                reporter.session_starting(chosen_master)
                session = build_session(
                    app_name=spec.spark.app_name or f"etl-cli:{spec.name}",
                    master=chosen_master,
                    conf=secrets.resolve_value(dict(spec.spark.conf)),
                    packages=spec.spark.packages + _plugin_packages(plan, registry),
                    jars=spec.spark.jars,
                    verbose=verbose,
                    jvm_log=state_dir / "logs" / f"{run_id}.jvm.log",
                    streaming=spec.streaming is not None,
                )
            else:
                results.master = session.sparkContext.master
            if spec.streaming is None:  # a streaming run stops its queries on signals itself
                signals.attach(session.sparkContext.cancelAllJobs)
            results.spark_version = session.version
            state = RunState(state_folder(state_dir, spec.name, spec.env), run_id, full_refresh=full_refresh)
            ctx = RunContext(
                spark=session,
                project_root=spec.project_root,
                run_id=run_id,
                resolve=secrets.resolve_value,
                state=state,
                rotation=secrets.with_rotation,
                env=spec.env,
                journal_dir=journal_folder(state_dir, spec.name, spec.env),
                pipeline=spec.name,
            )
            recover_before_run(spec, registry, ctx, reporter)  # what killed runs left, before anything writes
            executor: Executor | StreamingExecutor = (
                StreamingExecutor(plan, ctx, registry, reporter, spec.streaming)
                if spec.streaming is not None
                else Executor(plan, ctx, registry, reporter, extras, signals)
            )
            pusher = (
                StreamingPusher(exporter, registry, lambda: results, session, reporter, secrets.resolve_value)
                if exporter is not None and spec.streaming is not None
                else nullcontext()
            )
            try:
                with watch_spark_progress(session, reporter), pusher:
                    results.stages = executor.run()
            except BaseException:
                results.stages = getattr(executor, "partial_results", [])
                raise
            finally:
                if isinstance(executor, Executor):
                    _record_guards(results, executor)
                else:
                    streamed = executor.summary()
                    results.quality, results.dead_letters = streamed["quality"], streamed["dead_letters"]
                    if results.quality is not None:
                        reporter.quality_report(results.quality)
            state.commit()  # only now: every sink has committed
            results.status, results.exit_code = "success", int(ExitCode.OK)
        except BaseException as exc:
            stop = _interruption(exc, signals)
            if stop is None:
                message = _record_failure(results, exc, secrets.redactor.mask)
                if isinstance(exc, EtlError) or not isinstance(exc, Exception):
                    raise
                raise RunError(f"run failed: {message}") from exc
            results.status, results.exit_code = stop.status, int(stop.exit_code)
            results.error = {"type": "RunInterrupted", "message": f"stopped by {stop}", "stage": None}
            if stop is exc:
                raise
            raise stop from exc
        finally:
            results.ended_at = _now()
            results.duration_s = round(time.perf_counter() - started, 3)
            if results.quality is not None:
                write_quality(results.quality, folder / f"{run_id}.json")
            results.metrics = export_run_metrics(exporter, results, registry, reporter, secrets.resolve_value)
            path = write_results(results, folder)
            reporter.run_finished(results.stages, results.status, results.duration_s, str(path))
    return ExitCode.OK, path


def _interruption(exc: BaseException, signals: RunSignals) -> RunInterrupted | None:
    """The stop a signal caused, if ``exc`` is one, or what a cancelled Spark job raised after one."""
    if isinstance(exc, RunInterrupted):
        return exc
    if signals.received is not None:
        return RunInterrupted(signals.received)
    if isinstance(exc, KeyboardInterrupt):  # Ctrl-C with no handler of ours in place (not the main thread)
        return RunInterrupted(signal.SIGINT)
    return None


def _record_failure(results: RunResults, exc: BaseException, mask: Callable[[str], str]) -> str:
    """Record a failed run in ``results``; return the error message as recorded (secrets masked)."""
    if isinstance(exc, EtlError):
        code, message = exc.exit_code, mask(exc.message)
    else:
        code, message = ExitCode.RUN_FAILED, mask(f"{type(exc).__name__}: {exc}")
    stage = exc.stage.name if isinstance(exc, StageFailed) else None
    results.status, results.exit_code = "failed", int(code)
    results.error = {"type": type(exc).__name__, "message": message, "stage": stage}
    return message


def _record_guards(results: RunResults, executor: Executor) -> None:
    summary = executor.guards.summary()
    results.quality = summary["quality"]
    results.dead_letters = summary["dead_letters"]
    results.resilience = summary["resilience"]
    results.replay = summary.get("replay")


def _plugin_packages(plan, registry: Registry) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    packages: list[str] = []
    for stage in plan.stages:
        packages.extend(registry.get(stage.kind, stage.type).packages_for(stage.options))
    packages.extend(dead_letter_packages(plan.pipeline, registry))
    return tuple(packages)


__all__ = ["execute_run"]
