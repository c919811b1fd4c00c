"""A run's metrics for Prometheus, built from its run results, and handed to the pipeline's exporter.

Every value describes the latest run of one pipeline in one environment (gauges, not
counters: a batch run's numbers replace the previous run's). The names and labels are
documented in docs/metrics.md. Exporting is best effort: a metrics backend that is down
costs a warning, never the run's outcome or exit code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from etl_cli.events import Reporter
from etl_cli.model.metrics import MetricsSpec
from etl_cli.plugins.api import MetricsExporter
from etl_cli.plugins.registry import Registry
from etl_cli.runtime.bookkeeping.results import RunResults
from etl_cli.runtime.safeguards.resilience import RetryPolicy, first_line, retry_call

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from pyspark.sql import SparkSession

_CIRCUIT_STATES = ("closed", "open", "half_open")
_TRANSITION_KEYS = {"closed": "circuit_closed", "open": "circuit_opened", "half_open": "circuit_half_opened"}
_OUTCOMES = ("passed", "tolerated", "warned", "failed", "skipped")
#: a push that fails is tried three times in all, a second apart at first
_PUSH_RETRY = RetryPolicy(attempts=3, initial_delay=1.0, max_delay=4.0, jitter=0.5)


@dataclass
class Family:
    """One metric: its name, help text and samples (labels → value); every sample has the same label names."""

    name: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float | int | None, **labels: str) -> None:
        if value is not None:
            self.samples.append((labels, float(value)))


class RunMetrics:
    """The :class:`~etl_cli.plugins.api.MetricsSnapshot` of one run."""

    def __init__(self, results: RunResults, streams: Sequence[Mapping[str, Any]] | None = None):
        self.results = results
        #: the last progress of each running streaming query (``StreamingQuery.lastProgress``)
        self.streams = streams or []
        self.identity: Mapping[str, str] = {"pipeline": results.pipeline, "env": results.env or "default"}

    def registry(self, labels: Mapping[str, str]) -> CollectorRegistry:
        from prometheus_client import CollectorRegistry

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self.families(), dict(labels)))
        return registry

    def families(self) -> list[Family]:
        found = run_families(self.results) + stage_families(self.results)
        found += quality_families(self.results.quality) + dead_letter_families(self.results.dead_letters)
        found += endpoint_families(self.results.resilience) + stream_families(self.streams)
        return [f for f in found if f.samples]


def run_families(results: RunResults) -> list[Family]:
    success = results.status == "success"
    families = [
        Family("etl_run_success", "1 if the latest run succeeded, else 0."),
        Family("etl_run_exit_code", "The latest run's exit code (0 ok, 3 quality gate, 4 run failed, ...)."),
        Family("etl_run_duration_seconds", "How long the latest run took."),
        Family("etl_run_started_timestamp_seconds", "When the latest run started (Unix time)."),
        Family("etl_run_finished_timestamp_seconds", "When the latest run ended (Unix time)."),
        Family("etl_run_last_success_timestamp_seconds", "When the pipeline last succeeded (Unix time)."),
    ]
    families[3].add(_unix(results.started_at))
    if results.status == "running":  # a streaming run, exported while it goes on
        return families
    families[0].add(1 if success else 0)
    families[1].add(results.exit_code)
    families[2].add(results.duration_s)
    families[4].add(_unix(results.ended_at))
    if success:
        families[5].add(_unix(results.ended_at))
    return families


def stage_families(results: RunResults) -> list[Family]:
    rows_in = Family("etl_stage_rows_in", "Rows a stage read from its inputs in the latest run.")
    rows_out = Family("etl_stage_rows_out", "Rows a stage produced (sinks: wrote) in the latest run.")
    duration = Family("etl_stage_duration_seconds", "How long a stage took in the latest run.")
    status = Family("etl_stage_status", "1 for the status the stage ended with in the latest run (ok, failed, ...).")
    for stage in results.stages:
        labels = {"stage": stage.name, "kind": stage.kind}
        rows_in.add(stage.rows_in, **labels)
        rows_out.add(stage.rows_out, **labels)
        duration.add(stage.duration_s, **labels)
        status.add(1, **labels, status=stage.status)
    return [rows_in, rows_out, duration, status]


def quality_families(report: Mapping[str, Any] | None) -> list[Family]:
    if not report:
        return []
    evaluated = Family("etl_quality_rows_evaluated", "Rows a data-quality check evaluated in the latest run.")
    failed = Family("etl_quality_rows_failed", "Rows that failed a data-quality check in the latest run.")
    ratio = Family("etl_quality_failure_ratio", "Failed rows / evaluated rows of a check in the latest run.")
    outcome = Family("etl_quality_check_outcome", "1 for a check's outcome in the latest run, 0 for the others.")
    for check in report.get("checks", []):
        labels = {"check": check["name"], "stage": check["stage"], "type": check["type"], "action": check["action"]}
        evaluated.add(check.get("rows_evaluated"), **labels)
        failed.add(check.get("rows_failed"), **labels)
        ratio.add(check.get("failure_rate"), **labels)
        for name in _OUTCOMES:
            outcome.add(1 if check["outcome"] == name else 0, check=check["name"], stage=check["stage"], outcome=name)
    removed = Family("etl_quality_rows_removed", "Rows checks removed from a stage (drop and quarantine).")
    quarantined = Family("etl_quality_rows_quarantined", "Rows checks sent from a stage to the dead-letter queue.")
    for stage in report.get("stages", []):
        removed.add(stage.get("rows_removed"), stage=stage["stage"])
        quarantined.add(stage.get("rows_quarantined"), stage=stage["stage"])
    contract = Family("etl_contract_ok", "1 if a stage matched its schema contract in the latest run, else 0.")
    for note in report.get("contracts", []):
        contract.add(1 if note.get("status") == "ok" else 0, stage=note["stage"], policy=str(note.get("policy")))
    return [evaluated, failed, ratio, outcome, removed, quarantined, contract]


def dead_letter_families(summary: Mapping[str, Any] | None) -> list[Family]:
    if not summary:
        return []
    rows = Family("etl_dead_letter_rows", "Rows the latest run sent to the dead-letter queue, per stage and kind.")
    for stage, kinds in sorted(summary.get("by_stage", {}).items()):
        for kind, count in sorted(kinds.items()):
            rows.add(count, stage=stage, kind=kind)
    written = Family("etl_dead_letter_written", "1 if the latest run published its dead letters, else 0.")
    written.add(1 if summary.get("written") else 0)
    return [rows, written]


def endpoint_families(resilience: Mapping[str, Any] | None) -> list[Family]:
    if not resilience:
        return []
    counted = {
        "attempts": Family("etl_endpoint_attempts", "Operations tried against an external endpoint in the latest run."),
        "failures": Family("etl_endpoint_failures", "Of those, failures that count against its circuit breaker."),
        "retries": Family("etl_endpoint_retries", "Retries (after backoff) against an endpoint in the latest run."),
        "rejected": Family("etl_endpoint_rejected", "Operations an open circuit breaker refused without trying."),
    }
    state = Family("etl_circuit_breaker_state", "1 for an endpoint's circuit-breaker state at the end of the run.")
    moves = Family("etl_circuit_breaker_transitions", "Times an endpoint's circuit breaker moved to a state.")
    for endpoint, values in resilience.items():
        for key, family in counted.items():
            family.add(values.get(key), endpoint=endpoint)
        for name in _CIRCUIT_STATES:
            state.add(1 if values.get("state") == name else 0, endpoint=endpoint, state=name)
        for name, key in (
            ("open", "circuit_opened"),
            ("half_open", "circuit_half_opened"),
            ("closed", "circuit_closed"),
        ):
            moves.add(values.get(key), endpoint=endpoint, state=name)
    return [*counted.values(), state, moves]


def stream_families(progresses: Sequence[Mapping[str, Any]]) -> list[Family]:
    """From each running query's last micro-batch: its id, rows, rates, duration and watermark."""
    batch = Family("etl_stream_batch_id", "The id of the sink's last finished micro-batch.")
    rows = Family("etl_stream_input_rows", "Rows the sink's last micro-batch read.")
    input_rate = Family("etl_stream_input_rows_per_second", "Rows per second arriving, over the last micro-batch.")
    processed = Family("etl_stream_processed_rows_per_second", "Rows per second processed in the last micro-batch.")
    duration = Family("etl_stream_batch_duration_seconds", "How long the last micro-batch took, end to end.")
    watermark = Family("etl_stream_watermark_timestamp_seconds", "The query's event-time watermark (Unix time).")
    for progress in progresses:
        sink = str(progress.get("name") or progress.get("id"))
        batch.add(progress.get("batchId"), sink=sink)
        rows.add(progress.get("numInputRows"), sink=sink)
        input_rate.add(progress.get("inputRowsPerSecond"), sink=sink)
        processed.add(progress.get("processedRowsPerSecond"), sink=sink)
        trigger_ms = (progress.get("durationMs") or {}).get("triggerExecution")
        duration.add(None if trigger_ms is None else trigger_ms / 1000, sink=sink)
        mark = (progress.get("eventTime") or {}).get("watermark")
        watermark.add(None if mark is None else _unix(mark.replace("Z", "+00:00")), sink=sink)
    return [batch, rows, input_rate, processed, duration, watermark]


class StreamingPusher:
    """While a streaming run goes on, exports its metrics every ``interval_s`` seconds from a daemon thread.

    A streaming run may last for months: its metrics must not wait for its end. Each export
    carries the run's outcome so far (status ``running``) and the last progress of each query.
    Failed exports are reported once, not at every interval.
    """

    def __init__(
        self,
        spec: MetricsSpec,
        registry: Registry,
        results: Callable[[], RunResults],
        spark: SparkSession,
        reporter: Reporter,
        resolve: Any = lambda value: value,
    ):
        self.exporter = exporter_of(spec, registry, resolve)
        self.interval = float(spec.options.get("interval_s", 15))
        self.results, self.spark, self.reporter = results, spark, reporter
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="etl-metrics", daemon=True)
        self._warned = False

    def __enter__(self) -> StreamingPusher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.push_once()

    def push_once(self) -> None:
        try:
            progresses = [q.lastProgress for q in self.spark.streams.active if q.lastProgress]
            self.exporter.export(RunMetrics(self.results(), progresses))
        except Exception as exc:
            if not self._warned:
                self.reporter.message("warning", f"streaming metrics were not exported: {first_line(exc)}")
                self._warned = True


def export_run_metrics(
    spec: MetricsSpec | None,
    results: RunResults,
    registry: Registry,
    reporter: Reporter,
    resolve: Any = lambda value: value,
) -> dict[str, Any] | None:
    """Hand the run's metrics to the configured exporter; what happened, for the run results (None: no exporter)."""
    if spec is None:
        return None
    exporter = exporter_of(spec, registry, resolve)
    try:
        target = retry_call(lambda: exporter.export(RunMetrics(results)), _PUSH_RETRY, f"metrics {spec.type}")
    except Exception as exc:
        reason = first_line(exc)
        reporter.message("warning", f"metrics were not exported ({spec.type}): {reason}")
        return {"exporter": spec.type, "exported": False, "error": reason}
    reporter.message("info", f"metrics exported to {target}")
    return {"exporter": spec.type, "exported": True, "target": target}


def exporter_of(spec: MetricsSpec, registry: Registry, resolve: Any) -> MetricsExporter:
    """The pipeline's exporter, its options' secret references resolved."""
    plugin = registry.get("metrics", spec.type)
    assert issubclass(plugin, MetricsExporter)
    return plugin(resolve(dict(spec.options)), spec.project_root)


def _unix(value: str | None) -> float | None:
    return None if value is None else datetime.fromisoformat(value).timestamp()


class _Collector:
    def __init__(self, families: list[Family], labels: dict[str, str]):
        self.families, self.labels = families, labels

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        for family in self.families:
            names = [*self.labels, *family.samples[0][0]]
            gauge = GaugeMetricFamily(family.name, family.help, labels=names)
            for labels, value in family.samples:
                gauge.add_metric([*self.labels.values(), *labels.values()], value)
            yield gauge
