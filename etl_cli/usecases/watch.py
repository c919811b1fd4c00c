"""``etl-cli run --watch``: a streaming run that takes up the changes made to its pipeline's files.

While the run goes on, a thread polls the files the loader read (the pipeline, the templates it
extends, its environment's overlay, ``etl-project.yaml``) once a second, by modification time and
size. When one changes, the pipeline is loaded and validated again, offline, and its plan compared
with the running one (plan/stream_restart.py):

- invalid: the run goes on; each error is reported at its ``file:line:col``;
- no change to the plan (a comment, a reordered key): nothing to do;
- a change the checkpoints cannot take (a source, a stateful stage, a sink's path...): the run goes on
  with the pipeline it started with, and the reasons are reported;
- otherwise the queries stop as on SIGTERM (the running micro-batch finishes), the run ends (its run
  results written, exit 0) and a new run starts from the same checkpoints with the new pipeline,
  under a new run id. What changed is reported.

A signal from outside (SIGTERM, Ctrl-C) ends the run and the watch, as without ``--watch``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli import app
from etl_cli.config.loader import LoadedConfig, overlay_file
from etl_cli.errors import ConfigError, EtlError, ExitCode, InvalidPipeline, UsageError
from etl_cli.events import Reporter
from etl_cli.plan.dag import Plan, compile_plan
from etl_cli.plan.stream_restart import RestartDecision, restart_decision

if TYPE_CHECKING:
    from etl_cli.runtime.streams.streaming import StreamingExecutor

#: how often the files are looked at, and how long a change must rest before it is read (an editor saving)
POLL_S = 1.0
SETTLE_S = 0.3

Fingerprint = dict[Path, tuple[int, int] | None]


def watched_files(loaded: LoadedConfig) -> list[Path]:
    """The files a load of the pipeline depends on, and its environment's overlay even while it does not exist."""
    files = list(loaded.files)
    if loaded.env:
        files.append(overlay_file(loaded.pipeline_file, loaded.env))
    if loaded.project.config_file is not None:
        files.append(loaded.project.config_file)
    return list(dict.fromkeys(path.resolve() for path in files))


def fingerprint(files: Sequence[Path]) -> Fingerprint:
    """Modification time and size of each file (None: it does not exist)."""
    found: Fingerprint = {}
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            found[path] = None
            continue
        found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


class PipelineWatcher:
    """Watches the pipeline's files during a streaming run; stops the run when a change can be applied."""

    def __init__(self, path: Path, options: app.RunOptions, reporter: Reporter, loaded: LoadedConfig, plan: Plan):
        self.path, self.options, self.reporter = path, options, reporter
        self.files = watched_files(loaded)
        self.seen = fingerprint(self.files)
        #: the plan the queries run (or are about to)
        self.running = plan
        #: the change a stop was requested for, until the next run takes it up
        self.pending: RestartDecision | None = None
        #: the plan of the pending change
        self.pending_plan: Plan | None = None
        #: the run's executor, and the one the watcher asked to stop for the pending change
        self.executor: StreamingExecutor | None = None
        self.stopped: StreamingExecutor | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="etl-watch", daemon=True)

    def __enter__(self) -> PipelineWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    # ------------------------------------------------------------------ the run's side

    def attach(self, executor: StreamingExecutor) -> None:
        """``streaming_hook``: a run's executor, before its queries start."""
        with self._lock:
            plan = executor.plan
            if self.pending is not None and self.stopped is not None:  # a restart for the pending change
                again = restart_decision(self.running, plan)  # the files may have changed again since
                if not again.compatible:
                    raise ConfigError(
                        "the pipeline changed again while the run restarted, and its checkpoints cannot take it: "
                        + "; ".join(again.blockers),
                        hint="undo that change, or run it on new checkpoints (streaming.checkpoint_location)",
                    )
                self.reporter.message("info", "restarted with: " + "; ".join(again.changes or self.pending.changes))
                self.pending = self.pending_plan = self.stopped = None
            elif self.pending is not None and self.pending_plan is not None:  # changed before the queries started
                if restart_decision(self.pending_plan, plan).changed:
                    executor.stop_request.request()  # the run loaded the old files: restart at once
                    self.stopped = executor
                else:
                    self.pending = self.pending_plan = None  # it loaded the new files: nothing left to apply
            self.running, self.executor = plan, executor

    def restart_wanted(self) -> bool:
        """After a run ended: whether it ended because the watcher stopped it (and nothing else asked it to)."""
        with self._lock:
            stopped = self.stopped
            return self.pending is not None and stopped is not None and stopped.stop_request.count == 1

    # ------------------------------------------------------------------ the watching thread

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            now = fingerprint(self.files)
            if now == self.seen:
                continue
            time.sleep(SETTLE_S)
            self.seen = fingerprint(self.files)
            try:
                self.consider()
            except Exception as exc:  # the watch must not end the stream
                self.reporter.message("warning", f"--watch: the change could not be read: {exc}")

    def consider(self) -> RestartDecision | None:
        """Load and validate the changed pipeline; request a restart when the change can be applied."""
        options = self.options
        try:
            loaded, spec = app.load_spec(
                self.path, options.env, options.sets, params=options.params, require_params=True
            )
        except InvalidPipeline as exc:
            self.reporter.message("warning", "change not applied: the pipeline is invalid; the run goes on")
            for diagnostic in exc.diagnostics:
                if diagnostic.severity == "error":
                    where = f"{diagnostic.location}: " if diagnostic.location else ""
                    self.reporter.message("warning", f"  {where}{diagnostic.message} ({diagnostic.code})")
            return None
        except EtlError as exc:
            self.reporter.message("warning", f"change not applied: {exc}; the run goes on")
            return None
        self.files = watched_files(loaded)  # it may extend other templates now
        self.seen = fingerprint(self.files)
        with self._lock:
            plan = compile_plan(spec)
            decision = restart_decision(self.running, plan)
            if not decision.changed:
                self.reporter.message("info", "the pipeline's files changed, its plan did not: nothing to apply")
            elif not decision.compatible:
                self.reporter.message(
                    "warning",
                    "change not applied, the run goes on with the pipeline it started with: "
                    + "; ".join(decision.blockers),
                )
            elif self.pending is None:
                self.pending, self.pending_plan = decision, plan
                self.reporter.message(
                    "info",
                    "pipeline changed, restarting from the checkpoints after the current micro-batch: "
                    + "; ".join(decision.changes),
                )
                if self.executor is not None:
                    self.executor.stop_request.request()
                    self.stopped = self.executor
            return decision


def run_watching(path: Path, options: app.RunOptions, reporter: Reporter) -> tuple[ExitCode, Path | None]:
    """``run --watch``: run the streaming pipeline at ``path``, restarting it on compatible changes to its files."""
    if options.select or options.resume or options.run_id:
        raise UsageError("--watch runs the whole pipeline under new run ids: leave out --select, --resume and --run-id")
    loaded, spec = app.load_spec(path, options.env, options.sets, params=options.params, require_params=True)
    if spec.streaming is None:
        raise UsageError(
            f"--watch is for streaming pipelines; {spec.name} reads no stream", hint="run it without --watch"
        )
    if spec.streaming.trigger.bounded:
        raise UsageError(
            f"--watch needs a stream that runs until stopped; {spec.name} has trigger {spec.streaming.trigger.kind}",
            hint="use streaming.trigger: {processing_time: ...}, or run it without --watch",
        )
    watcher = PipelineWatcher(path, options, reporter, loaded, compile_plan(spec))
    hook: Any = watcher.attach
    with watcher:
        while True:
            code, results = app.run(path, replace(options), reporter, streaming_hook=hook)
            if code is not ExitCode.OK or not watcher.restart_wanted():
                return code, results
            reporter.message("info", f"restarting {spec.name} from its checkpoints")


__all__ = ["PipelineWatcher", "run_watching", "watched_files"]
