"""``etl-cli backfill``: one ``etl-cli run`` per interval of a date range, each given its interval as parameters.

What a backfill needs of a pipeline, checked before anything runs:

- a ``date`` or ``timestamp`` parameter to give each interval's start (:func:`backfill_params`), and
  optionally ``<name>_end`` for the interval's end (exclusive: the next interval's start);
- sinks that a run can repeat (:func:`sink_problems`): re-running an interval must replace what that
  interval wrote before, and nothing else. A file sink in mode ``overwrite`` does when it is partitioned
  (``partition_by``: etl-cli's overwrite replaces only the partitions the new data has, docs/run.md) or
  when its path changes with the interval (``${param:ds}`` in it); a JDBC ``upsert`` does (by its keys).
  An ``append`` would add an interval's rows again: refused unless ``--allow-append``.

The runs go one after the other, in interval order: a pipeline runs at most once at a time in an
environment (its run lock, which publish recovery relies on: docs/run.md), so runs of one pipeline
cannot overlap. A failed interval does not stop the others. The backfill record
(``<state_dir>/backfills/<id>.json``, :class:`BackfillRecord`) is rewritten atomically after each
start and finish, so a killed backfill leaves a file saying how far it got, and ``--resume ID`` runs
again only the intervals that did not succeed.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from etl_cli.config.params import ParamDecl
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import UsageError
from etl_cli.model.pipeline import PipelineSpec, option_location
from etl_cli.orchestration.dag_record import worst_exit_code
from etl_cli.orchestration.intervals import Step
from etl_cli.orchestration.launch import LaunchRequest, LaunchResult, StopSignal, launch
from etl_cli.orchestration.records import read_record_file, write_record_file
from etl_cli.plugins.api import Sink
from etl_cli.plugins.registry import Registry

BACKFILL_VERSION = 1
#: what ``backfills/`` holds under the project's state folder
BACKFILLS_DIR = "backfills"
#: the suffix of the parameter that takes an interval's end
END_SUFFIX = "_end"
_TIME_TYPES = ("date", "timestamp")
#: the options of a sink that say where it writes: one that changes with the interval writes a place per interval
_TARGET_KEYS = ("url", "path", "table")

PENDING, RUNNING = "pending", "running"
SUCCEEDED, FAILED, NOT_RUN = "succeeded", "failed", "not_run"
_STOPPED = {130: "interrupted", 143: "terminated"}

#: what starts one child and waits for it (orchestration.launch.launch; tests pass a fake)
Launcher = Callable[[LaunchRequest, threading.Event | None], LaunchResult]


def new_id() -> str:
    """``20260105T101500Z-1a2b3c4d``: the shape of a run id, so ids sort by start time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class BackfillParams:
    """The parameter each interval's start goes to, and the one its end goes to (None: not declared)."""

    start: ParamDecl
    end: ParamDecl | None


def backfill_params(spec: PipelineSpec, name: str | None) -> BackfillParams:
    """``--param-name NAME``, else the pipeline's only date/timestamp parameter (``<x>_end`` ones aside)."""
    decls = {param: value.decl for param, value in spec.params.items()}
    timed = [d for d in decls.values() if d.type in _TIME_TYPES]
    if name is None:
        starts = [d for d in timed if not _is_end_of(d, decls)]
        if len(starts) != 1:
            listed = ", ".join(d.name for d in starts)
            raise UsageError(
                f"pipeline {spec.name} declares {'no' if not starts else 'several'} date or timestamp parameters"
                + (f" ({listed})" if starts else ""),
                hint="choose one with --param-name NAME"
                if starts
                else "declare one under params: (ds: {type: date}) and use it in the pipeline as ${param:ds}",
            )
        chosen = starts[0]
    elif name not in decls or decls[name].type not in _TIME_TYPES:
        hint = did_you_mean(name, [d.name for d in timed]) or (
            f"its date and timestamp parameters: {', '.join(d.name for d in timed)}" if timed else None
        )
        what = "is not a date or timestamp parameter" if name in decls else "is not a parameter"
        raise UsageError(f"--param-name {name}: {what} of pipeline {spec.name}", hint=hint)
    else:
        chosen = decls[name]
    end = decls.get(chosen.name + END_SUFFIX)
    if end is not None and end.type not in _TIME_TYPES:
        raise UsageError(
            f"parameter '{end.name}' (declared at {end.loc}) takes each interval's end, so it must be a date "
            f"or timestamp, not a {end.type}",
            hint=f"declare it {end.name}: {{type: {chosen.type}}}, or rename it",
        )
    return BackfillParams(chosen, end)


def _is_end_of(decl: ParamDecl, decls: Mapping[str, ParamDecl]) -> bool:
    start = decl.name.removesuffix(END_SUFFIX)
    return decl.name.endswith(END_SUFFIX) and start in decls and decls[start].type in _TIME_TYPES


def check_step(params: BackfillParams, step: Step, bounds_are_dates: bool) -> None:
    """A ``date`` parameter takes days: refuse hour steps and bounds with a time of day."""
    dated = [d for d in (params.start, params.end) if d is not None and d.type == "date"]
    if not dated:
        return
    if step.unit == "h":
        raise UsageError(
            f"--step {step}: parameter '{dated[0].name}' is a date, so intervals are whole days",
            hint="use a step in days, weeks or months (1d, 7d, 1w, 1mo), or a timestamp parameter",
        )
    if not bounds_are_dates:
        raise UsageError(
            f"parameter '{dated[0].name}' is a date: write --from and --to as dates (YYYY-MM-DD)",
            hint="for example --from 2026-01-01 --to 2026-01-31",
        )


def param_text(decl: ParamDecl, moment: datetime) -> str:
    """How an interval bound is passed as ``--param``: ``2026-01-31`` for a date, ISO 8601 for a timestamp."""
    return moment.date().isoformat() if decl.type == "date" else moment.isoformat()


def interval_params(params: BackfillParams, start: datetime, end: datetime) -> tuple[str, ...]:
    """The ``--param NAME=VALUE`` of one interval."""
    given = [f"{params.start.name}={param_text(params.start, start)}"]
    if params.end is not None:
        given.append(f"{params.end.name}={param_text(params.end, end)}")
    return tuple(given)


def sink_problems(
    first: PipelineSpec, second: PipelineSpec, registry: Registry, allow_append: bool
) -> list[Diagnostic]:
    """Why re-running an interval would not replace exactly what it wrote before, one diagnostic per sink.

    ``first`` and ``second`` are the pipeline loaded for two different intervals: a sink whose target
    (``path``, ``table`` or ``url``) differs between them has the parameter in it, and writes a place of its
    own per interval.
    """
    problems = []
    for sink in first.sinks:
        plugin = registry.get("sink", sink.type)
        mode = str(sink.option("mode", plugin.default_mode if issubclass(plugin, Sink) else "overwrite"))
        other = second.stage(sink.name)
        per_interval = any(sink.option(key) != other.option(key) for key in _TARGET_KEYS)
        problem = _sink_problem(mode, bool(sink.option("partition_by")), per_interval, allow_append)
        if problem is not None:
            message, hint = problem
            where = option_location(first, sink, "mode") or sink.location
            problems.append(error("backfill-sink", f"sink '{sink.name}' ({sink.type}): {message}", where, hint))
    return problems


def _sink_problem(mode: str, partitioned: bool, per_interval: bool, allow_append: bool) -> tuple[str, str] | None:
    if mode == "upsert" or (mode == "overwrite" and (partitioned or per_interval)):
        return None
    if mode == "overwrite":
        return (
            "mode overwrite replaces the whole target on each run, so each interval would replace the one before",
            "partition it (partition_by: [a column holding the interval]) so a run replaces only its partitions, "
            "or put the parameter in its path (path: .../ds=${param:ds})",
        )
    if mode == "append":
        if allow_append:
            return None
        return (
            "mode append adds an interval's rows again each time it runs, so a re-run or --resume duplicates them",
            "use mode overwrite with partition_by, or pass --allow-append if the pipeline removes an interval's "
            "rows itself",
        )
    return (
        f"mode {mode} cannot re-run an interval: "
        + ("the run fails once the target exists" if mode == "error" else "the run keeps the old data"),
        "use mode overwrite with partition_by, or the parameter in the path",
    )


@dataclass
class IntervalRun:
    """One interval of a backfill: its bounds as passed, and what became of its run."""

    start: str
    end: str
    #: pending or running while the backfill goes on; then succeeded, failed, not_run (the backfill stopped
    #: before it), or interrupted/terminated (a signal stopped its run)
    status: str = PENDING
    exit_code: int | None = None
    #: the ``--run-id`` of its ``etl-cli run`` child (the last one, when it was resumed)
    run_id: str | None = None
    results_file: str | None = None
    log_file: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    #: runs of this interval before a ``--resume`` ran it again, oldest first
    earlier_run_ids: list[str] = field(default_factory=list)


@dataclass
class BackfillRecord:
    """A whole backfill: how it was asked for, and each interval in order."""

    backfill_id: str
    pipeline: str
    pipeline_file: str
    env: str | None
    sets: list[str]
    #: the other ``--param NAME=VALUE`` given, the same for every interval
    params: list[str]
    #: the parameter each interval's start goes to, and the one its end goes to (None: not declared)
    param: str
    end_param: str | None
    from_: str
    to: str
    step: str
    allow_append: bool
    intervals: list[IntervalRun]
    started_at: str = field(default_factory=_now)
    ended_at: str | None = None
    duration_s: float | None = None
    #: running, then succeeded, failed, interrupted (SIGINT) or terminated (SIGTERM)
    status: str = RUNNING
    exit_code: int | None = None
    #: when each ``--resume`` started
    resumed_at: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": BACKFILL_VERSION}
        for f in fields(self):
            if f.name != "intervals":
                data[f.name.rstrip("_")] = getattr(self, f.name)
        data["intervals"] = [asdict(interval) for interval in self.intervals]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BackfillRecord:
        known = {f.name.rstrip("_"): f.name for f in fields(cls)}
        values = {known[k]: v for k, v in data.items() if k in known and k != "intervals"}
        runs = [IntervalRun(**{k: v for k, v in item.items() if k in _INTERVAL_FIELDS}) for item in data["intervals"]]
        return cls(**values, intervals=runs)

    def counts(self) -> dict[str, int]:
        """Intervals done (succeeded), failed, and remaining (pending, running or not run)."""
        done = sum(1 for i in self.intervals if i.status == SUCCEEDED)
        failed = sum(1 for i in self.intervals if i.status == FAILED)
        return {"done": done, "failed": failed, "remaining": len(self.intervals) - done - failed}


_INTERVAL_FIELDS = {f.name for f in fields(IntervalRun)}


def record_folder(state_dir: Path) -> Path:
    return state_dir / BACKFILLS_DIR


def write_record(record: BackfillRecord, folder: Path) -> Path:
    """Write ``<backfill_id>.json`` atomically."""
    return write_record_file(folder, record.backfill_id, record.to_json())


def read_record(folder: Path, backfill_id: str) -> BackfillRecord:
    """The backfill ``backfill_id`` as written; an id with no file is a usage error naming the recent ones."""
    return read_record_file(folder, backfill_id, BackfillRecord.from_json, "backfill", "backfills", "backfill record")


def reopen(record: BackfillRecord) -> list[IntervalRun]:
    """Make every interval that did not succeed pending again (its last run id kept); return them, in order."""
    todo = [interval for interval in record.intervals if interval.status != SUCCEEDED]
    for interval in todo:
        if interval.run_id:
            interval.earlier_run_ids.append(interval.run_id)
        fresh = IntervalRun(interval.start, interval.end, earlier_run_ids=interval.earlier_run_ids)
        interval.__dict__.update(asdict(fresh))
    record.status, record.exit_code, record.ended_at = RUNNING, None, None
    record.resumed_at.append(_now())
    return todo


@contextmanager
def holding(folder: Path, backfill_id: str) -> Iterator[None]:
    """Only one process works on a backfill record at a time (a second ``--resume`` of it is refused)."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / f".{backfill_id}.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise UsageError(f"backfill {backfill_id} is running in another process", hint="wait for it to end") from None
    try:
        yield
    finally:
        lock.release()


class BackfillObserver(Protocol):
    """Told of the backfill's start and of each interval as it starts and finishes, for the console."""

    def backfill_started(self, record: BackfillRecord) -> None: ...

    def interval_started(self, record: BackfillRecord, interval: IntervalRun) -> None: ...

    def interval_finished(self, record: BackfillRecord, interval: IntervalRun) -> None: ...


@dataclass(frozen=True)
class RunSettings:
    """How each interval's child runs: the pipeline, environment, ``--set``s and fixed ``--param``s."""

    pipeline_file: Path
    env: str | None
    sets: tuple[str, ...]
    params: tuple[str, ...]
    start_param: ParamDecl
    end_param: ParamDecl | None
    #: ``--confirm-env``: passed to each child (a run into a protected environment needs it)
    confirm_env: str | None = None


class BackfillRunner:
    """Runs the pending intervals of a :class:`BackfillRecord` in order and keeps the record on disk up to date."""

    def __init__(
        self,
        record: BackfillRecord,
        settings: RunSettings,
        folder: Path,
        observer: BackfillObserver,
        stop: StopSignal | None = None,
        launcher: Launcher = launch,
        new_run_id: Callable[[], str] = new_id,
    ):
        self.record = record
        self.settings = settings
        self.folder = folder
        self.observer = observer
        self.stop = stop or StopSignal()
        self.launcher = launcher
        self.new_run_id = new_run_id
        self._clock = time.monotonic()

    def run(self) -> BackfillRecord:
        """Each pending interval in order, until done or stopped; then mark the rest not run and end."""
        self._save()
        self.observer.backfill_started(self.record)
        for index, interval in enumerate(self.record.intervals):
            if interval.status != PENDING:
                continue
            if self.stop.is_set():
                break
            self._run_one(index, interval)
        self._end()
        return self.record

    def _run_one(self, index: int, interval: IntervalRun) -> None:
        interval.run_id = self.new_run_id()
        log_file = self.folder / self.record.backfill_id / f"{index + 1:04d}-{interval.run_id}.log"
        interval.status, interval.log_file, interval.started_at = RUNNING, str(log_file), _now()
        self._save()
        self.observer.interval_started(self.record, interval)
        outcome: LaunchResult | Exception
        try:
            outcome = self.launcher(self._request(interval, log_file), self.stop)
        except Exception as exc:  # a child that could not be started fails its interval, not the backfill
            outcome = exc
        self._finish(interval, outcome)

    def _request(self, interval: IntervalRun, log_file: Path) -> LaunchRequest:
        settings = self.settings
        bounds = [f"{settings.start_param.name}={interval.start}"]
        if settings.end_param is not None:
            bounds.append(f"{settings.end_param.name}={interval.end}")
        return LaunchRequest(
            settings.pipeline_file,
            settings.env,
            str(interval.run_id),
            log_file,
            sets=settings.sets,
            params=(*settings.params, *bounds),
            extra_args=("--confirm-env", settings.confirm_env) if settings.confirm_env else (),
        )

    def _finish(self, interval: IntervalRun, outcome: LaunchResult | Exception) -> None:
        interval.ended_at = _now()
        if isinstance(outcome, Exception):
            interval.status, interval.exit_code = FAILED, 4
        else:
            interval.status = SUCCEEDED if outcome.exit_code == 0 else _STOPPED.get(outcome.exit_code, FAILED)
            interval.exit_code, interval.duration_s = outcome.exit_code, outcome.duration_s
            interval.results_file = str(outcome.results_file) if outcome.results_file else None
        self._save()
        self.observer.interval_finished(self.record, interval)

    def _end(self) -> None:
        record = self.record
        for interval in record.intervals:
            if interval.status == PENDING:
                interval.status = NOT_RUN
        if self.stop.is_set():
            record.exit_code = 143 if self.stop.signum == signal.SIGTERM else 130
        else:
            record.exit_code = worst_exit_code(i.exit_code for i in record.intervals if i.exit_code is not None)
        record.status = _STOPPED.get(record.exit_code, SUCCEEDED if record.exit_code == 0 else FAILED)
        record.ended_at = _now()
        record.duration_s = round(time.monotonic() - self._clock, 3)
        self._save()

    def _save(self) -> None:
        write_record(self.record, self.folder)


def new_record(
    spec: PipelineSpec,
    settings: RunSettings,
    bounds: tuple[str, str, str],
    intervals: Sequence[tuple[datetime, datetime]],
    allow_append: bool,
) -> BackfillRecord:
    """The record of a backfill that has run nothing yet: ``bounds`` are --from, --to and --step as given."""
    start, end = settings.start_param, settings.end_param
    return BackfillRecord(
        backfill_id=new_id(),
        pipeline=spec.name,
        pipeline_file=str(settings.pipeline_file),
        env=spec.env,
        sets=list(settings.sets),
        params=list(settings.params),
        param=start.name,
        end_param=end.name if end else None,
        from_=bounds[0],
        to=bounds[1],
        step=bounds[2],
        allow_append=allow_append,
        intervals=[IntervalRun(param_text(start, a), param_text(end or start, b)) for a, b in intervals],
    )
