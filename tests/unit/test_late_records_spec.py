"""validate and the watermark's ``late`` option: late records of a windowed aggregate go to the dead-letter
queue when the pipeline has one, are dropped with a warning when it has none, and ``late: dead_letter``
without a queue is an error (docs/streaming.md, Late records). No JVM."""

from __future__ import annotations

from pathlib import Path

from etl_cli import app
from etl_cli.model.late import Stage, late_action, late_splits

from .helpers import make_project

PIPELINE = """\
streaming: {{checkpoint_location: ck}}
sources:
  - name: events
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: events
    schema: {{id: BIGINT, page: STRING, event_time: TIMESTAMP}}
    watermark: {{column: event_time, delay: 1 minute{late}}}
transforms:
  - name: per_minute
    type: aggregate
    inputs: [events]
    window: {{column: event_time, duration: 1 minute}}
    group_by: [page]
    aggregations: {{n: {{function: count}}}}
sinks:
  - {{name: o, type: json, input: per_minute, path: o}}
{queue}"""
QUEUE = "dead_letter: {type: json, path: dlq}\n"


def diagnostics(tmp_path: Path, late: str = "", queue: str = "") -> list[tuple[str, str, str]]:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE.format(late=late, queue=queue)})
    [report] = app.validate([tmp_path / "p"])
    return [(d.severity, d.code, d.message) for d in report.diagnostics]


def test_without_a_queue_late_records_are_dropped_with_a_warning(tmp_path: Path) -> None:
    found = diagnostics(tmp_path)
    assert [(severity, code) for severity, code, _ in found] == [("warning", "late-data")]
    assert "per_minute" in found[0][2] and "dropped" in found[0][2]


def test_late_drop_says_dropping_is_intended(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, late=", late: drop") == []


def test_late_dead_letter_needs_a_queue(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, late=", late: dead_letter")
    assert ("error", "late-data") in [(severity, code) for severity, code, _ in found]


def test_with_a_queue_late_records_go_there_and_the_queue_counts_as_used(tmp_path: Path) -> None:
    # the queue is used by late records: no "only quarantine checks write to the dead-letter queue" warning
    assert diagnostics(tmp_path, queue=QUEUE) == []
    assert diagnostics(tmp_path, late=", late: dead_letter", queue=QUEUE) == []


def test_an_unknown_late_action_is_refused_by_the_schema(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, late=", late: keep", queue=QUEUE)
    assert any(severity == "error" and "keep" in message for severity, _, message in found)


def test_a_session_window_is_not_covered_and_says_so(tmp_path: Path) -> None:
    text = PIPELINE.format(late="", queue=QUEUE).replace("duration: 1 minute", "gap: 5 minutes")
    make_project(tmp_path, {"p/pipeline.yaml": text})
    [report] = app.validate([tmp_path / "p"])
    found = [(d.severity, d.code, d.message) for d in report.diagnostics if d.code == "late-data"]
    assert len(found) == 1 and found[0][0] == "warning" and "session window" in found[0][2]


def stages(late: str | None, window: dict[str, str]) -> list[Stage]:
    watermark = {"column": "ts", "delay": "5 seconds"} | ({"late": late} if late else {})
    return [
        Stage("source", "s", "kafka", (), {"watermark": watermark}),
        Stage("transform", "f", "filter", ("s",), {"condition": "x > 0"}),
        Stage("transform", "agg", "aggregate", ("f",), {"window": window}),
        Stage("sink", "out", "json", ("agg",), {}),
    ]


def test_splits_follow_the_watermark_through_stateless_stages() -> None:
    [split] = late_splits(stages(None, {"column": "ts", "duration": "10 seconds", "slide": "5 seconds"}), True)
    assert (split.stage, split.column, split.duration, split.slide, split.sources) == (
        "agg",
        "ts",
        "10 seconds",
        "5 seconds",
        (("s", "5 seconds"),),
    )
    assert late_splits(stages(None, {"column": "ts", "duration": "10 seconds"}), False) == []
    assert late_splits(stages("drop", {"column": "ts", "duration": "10 seconds"}), True) == []
    assert late_splits(stages(None, {"column": "other", "duration": "10 seconds"}), True) == []
    assert late_splits(stages(None, {"column": "ts", "gap": "10 seconds"}), True) == []
    assert late_action({"column": "ts"}, True) == "dead_letter" and late_action({"late": "drop"}, True) == "drop"


def test_the_late_records_of_the_last_micro_batch_are_a_stream_metric() -> None:
    from etl_cli.runtime.bookkeeping.metrics import stream_families

    progress = {
        "name": "out",
        "batchId": 3,
        "stateOperators": [{"operatorName": "stateStoreSave", "numRowsDroppedByWatermark": 2}],
        "observedMetrics": {"etl_late_per_minute": {"rows": 3, "letters": []}, "etl_sink_out": {"rows": 7}},
    }
    families = {f.name: f.samples for f in stream_families([progress], now=0)}
    assert families["etl_stream_late_rows_dead_lettered"] == [({"sink": "out", "stage": "per_minute"}, 3.0)]
    assert families["etl_stream_late_rows_dropped"] == [({"sink": "out"}, 2.0)]
