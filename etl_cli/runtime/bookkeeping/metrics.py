"""A run's metrics for Prometheus, built from its run results, and handed to the pipeline's exporter.

Every value describes the latest run of one pipeline in one environment (gauges, not
counters: a batch run's numbers replace the previous run's). The names and labels are
documented in docs/metrics.md. Exporting is best effort: a metrics backend that is down
costs a warning, never the run's outcome or exit code.
"""

from __future__ import annotations

import json
import threading
import time
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


def stream_families(progresses: Sequence[Mapping[str, Any]], now: float | None = None) -> list[Family]:
    """From each running query's last progress report (its JSON, see :func:`progress_json`), as of ``now``.

    Ids, rows, rates and duration of the last micro-batch; the watermark and its lag behind the
    wall clock; the state each stateful operator keeps; rows the watermark dropped; how far each
    Kafka partition's latest offset is ahead of what the query has processed.
    """
    now = time.time() if now is None else now
    batch = Family("etl_stream_batch_id", "The id of the sink's last finished micro-batch.")
    rows = Family("etl_stream_input_rows", "Rows the sink's last micro-batch read.")
    input_rate = Family("etl_stream_input_rows_per_second", "Rows per second arriving, over the last micro-batch.")
    processed = Family("etl_stream_processed_rows_per_second", "Rows per second processed in the last micro-batch.")
    duration = Family("etl_stream_batch_duration_seconds", "How long the last micro-batch took, end to end.")
    active = Family("etl_stream_query_active", "1 while the sink's streaming query runs.")
    last = Family("etl_stream_last_progress_timestamp_seconds", "When the query last reported progress (Unix time).")
    families = [batch, rows, input_rate, processed, duration, active, last]
    for progress in progresses:
        sink = str(progress.get("name") or progress.get("id"))
        batch.add(progress.get("batchId"), sink=sink)
        rows.add(progress.get("numInputRows"), sink=sink)
        input_rate.add(progress.get("inputRowsPerSecond"), sink=sink)
        processed.add(progress.get("processedRowsPerSecond"), sink=sink)
        trigger_ms = (progress.get("durationMs") or {}).get("triggerExecution")
        duration.add(None if trigger_ms is None else trigger_ms / 1000, sink=sink)
        active.add(1, sink=sink)
        last.add(spark_time(progress.get("timestamp")), sink=sink)
    return families + watermark_families(progresses, now) + state_families(progresses) + kafka_lag(progresses)


def watermark_families(progresses: Sequence[Mapping[str, Any]], now: float) -> list[Family]:
    """The event-time watermark, and how far it is behind ``now`` (none before the first event sets it)."""
    watermark = Family("etl_stream_watermark_timestamp_seconds", "The query's event-time watermark (Unix time).")
    lag = Family("etl_stream_watermark_lag_seconds", "Wall-clock time minus the query's event-time watermark.")
    for progress in progresses:
        sink = str(progress.get("name") or progress.get("id"))
        mark = spark_time((progress.get("eventTime") or {}).get("watermark"))
        watermark.add(mark, sink=sink)
        if mark:  # Spark reports the epoch (0) until an event sets the watermark: no lag to speak of yet
            lag.add(now - mark, sink=sink)
    return [watermark, lag]


def state_families(progresses: Sequence[Mapping[str, Any]]) -> list[Family]:
    """Rows and memory each stateful operator keeps, and the late rows the watermark dropped in the last batch."""
    state_rows = Family("etl_stream_state_rows", "Rows a stateful operator of the query keeps in its state store.")
    memory = Family("etl_stream_state_memory_bytes", "Memory a stateful operator's state store uses.")
    dropped = Family(
        "etl_stream_late_rows_dropped",
        "Rows the watermark dropped as too late in the last micro-batch (all stateful operators).",
    )
    dead_lettered = Family(
        "etl_stream_late_rows_dead_lettered",
        "Records later than the watermark a stateful stage sent to the dead-letter queue, last micro-batch.",
    )
    for progress in progresses:
        sink = str(progress.get("name") or progress.get("id"))
        operators = list(progress.get("stateOperators") or [])
        for name, operator in zip(_operator_names(operators), operators, strict=True):
            state_rows.add(operator.get("numRowsTotal"), sink=sink, operator=name)
            memory.add(operator.get("memoryUsedBytes"), sink=sink, operator=name)
        if operators:
            dropped.add(sum(int(op.get("numRowsDroppedByWatermark") or 0) for op in operators), sink=sink)
        late: dict[str, int] = {}  # per stage (a join observes each side: etl_late_<join>#<input>)
        for name, observed in sorted((progress.get("observedMetrics") or {}).items()):
            if name.startswith("etl_late_") and isinstance(observed, Mapping):
                stage = name.removeprefix("etl_late_").split("#", 1)[0]
                late[stage] = late.get(stage, 0) + int(observed.get("rows") or 0)
        for stage, rows in late.items():
            dead_lettered.add(rows, sink=sink, stage=stage)
    return [state_rows, memory, dropped, dead_lettered]


def kafka_lag(progresses: Sequence[Mapping[str, Any]]) -> list[Family]:
    """Per Kafka topic and partition: the latest offset minus the end offset the last micro-batch processed."""
    lag = Family(
        "etl_stream_kafka_consumer_lag", "Records in a Kafka partition the query has not processed yet (latest - end)."
    )
    for progress in progresses:
        sink = str(progress.get("name") or progress.get("id"))
        for source in progress.get("sources") or []:
            latest, end = kafka_offsets(source.get("latestOffset")), kafka_offsets(source.get("endOffset"))
            for (topic, partition), offset in sorted(latest.items()):
                if (topic, partition) in end:
                    lag.add(max(offset - end[(topic, partition)], 0), sink=sink, topic=topic, partition=partition)
    return [lag]


def progress_json(progress: Any) -> dict[str, Any]:
    """A ``StreamingQuery.lastProgress`` as Spark's own JSON.

    PySpark 4 returns a dict subclass whose sources hold offsets as Python reprs
    (``"{'topic': {'0': 5}}"``); its ``json`` property is Spark's JSON, offsets as objects.
    """
    text = getattr(progress, "json", None)
    return dict(json.loads(text)) if isinstance(text, str) else dict(progress)


def kafka_offsets(value: Any) -> dict[tuple[str, str], int]:
    """Kafka offsets, ``{"topic": {"0": 42}}`` (or its JSON text), by (topic, partition); empty for other sources."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, Mapping):
        return {}
    return {
        (str(topic), str(partition)): int(offset)
        for topic, partitions in value.items()
        if isinstance(partitions, Mapping)
        for partition, offset in partitions.items()
        if isinstance(offset, int) and not isinstance(offset, bool)
    }


def _operator_names(operators: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each operator's name, numbered from the second on when a query has several of one kind (two aggregates)."""
    seen: dict[str, int] = {}
    names = []
    for operator in operators:
        name = str(operator.get("operatorName") or "state")
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


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
            progresses = [progress_json(q.lastProgress) for q in self.spark.streams.active if q.lastProgress]
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


def spark_time(value: str | None) -> float | None:
    """A time as Spark's progress writes it (``2026-11-25T10:00:00.000Z``), in Unix time."""
    return None if value is None else _unix(value.replace("Z", "+00:00"))


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
