"""Prometheus alerting rules for a project's pipelines, offline: what ``etl-cli alerts export`` writes.

Each rule selects one pipeline's series (``pipeline="NAME"``, and ``env="ENV"`` when the export is made
for an environment) among the metrics runs push (docs/metrics.md) or a running pipeline serves, so its
threshold can be the pipeline's own: a scheduled pipeline is missing once the longest gap between two
fire times of its cron has passed, plus a grace, without a success. A pipeline gets only the rules whose
metrics it can produce: quality rules when it has checks, dead-letter rules with a dead-letter queue,
streaming rules when it runs as continuous streaming queries (``trigger: processing_time``). The rules
and their meaning are listed in docs/observability.md ("Alerts"), which each rule's ``runbook_url`` names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import yaml
from cronsim import CronSim

from etl_cli import __version__
from etl_cli.config.alerts import AlertSettings, AlertThresholds, format_duration
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.schedule import ScheduleSpec

#: the span of fire times the longest gap of a schedule is looked for in: four years hold a 29 February and
#: eight daylight-saving changes; fixed, so that the same schedule always gives the same rules
SCAN_FROM = datetime(2024, 1, 1)
SCAN_YEARS = 4


def longest_gap(schedule: ScheduleSpec) -> timedelta | None:
    """The longest time between two consecutive fire times of ``schedule`` (real time, across daylight-saving
    changes), or None when it fires less than twice in :data:`SCAN_YEARS` years.

    Every day a cron expression fires on, it fires at the same times of day (its minute and hour fields), so
    the gaps are those between the times of one day and those from a day's last time to the next day's first.
    Only days whose clock changes between their first and last time are walked minute by minute.
    """
    zone = schedule.zone
    end = SCAN_FROM.replace(year=SCAN_FROM.year + SCAN_YEARS, tzinfo=zone)
    start = SCAN_FROM.replace(tzinfo=zone) - timedelta(minutes=1)  # fire times come strictly after the start
    fields = CronSim(schedule.cron, start)
    minutes = sorted(h * 60 + m for h in fields.hours for m in fields.minutes)
    within_day = max((b - a for a, b in pairwise(minutes)), default=0)
    days = " ".join(schedule.cron.split()[2:])
    firsts = CronSim(f"{minutes[0] % 60} {minutes[0] // 60} {days}", start)
    lasts = CronSim(f"{minutes[-1] % 60} {minutes[-1] // 60} {days}", start)
    gaps: list[timedelta] = []
    previous_last: datetime | None = None
    for first, last in zip(_until(firsts, end), _until(lasts, end), strict=False):
        if previous_last is not None:
            gaps.append(_utc(first) - _utc(previous_last))
        if first.utcoffset() != last.utcoffset():
            gaps.extend(_gaps_between(schedule.cron, first, last))
        elif within_day:
            gaps.append(timedelta(minutes=within_day))
        previous_last = last
    return max(gaps, default=None)


def _until(times: CronSim, end: datetime) -> Iterator[datetime]:
    for moment in times:
        if moment >= end:
            return
        yield moment


def _gaps_between(cron: str, first: datetime, last: datetime) -> Iterator[timedelta]:
    """The gaps between the fire times from ``first`` to ``last``, walked one by one (a day the clock changes)."""
    previous = first
    for moment in CronSim(cron, first):
        if _utc(moment) > _utc(last):
            return
        yield _utc(moment) - _utc(previous)
        previous = moment


def _utc(moment: datetime) -> datetime:
    """Aware datetimes of one zone subtract as wall times in Python: real time differences need UTC."""
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class RuleSet:
    """The rules file of an export, the pipelines it covers, and what the person exporting should know."""

    text: str
    pipelines: list[str]
    notes: list[str]


@dataclass(frozen=True)
class _Target:
    """One pipeline as its rules see it: its selector, the labels every rule adds, its thresholds."""

    spec: PipelineSpec
    env: str | None
    limits: AlertThresholds
    runbook_url: str

    @property
    def name(self) -> str:
        return self.spec.name

    def select(self, metric: str, **matchers: str) -> str:
        """``metric{pipeline="NAME",env="ENV",...}``: label values quoted as PromQL strings."""
        labels = {"pipeline": self.name, **({"env": self.env} if self.env else {}), **matchers}
        return metric + "{" + ",".join(f"{k}={json.dumps(v)}" for k, v in labels.items()) + "}"

    def rule(self, kind: str, alert: str, expr: str, severity: str, summary: str, description: str) -> dict[str, Any]:
        labels = {"severity": severity, "pipeline": self.name, **({"env": self.env} if self.env else {})}
        return {
            "alert": alert,
            "expr": expr,
            "for": format_duration(self.limits.for_s[kind]),
            "labels": {**labels, **self.limits.labels},
            "annotations": {
                "summary": summary,
                "description": description,
                "runbook_url": f"{self.runbook_url}#{alert.lower()}",
            },
        }


#: how annotations name the pipeline and environment of the series that fired
_WHO = "{{ $labels.pipeline }} (env {{ $labels.env }})"


def rule_file(project: str, specs: Sequence[PipelineSpec], settings: AlertSettings, env: str | None) -> RuleSet:
    """The rules of ``specs`` (in that order), as one group named after ``project``, in YAML."""
    rules: list[dict[str, Any]] = []
    notes = []
    for spec in specs:
        target = _Target(spec, env, settings.for_pipeline(spec.name), settings.runbook_url)
        found, note = _pipeline_rules(target)
        rules += found
        notes += [note] if note else []
    document = {"groups": [{"name": f"etl-cli:{project}", "rules": rules}]}
    where = f", environment {env}" if env else ""
    header = (
        f"# Prometheus alerting rules for the pipelines of project {project}{where}.\n"
        f"# Generated by etl-cli {__version__} (etl-cli alerts export): export again after changing a pipeline,\n"
        "# its schedule or the alerts: settings of etl-project.yaml. See docs/observability.md#alerts.\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)
    return RuleSet(text, [spec.name for spec in specs], notes)


def _pipeline_rules(target: _Target) -> tuple[list[dict[str, Any]], str | None]:
    """The rules of one pipeline, and a note when it gets no "missing" rule though it is not continuous."""
    spec = target.spec
    continuous = spec.streaming is not None and not spec.streaming.trigger.bounded
    rules = [_run_failed(target)]
    note = None
    if not continuous:
        missing, note = _run_missing(target)
        rules += [missing] if missing else []
    if spec.checks:
        rules.append(_quality_failed(target))
    if spec.dead_letter is not None:
        rules.append(_dead_letters(target))
    rules.append(_circuit_open(target))
    if continuous:
        rules += _stream_rules(target)
    return rules, note


def _run_failed(target: _Target) -> dict[str, Any]:
    expr = f"{target.select('etl_run_exit_code')} and {target.select('etl_run_success')} == 0"
    return target.rule(
        "run_failed",
        "EtlRunFailed",
        expr,
        "critical",
        f"Pipeline {target.name} failed",
        f"The latest run of {_WHO} failed with exit code {{{{ $value }}}} (docs: README, exit codes).",
    )


def _run_missing(target: _Target) -> tuple[dict[str, Any] | None, str | None]:
    """The rule of a run missing past its schedule (else past ``max_age``), or why there is none."""
    schedule, limits = target.spec.schedule, target.limits
    gap = longest_gap(schedule) if schedule is not None else None
    if schedule is not None and gap is not None:
        longest = int(gap.total_seconds())
        seconds = longest + limits.grace_s
        why = (
            f"its schedule '{schedule.cron}' ({schedule.timezone}) leaves at most {format_duration(longest)} "
            f"between runs, plus {format_duration(limits.grace_s)} of grace"
        )
    elif limits.max_age_s is not None:
        seconds, why = limits.max_age_s, f"alerts max_age is {format_duration(limits.max_age_s)}"
    elif schedule is not None:
        return None, (
            f"{target.name}: its schedule '{schedule.cron}' fires less than twice in {SCAN_YEARS} years and it has "
            "no alerts max_age: no rule for a missing run"
        )
    else:
        return None, f"{target.name}: no schedule and no alerts max_age: no rule for a missing run"
    return target.rule(
        "run_missing",
        "EtlRunMissing",
        f"time() - {target.select('etl_run_last_success_timestamp_seconds')} > {seconds}",
        "critical",
        f"Pipeline {target.name} has not succeeded for {format_duration(seconds)}",
        f"{_WHO} last succeeded {{{{ $value | humanizeDuration }}}} ago; {why}.",
    ), None


def _quality_failed(target: _Target) -> dict[str, Any]:
    return target.rule(
        "quality_failed",
        "EtlQualityCheckFailed",
        f"{target.select('etl_quality_check_outcome', outcome='failed')} == 1",
        "warning",
        f"A data-quality check of {target.name} failed",
        f"Check {{{{ $labels.check }}}} on stage {{{{ $labels.stage }}}} of {_WHO} failed in the latest run: "
        "its failing rows breached a severity error threshold, so the run stopped before writing.",
    )


def _dead_letters(target: _Target) -> dict[str, Any]:
    limit = target.limits.dead_letter_rows
    return target.rule(
        "dead_letters",
        "EtlDeadLetters",
        f"sum without (stage, kind) ({target.select('etl_dead_letter_rows')}) > {limit}",
        "warning",
        f"Pipeline {target.name} sent rows to its dead-letter queue",
        f"The latest run of {_WHO} sent {{{{ $value }}}} rows to the dead-letter queue (more than {limit}); "
        f"look at them with etl-cli dlq show {target.name}.",
    )


def _circuit_open(target: _Target) -> dict[str, Any]:
    return target.rule(
        "circuit_open",
        "EtlCircuitOpen",
        f"{target.select('etl_circuit_breaker_state', state='open')} == 1",
        "warning",
        f"A circuit breaker of {target.name} is open",
        f"The circuit breaker of endpoint {{{{ $labels.endpoint }}}} was open when the latest run of {_WHO} "
        "ended: the endpoint kept failing and calls to it were refused.",
    )


def _stream_rules(target: _Target) -> list[dict[str, Any]]:
    spec, limits = target.spec, target.limits
    sources = [s for s in spec.stages if s.kind == "source" and s.option("mode") == "stream"]
    rules = []
    if any(s.option("watermark") for s in sources):
        rules.append(
            target.rule(
                "watermark_lag",
                "EtlStreamWatermarkLag",
                f"{target.select('etl_stream_watermark_lag_seconds')} > {limits.watermark_lag_s}",
                "warning",
                f"The watermark of {target.name} lags behind",
                f"The watermark of query {{{{ $labels.sink }}}} of {_WHO} is {{{{ $value | humanizeDuration }}}} "
                f"behind wall time (more than {format_duration(limits.watermark_lag_s)}).",
            )
        )
    if any(s.type == "kafka" for s in sources):
        rules.append(
            target.rule(
                "consumer_lag",
                "EtlStreamConsumerLag",
                f"sum without (partition) ({target.select('etl_stream_kafka_consumer_lag')}) > {limits.consumer_lag}",
                "warning",
                f"{target.name} falls behind its Kafka topic",
                f"Query {{{{ $labels.sink }}}} of {_WHO} is {{{{ $value }}}} messages behind the latest offsets of "
                f"topic {{{{ $labels.topic }}}} (more than {limits.consumer_lag}).",
            )
        )
    rules.append(
        target.rule(
            "stream_stalled",
            "EtlStreamStalled",
            f"time() - {target.select('etl_stream_last_progress_timestamp_seconds')} > {limits.stalled_after_s}",
            "critical",
            f"The streaming queries of {target.name} make no progress",
            f"Query {{{{ $labels.sink }}}} of {_WHO} reported no progress for {{{{ $value | humanizeDuration }}}} "
            f"(more than {format_duration(limits.stalled_after_s)}): it stopped, or its micro-batches hang.",
        )
    )
    return rules
