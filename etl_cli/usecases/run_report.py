"""Use case of ``etl-cli runs report``: the run history shaped for charts, one section per pipeline and environment.

For people without a Prometheus stack: the same history ``etl-cli runs list`` reads
(``<state_dir>/history.sqlite``), as series over the runs, oldest first. The page itself is
drawn by :mod:`etl_cli.usecases.run_report_page`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import UsageError
from etl_cli.runtime.bookkeeping.history import History, RunDetail, RunRow
from etl_cli.usecases.runs import open_history
from etl_cli.usecases.secrets import parse_since

#: outcomes that mean a check's failing rows went over what it allows (docs/quality.md)
BREACHED = ("warned", "failed")
#: outcomes in the order the charts stack them
OUTCOMES = ("passed", "tolerated", "warned", "failed", "skipped")


@dataclass(frozen=True)
class ReportRequest:
    """What ``runs report`` draws: the project around ``start``, optionally one pipeline, environment and period."""

    start: Path
    pipeline: str | None = None
    env: str | None = None
    #: an ISO date or time, or an age such as ``7d`` (as ``secrets audit --since``)
    since: str | None = None
    #: at most this many runs per pipeline and environment, the newest
    limit: int = 100


@dataclass(frozen=True)
class StageSeries:
    """One stage's rows out (sinks: written; sources: read) in each run of a section, oldest first.

    None where the run has no such stage or did not count its rows (it failed before).
    """

    name: str
    kind: str
    rows_out: tuple[int | None, ...]


@dataclass(frozen=True)
class CheckRate:
    """How often one check breached in a section's runs: its outcomes counted over the runs that had it."""

    name: str
    stage: str | None
    outcomes: tuple[tuple[str, int], ...]

    def count(self, outcome: str) -> int:
        return dict(self.outcomes).get(outcome, 0)

    @property
    def judged(self) -> int:
        """Runs that judged the check (a replay skips dataset-level checks)."""
        return sum(n for outcome, n in self.outcomes if outcome != "skipped")

    @property
    def breached(self) -> int:
        return sum(self.count(outcome) for outcome in BREACHED)

    @property
    def failure_rate(self) -> float | None:
        """Breached runs / judged runs; None when no run judged it."""
        return self.breached / self.judged if self.judged else None


@dataclass(frozen=True)
class PipelineReport:
    """The runs of one pipeline in one environment, oldest first, with their stages and checks."""

    pipeline: str
    env: str
    runs: tuple[RunDetail, ...]

    @property
    def statuses(self) -> dict[str, int]:
        return dict(Counter(detail.run.status for detail in self.runs))

    def stages(self) -> tuple[StageSeries, ...]:
        """Each stage any run had, in the order the newest run that had it ran them (earlier ones' extras after)."""
        kinds: dict[str, str] = {}
        for detail in reversed(self.runs):
            for stage in detail.stages:
                kinds.setdefault(stage.name, stage.kind)
        series = []
        for name, kind in kinds.items():
            counts = tuple({s.name: s.rows_out for s in detail.stages}.get(name) for detail in self.runs)
            series.append(StageSeries(name, kind, counts))
        return tuple(series)

    def checks(self) -> tuple[CheckRate, ...]:
        """Each check any run had, by name, with its outcomes counted; in the order they first appear."""
        found: dict[str, tuple[str | None, Counter[str]]] = {}
        for detail in self.runs:
            for check in detail.checks:
                found.setdefault(check.name, (check.stage, Counter()))[1][check.outcome] += 1
        return tuple(
            CheckRate(name, stage, tuple((o, counted[o]) for o in _ordered(counted)))
            for name, (stage, counted) in found.items()
        )


@dataclass(frozen=True)
class RunReport:
    """Everything the page shows: one section per pipeline and environment, and what was asked."""

    store: Path
    generated_at: datetime
    request: ReportRequest
    since: datetime | None
    sections: tuple[PipelineReport, ...]

    @property
    def run_count(self) -> int:
        return sum(len(section.runs) for section in self.sections)


def build_report(request: ReportRequest, now: datetime | None = None) -> RunReport:
    """The report ``request`` asks for; a usage error (exit 2) for a pipeline the history never saw."""
    moment = now or datetime.now(UTC)
    since = parse_since(request.since, moment)
    history = open_history(request.start)
    if request.pipeline is not None:
        _require_pipeline(history, request.pipeline)
    runs = [r for r in history.runs(request.pipeline, request.env) if since is None or _started(r) >= since]
    sections = tuple(_section(history, key, group, request.limit) for key, group in _grouped(runs).items())
    return RunReport(history.path, moment, request, since, sections)


def _require_pipeline(history: History, pipeline: str) -> None:
    known = sorted(history.last_runs())
    if pipeline not in known:
        hint = did_you_mean(pipeline, known) or (
            f"pipelines with runs: {', '.join(known)}" if known else "etl-cli run PIPELINE records a run"
        )
        raise UsageError(f"no run of pipeline '{pipeline}' in the run history {history.path}", hint=hint)


def _grouped(runs: Sequence[RunRow]) -> dict[tuple[str, str], list[RunRow]]:
    """Runs (newest first) by pipeline and environment, sections in pipeline then environment order."""
    groups: dict[tuple[str, str], list[RunRow]] = {}
    for run in runs:
        groups.setdefault((run.pipeline, run.env), []).append(run)
    return dict(sorted(groups.items()))


def _section(history: History, key: tuple[str, str], newest_first: list[RunRow], limit: int) -> PipelineReport:
    chosen = reversed(newest_first[:limit])
    return PipelineReport(key[0], key[1], tuple(history.detail(run) for run in chosen))


def _started(run: RunRow) -> datetime:
    """When ``run`` started, as an aware time (the history keeps ISO times; one without a zone is UTC)."""
    moment = datetime.fromisoformat(run.started_at)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ordered(counted: Counter[str]) -> list[str]:
    """The outcomes counted, known ones in :data:`OUTCOMES` order, others after them by name."""
    return [o for o in OUTCOMES if o in counted] + sorted(set(counted) - set(OUTCOMES))
