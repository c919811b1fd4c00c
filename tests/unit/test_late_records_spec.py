"""validate and the watermark's ``late`` option: late records of a windowed aggregate, a session window, a
deduplicate and a join of two streams go to the dead-letter queue when the pipeline has one, are dropped
with a warning when it has none, and ``late: dead_letter`` without a queue is an error (docs/streaming.md,
Late records). No JVM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from etl_cli import app
from etl_cli.config.nodes import Provenance
from etl_cli.model.late import Stage, document_stages, late_action, late_problems, late_splits

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


def late_data(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    make_project(tmp_path, {"p/pipeline.yaml": text})
    [report] = app.validate([tmp_path / "p"])
    return [(d.severity, d.message) for d in report.diagnostics if d.code == "late-data"]


def test_a_session_window_routes_its_late_records_and_warns_only_without_a_queue(tmp_path: Path) -> None:
    text = PIPELINE.format(late="", queue=QUEUE).replace("duration: 1 minute", "gap: 5 minutes")
    assert late_data(tmp_path, text) == []
    found = late_data(tmp_path, PIPELINE.format(late="", queue="").replace("duration: 1 minute", "gap: 5 minutes"))
    assert len(found) == 1 and found[0][0] == "warning" and "per_minute" in found[0][1] and "dropped" in found[0][1]


STATEFUL = """\
streaming: {{checkpoint_location: ck}}
sources:
  - name: clicks
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: clicks
    schema: {{click_id: BIGINT, ad_id: BIGINT, click_time: TIMESTAMP}}
    watermark: {{column: click_time, delay: 1 minute}}
  - name: views
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: views
    schema: {{ad_id: BIGINT, view_time: TIMESTAMP}}
    watermark: {{column: view_time, delay: 1 minute}}
transforms:
  - name: unique_clicks
    type: deduplicate
    inputs: [{dedup_input}]
    keys: [click_id]
    within_watermark: true
  - name: matched
    type: join
    inputs: [{join_inputs}]
    on: [ad_id]
    within: {{left: click_time, right: view_time, lower: "-10 minutes", upper: "0 seconds"}}
sinks:
  - {{name: u, type: json, input: unique_clicks, path: u}}
  - {{name: m, type: json, input: matched, path: m}}
{queue}"""


def test_a_deduplicate_and_a_join_of_two_streams_route_their_late_records(tmp_path: Path) -> None:
    text = STATEFUL.format(dedup_input="clicks", join_inputs="clicks, views", queue=QUEUE)
    assert late_data(tmp_path, text) == []
    stages = document_stages(yaml.safe_load(text))
    splits = {s.stage: (s.rule, s.column, s.sources) for s in late_splits(stages, True)}
    assert splits == {
        "unique_clicks": ("event", "click_time", (("clicks", "1 minute"),)),
        "matched": ("event", "click_time", (("clicks", "1 minute"), ("views", "1 minute"))),
    }
    # without a queue: each is dropped, and validate says so at the stage
    found = late_data(tmp_path, STATEFUL.format(dedup_input="clicks", join_inputs="clicks, views", queue=""))
    assert sorted(message.split("'")[1] for _, message in found) == ["matched", "unique_clicks"]
    assert all(severity == "warning" and "dropped" in message for severity, message in found)


def test_a_stateful_stage_after_another_is_not_covered_and_says_so(tmp_path: Path) -> None:
    # the join reads the deduplicate: Spark judges its late records by another watermark than the batch's
    text = STATEFUL.format(dedup_input="clicks", join_inputs="unique_clicks, views", queue=QUEUE)
    found = late_data(tmp_path, text)
    assert len(found) == 1 and found[0][0] == "warning"
    assert "'matched'" in found[0][1] and "after the stateful stage 'unique_clicks'" in found[0][1]
    assert [s.stage for s in late_splits(document_stages(yaml.safe_load(text)), True)] == ["unique_clicks"]


def test_a_join_of_three_streams_is_not_covered_and_says_so() -> None:
    watermark = {"column": "ts", "delay": "5 seconds"}
    document: dict[str, Any] = {
        "sources": [{"name": n, "type": "kafka", "watermark": watermark} for n in ("a", "b", "c")],
        "transforms": [{"name": "j", "type": "join", "inputs": ["a", "b", "c"], "on": ["k"]}],
        "sinks": [{"name": "out", "type": "json", "input": "j"}],
        "dead_letter": {"type": "json", "path": "dlq"},
    }
    assert late_splits(document_stages(document), True) == []
    [found] = late_problems(document, Provenance())
    assert found.severity == "warning" and "a join of more than two inputs" in found.message
    # a stream joined with a batch source keeps no state: nothing to route, nothing to warn about
    document["sources"][1:] = [{"name": "b", "type": "jdbc"}]
    document["transforms"][0]["inputs"] = ["a", "b"]
    assert late_splits(document_stages(document), True) == [] and late_problems(document, Provenance()) == []


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
    [session] = late_splits(stages(None, {"column": "ts", "gap": "10 seconds"}), True)
    assert (session.rule, session.duration, session.slide) == ("session", "10 seconds", None)
    assert late_action({"column": "ts"}, True) == "dead_letter" and late_action({"late": "drop"}, True) == "drop"


def test_the_late_records_of_the_last_micro_batch_are_a_stream_metric() -> None:
    from etl_cli.runtime.bookkeeping.metrics import stream_families

    progress = {
        "name": "out",
        "batchId": 3,
        "stateOperators": [{"operatorName": "stateStoreSave", "numRowsDroppedByWatermark": 2}],
        "observedMetrics": {
            "etl_late_per_minute": {"rows": 3, "letters": []},
            "etl_late_matched#clicks": {"rows": 1, "letters": []},  # a join: each side, one stage
            "etl_late_matched#views": {"rows": 2, "letters": []},
            "etl_sink_out": {"rows": 7},
        },
    }
    families = {f.name: f.samples for f in stream_families([progress], now=0)}
    assert families["etl_stream_late_rows_dead_lettered"] == [
        ({"sink": "out", "stage": "matched"}, 3.0),
        ({"sink": "out", "stage": "per_minute"}, 3.0),
    ]
    assert families["etl_stream_late_rows_dropped"] == [({"sink": "out"}, 2.0)]
