"""A whole run: lock, Spark session, execution, run results, exit code."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from etl_cli.config.principal import resolve_principal
from etl_cli.errors import EtlError, ExitCode, RunError, RunInterrupted
from etl_cli.events import Reporter, StageResult
from etl_cli.model.access import AccessRefused
from etl_cli.model.checkpoints import is_checkpointed
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import Plan, compile_plan
from etl_cli.plugins.api import KeyStore
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_session import is_connect
from etl_cli.runtime.bookkeeping.audit_trail import Confirmation, append_record, run_record
from etl_cli.runtime.bookkeeping.endpoint import MonitoringEndpoint, RunView, run_view
from etl_cli.runtime.bookkeeping.history import record_run
from etl_cli.runtime.bookkeeping.lock import run_lock
from etl_cli.runtime.bookkeeping.metrics import StreamingPusher, export_run_metrics
from etl_cli.runtime.bookkeeping.progress import watch_spark_progress
from etl_cli.runtime.bookkeeping.recover import recover_before_run
from etl_cli.runtime.bookkeeping.results import RunResults, results_file, write_results
from etl_cli.runtime.bookkeeping.results import results_dir as default_results_dir
from etl_cli.runtime.bookkeeping.state import RunState, state_folder
from etl_cli.runtime.bookkeeping.tracing_setup import RunTrace
from etl_cli.runtime.catalog.register import register_written
from etl_cli.runtime.execution.checkpointing import RunCheckpoints, choose_stages
from etl_cli.runtime.execution.executor import Executor, StageFailed
from etl_cli.runtime.execution.profiling import RunProfiler
from etl_cli.runtime.execution.row_access import RowAccess
from etl_cli.runtime.execution.signals import RunSignals
from etl_cli.runtime.execution.workspace import Workspace, open_secrets, open_workspace
from etl_cli.runtime.safeguards.guards import RunExtras
from etl_cli.runtime.safeguards.quality.report import write_quality
from etl_cli.runtime.safeguards.resilience import first_line
from etl_cli.runtime.spark.session import DEFAULT_MASTER
from etl_cli.runtime.streams.control import RunControl
from etl_cli.runtime.streams.streaming import StreamingExecutor
from etl_cli.secrets.resolver import SecretResolver

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from etl_cli.model.lineage import ParentRun
    from etl_cli.plan.stage_select import StageChoice
    from etl_cli.runtime.bookkeeping.openlineage import RunLineage


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
    profile: bool = False,
    lineage_parent: ParentRun | None = None,
    select: Sequence[str] = (),
    resume: str | None = None,
    confirmation: Confirmation | None = None,
    command: str = "run",
    streaming_hook: Callable[[StreamingExecutor], None] | None = None,
) -> tuple[ExitCode, Path]:
    """Run ``spec`` once (or ``plan``, a part of it). Errors are recorded in the run results, then re-raised.

    ``session``: run on this already started Spark session, as it is configured, instead of
    starting one (benchmarks and notebooks keep one warm session across runs).
    ``profile``: add where the time went, Spark's operator time per stage (execution/profiling.py).
    ``lineage_parent``: the run that started this one, for its OpenLineage events (docs/lineage.md).
    ``select``/``resume``: run only these stages (``--select``), or what the failed run ``resume`` left
    undone, starting from checkpoints (docs/orchestration.md); a UsageError before anything runs otherwise.
    ``confirmation``: who confirmed a run into a protected environment; ``command``: what started the run.
    Both go into the run's audit record (runtime/bookkeeping/audit_trail.py).
    ``streaming_hook``: called with a streaming run's executor before its queries start (``run --watch``).
    """
    plan = plan or compile_plan(spec)
    folder = results_dir or default_results_dir(spec.state_dir, spec.name, spec.env)
    choice = choose_stages(spec, plan, select, resume, folder)
    secrets = open_secrets(spec, run_id)
    trace = RunTrace.start(spec, run_id, secrets.resolve_value, secrets.redactor.mask)  # before run_started: its id
    run = _Run.start(spec, choice.plan if choice else plan, registry, reporter, run_id, results_dir, master)
    run.choose(choice)
    run.profiling, run.trace = profile, trace
    run.confirmation, run.command = confirmation, command
    run.streaming_hook = streaming_hook
    with trace, run_lock(spec.state_dir, spec.name, spec.env, run_id), secrets.redactor.guard(), run.signals:
        try:
            run.decide_access()  # before Spark starts: a run its access rules refuse reads nothing
            run.open_checkpoints(extras)
            run.start_lineage(secrets, lineage_parent)
            state = RunState(state_folder(spec.state_dir, spec.name, spec.env), run_id, full_refresh=full_refresh)
            with run.serve_monitoring(), run.open_workspace(secrets, master, verbose, session, state) as workspace:
                run.session_started(workspace)
                recover_before_run(spec, registry, workspace.ctx, reporter)  # what killed runs left, before any write
                run.execute(run.choose_executor(workspace, extras), workspace, secrets)
            state.commit()  # only now: every sink has committed
            run.register_in_catalogs(workspace)  # after the commit: a failure here takes nothing back
            run.succeeded()
        except BaseException as exc:
            run.record_outcome(exc, secrets.redactor.mask)
        finally:
            path = run.write_results(secrets.resolve_value)
    return ExitCode.OK, path


class _Run:
    """The steps of one run, in the order :func:`execute_run` takes them, and the results they fill in."""

    def __init__(
        self, spec: PipelineSpec, plan: Plan, registry: Registry, reporter: Reporter, results: RunResults, folder: Path
    ):
        self.spec, self.plan, self.registry, self.reporter = spec, plan, registry, reporter
        self.results, self.folder = results, folder
        self.run_id = results.run_id
        self.signals = RunSignals()
        self.started = time.perf_counter()
        #: when the session was asked for (its start-up is measured from there)
        self.session_asked = self.started
        #: ``run --profile``: the profiler of a batch run, once its session is up
        self.profiling = False
        self.profiler: RunProfiler | None = None
        #: the frame each sink of a batch run was given to write, by sink name (for catalog registration)
        self.written: Mapping[str, DataFrame] = {}
        #: the OpenLineage events of a pipeline with ``lineage:``
        self.lineage: RunLineage | None = None
        #: ``--select``/``--resume``: the stages the run computes and those it reads from checkpoints
        self.choice: StageChoice | None = None
        #: the checkpoints the run reads and writes (``checkpoint: true``), once it holds the lock
        self.checkpoints: RunCheckpoints | None = None
        #: the run's OpenTelemetry trace (a no-op when tracing is off)
        self.trace = RunTrace()
        #: what the ``monitoring:`` endpoint reads of the run, while it serves
        self.view: RunView | None = None
        #: the data keys of ``encrypt``/``decrypt`` (the run results name those used)
        self.keys: KeyStore | None = None
        #: the row filters of the project's ``access:`` rules for the run's principal (docs/data-security.md)
        self.row_access = RowAccess(plan)
        #: for the audit record: who confirmed a run into a protected environment, and the command
        self.confirmation: Confirmation | None = None
        self.command = "run"
        #: called with the streaming executor before its queries start (``run --watch``)
        self.streaming_hook: Callable[[StreamingExecutor], None] | None = None

    @classmethod
    def start(
        cls,
        spec: PipelineSpec,
        plan: Plan,
        registry: Registry,
        reporter: Reporter,
        run_id: str,
        folder: Path | None,
        master: str | None,
    ) -> _Run:
        """Start the run's results, on the master it asks for (a given session's own replaces it once known)."""
        chosen = master or spec.spark.master or DEFAULT_MASTER
        results = RunResults(run_id, spec.name, spec.env, str(spec.file), started_at=_now(), master=chosen)
        results.params = {name: value.to_json() for name, value in spec.params.items()} or None
        folder = folder or default_results_dir(spec.state_dir, spec.name, spec.env)
        run = cls(spec, plan, registry, reporter, results, folder)
        reporter.run_started(run_id, spec.name, spec.env, len(plan.stages))
        return run

    def choose(self, choice: StageChoice | None) -> None:
        """Run only the stages ``choice`` leaves (None: all); say so when it writes no sink."""
        self.choice = choice
        if choice is None:
            return
        self.results.selection = choice.to_json()
        for stage, source in choice.from_checkpoint.items():
            self.reporter.message("info", f"{stage}: read from the checkpoint of run {source}")
        if not choice.plan.sinks:
            keeps = any(is_checkpointed(s) for s in choice.plan.stages if s.name not in choice.from_checkpoint)
            what = "only the checkpoints of the stages it computes" if keeps else "nothing"
            self.reporter.message("warning", f"the selection holds no sink: the run writes {what}")

    def decide_access(self) -> None:
        """The principal and each source's row filters, in the results; raises AccessRefused (exit 1)."""
        try:
            self.results.access = self.row_access.decision().to_json()
        except AccessRefused:
            principal = resolve_principal(self.spec.access.acting_as)
            self.results.access = {
                "principal": principal.name if principal else None,
                "source": principal.source if principal else None,
                "filters": [],
                "refused": True,
            }
            raise

    def open_checkpoints(self, extras: RunExtras | None) -> None:
        """Under the lock: the checkpoints the run starts from (still there?) and writes.

        None in a replay (``extras``): its stages hold the replayed rows only, not the stages' output.
        """
        if extras is not None:
            return
        if self.spec.streaming is not None:
            if any(is_checkpointed(s) for s in self.spec.stages):
                self.reporter.message("warning", "checkpoint: true is ignored in a streaming run")
            return
        reads = self.choice.from_checkpoint if self.choice is not None else {}
        self.checkpoints = RunCheckpoints(self.spec, self.run_id, self.results.started_at, reads)

    def serve_monitoring(self) -> AbstractContextManager[Any]:
        """The live endpoint (``monitoring:``), bound now, before Spark starts, so a taken port fails at once."""
        if not self.spec.monitoring.enabled:
            return nullcontext()
        self.view = run_view(self.spec, self.results)
        endpoint = MonitoringEndpoint(self.spec.monitoring, self.view, self.reporter)
        self.results.monitoring = endpoint.summary()
        return endpoint

    def open_workspace(
        self,
        secrets: SecretResolver,
        master: str | None,
        verbose: bool,
        session: SparkSession | None,
        state: RunState,
    ) -> AbstractContextManager[Workspace]:
        """The run's workspace, under the lock: its state, its journals, its session left running afterwards."""
        self.session_asked = time.perf_counter()
        return open_workspace(
            self.plan,
            self.registry,
            self.reporter,
            self.run_id,
            master=master,
            verbose=verbose,
            secrets=secrets,
            session=session,
            state=state,
            locked=True,
            keep_session=True,
        )

    def session_started(self, workspace: Workspace) -> None:
        """Let a signal cancel Spark's jobs; record the master, Spark version and start-up time the run got."""
        if self.spec.streaming is None:  # a streaming run stops its queries on signals itself
            session = workspace.session
            # Spark Connect: the server interrupts the session's operations
            cancel: Any = session.interruptAll if is_connect(session) else session.sparkContext.cancelAllJobs
            self.signals.attach(cancel)
        self.keys = workspace.ctx.keys
        self.results.master = workspace.master
        self.results.spark_version = workspace.spark_version
        self.results.spark_startup_s = round(time.perf_counter() - self.session_asked, 3)
        self.reporter.session_started(workspace.master, self.results.spark_startup_s)
        if self.profiling:
            self.profiler = self._profiler(workspace.session)

    def _profiler(self, session: SparkSession) -> RunProfiler | None:
        """The profiler of ``--profile``, or None (and a warning) where Spark cannot show what it measured."""
        if self.spec.streaming is not None:
            why = "a streaming run has no profile"
        elif not hasattr(session, "_jsparkSession"):
            why = "a Spark Connect session does not show its SQL metrics"
        else:
            return RunProfiler(self.plan, session, self.run_id)
        self.reporter.message("warning", f"--profile: {why}")
        return None

    def choose_executor(self, workspace: Workspace, extras: RunExtras | None) -> Executor | StreamingExecutor:
        """Streaming queries when a source reads a stream, else the batch executor with its guards."""
        if self.spec.streaming is not None:
            streams = StreamingExecutor(self.plan, workspace.ctx, self.registry, self.reporter, self.spec.streaming)
            streams.row_access = self.row_access  # the filters the results report
            if self.streaming_hook is not None:
                self.streaming_hook(streams)
            return streams
        executor = Executor(self.plan, workspace.ctx, self.registry, self.reporter, extras, self.signals)
        executor.row_access = self.row_access
        executor.profiler, executor.checkpoints = self.profiler, self.checkpoints
        if self.lineage is not None:
            executor.schemas = self.lineage.schemas  # the events' schemas: Spark's, read as each stage is built
        return executor

    def start_lineage(self, secrets: SecretResolver, parent: ParentRun | None) -> None:
        """Send the START event of a pipeline with ``lineage:`` (the client is imported only then)."""
        if self.spec.lineage is None:
            return
        from etl_cli.runtime.bookkeeping.openlineage import RunLineage

        spec, resolve, mask = self.spec, secrets.resolve_value, secrets.redactor.mask
        self.lineage = RunLineage(spec, self.plan, self.registry, self.results, self.reporter, parent, resolve, mask)
        self.lineage.started()

    def execute(self, executor: Executor | StreamingExecutor, workspace: Workspace, secrets: SecretResolver) -> None:
        """Run every stage; what the stages and their guards did is recorded even when one fails."""
        results, exporter = self.results, self.spec.metrics
        pusher: AbstractContextManager[Any] = (
            StreamingPusher(
                exporter, self.registry, lambda: results, workspace.session, self.reporter, secrets.resolve_value
            )
            if exporter is not None and self.spec.streaming is not None
            else nullcontext()
        )
        if self.view is not None:
            self.view.watch(workspace.session, executor.guards.resilience.metrics)
        control = self._control(executor)
        try:
            with watch_spark_progress(workspace.session, self.reporter), pusher, control:
                results.stages = executor.run()
                self.written = executor.written if isinstance(executor, Executor) else {}
        except BaseException:
            results.stages = getattr(executor, "partial_results", [])
            raise
        finally:
            self._record_guards(executor)
        self._record_profile(executor)

    def _control(self, executor: Executor | StreamingExecutor) -> AbstractContextManager[Any]:
        """A streaming run's control file (``etl-cli streams``), kept up to date by its executor's polls."""
        if not isinstance(executor, StreamingExecutor):
            return nullcontext()
        results = self.results
        endpoint = (results.monitoring or {}).get("url")
        file = results_file(self.folder, self.run_id)
        spec = self.spec
        control = RunControl(spec.state_dir, spec.name, spec.env, self.run_id, results.started_at, file, endpoint)
        executor.on_poll = control.update
        return control

    def register_in_catalogs(self, workspace: Workspace) -> None:
        """Register what each committed sink with a ``catalog:`` wrote (docs/catalog.md)."""
        if self.spec.registrations:
            register_written(self.spec, workspace.ctx, self.written, self.results.stages, self.reporter)

    def _record_profile(self, executor: Executor | StreamingExecutor) -> None:
        """Where the time went, once every stage ran; a profile Spark cannot give is a warning, not a failure."""
        if self.profiler is None or not isinstance(executor, Executor):
            return
        try:
            self.results.profile = self.profiler.profile(executor.counted).to_json()
        except Exception as exc:
            self.reporter.message("warning", f"no profile: Spark's SQL metrics could not be read ({first_line(exc)})")
            return
        self.reporter.profile_report(self.results.profile)

    def _record_guards(self, executor: Executor | StreamingExecutor) -> None:
        results = self.results
        if isinstance(executor, Executor):
            summary = executor.guards.summary()
            results.quality = summary["quality"]
            results.dead_letters = summary["dead_letters"]
            results.resilience = summary["resilience"]
            results.replay = summary.get("replay")
            return
        streamed = executor.summary()
        results.quality, results.dead_letters = streamed["quality"], streamed["dead_letters"]
        if results.quality is not None:
            self.reporter.quality_report(results.quality)

    def succeeded(self) -> None:
        self.results.status, self.results.exit_code = "success", int(ExitCode.OK)

    def record_outcome(self, exc: BaseException, mask: Callable[[str], str]) -> NoReturn:
        """Record why the run stopped (secrets masked) and raise what the caller sees: exit 4, 130/143..."""
        stop = _interruption(exc, self.signals)
        if stop is None:
            message = _record_failure(self.results, exc, mask)
            if isinstance(exc, EtlError) or not isinstance(exc, Exception):
                raise exc
            raise RunError(f"run failed: {message}") from exc
        self.results.status, self.results.exit_code = stop.status, int(stop.exit_code)
        self.results.error = {"type": "RunInterrupted", "message": f"stopped by {stop}", "stage": None}
        if stop is exc:
            raise exc
        raise stop from exc

    def write_results(self, resolve: Callable[[Any], Any]) -> Path:
        """Write the run results (and the quality report, and the metrics), whatever the outcome."""
        results = self.results
        results.ended_at = _now()
        results.stages = self._every_stage(results.stages)
        self._finish_checkpoints()
        results.duration_s = round(time.perf_counter() - self.started, 3)
        report_keys = getattr(self.keys, "report", None)
        results.keys = report_keys() if report_keys is not None else None
        if results.quality is not None:
            write_quality(results.quality, self.folder / f"{self.run_id}.json")
        results.metrics = export_run_metrics(self.spec.metrics, results, self.registry, self.reporter, resolve)
        results.lineage = self.lineage.finished(results) if self.lineage is not None else None
        results.tracing = self.trace.finish(results, self.reporter)
        target = results_file(self.folder, self.run_id)
        results.history = record_run(self.spec.state_dir, self.spec.project.history, results, target)
        if not results.history["recorded"]:  # the results file below is the record; the history is an index
            self.reporter.message("warning", f"run not recorded in the history: {results.history['warning']}")
        results.audit = self._record_audit()
        path = write_results(results, self.folder)
        self.reporter.run_finished(results.stages, results.status, results.duration_s, str(path))
        return path

    def _record_audit(self) -> dict[str, Any]:
        """Append the run's record to the audit trail; a trail that cannot be written is a warning, as the history."""
        try:
            entry = run_record(self.spec, self.results.to_json(), self.command, self.confirmation)
            audit = append_record(self.spec.project, entry)
        except (OSError, EtlError) as exc:
            why = exc.message if isinstance(exc, EtlError) else str(exc)
            self.reporter.message("warning", f"run not recorded in the audit trail: {why}")
            return {"recorded": False, "warning": why}
        if audit.get("shipped") is False:
            self.reporter.message("warning", f"audit record {audit['seq']} not shipped: {audit.get('ship_error')}")
        return {"recorded": True, **audit}

    def _every_stage(self, stages: list[StageResult]) -> list[StageResult]:
        """One result per stage of the pipeline: those a ``--select``/``--resume`` run left out are ``not_selected``."""
        if self.choice is None:
            return stages
        ran = {result.name: result for result in stages}
        committed = self.choice.committed
        return [
            ran.get(s.name)
            or StageResult(
                s.name,
                s.kind,
                s.type,
                "not_selected",
                details={"committed_by": self.choice.resumed} if s.name in committed else {},
            )
            for s in compile_plan(self.spec).stages
        ]

    def _finish_checkpoints(self) -> None:
        """Record the run's outcome beside its checkpoints; after a success, remove those beyond the retention."""
        checkpoints = self.checkpoints
        if checkpoints is None or not checkpoints.active:
            return
        removed: list[Path] = []
        try:
            removed = checkpoints.settle(self.results.status, self.spec.checkpoints)
        except (OSError, EtlError) as exc:  # the run's outcome stands; the next successful run tries again
            self.reporter.message("warning", f"checkpoints: {exc}")
        self.results.checkpoints = checkpoints.summary(removed)


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


__all__ = ["execute_run"]
