"""Real-time mode, checked offline: what ``validate`` accepts with ``trigger: {real_time: ...}`` and what it
refuses, each at its file:line:col, before Spark would refuse it when the query starts. No JVM, no broker
(tests/integration/test_kafka_real_time.py runs a real-time pipeline against the broker)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.model.streaming import Trigger, streaming_settings
from etl_cli.plan.stream_restart import _trigger
from tests.unit.helpers import make_project

HEAD = """\
name: p
streaming: {checkpoint_location: ck, trigger: {real_time: "30 seconds"}}
sources:
  - name: events
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: events
    schema: {event_id: BIGINT, sensor: STRING, value: DOUBLE, event_time: TIMESTAMP}
    metadata: []
  - name: sensors
    type: csv
    path: sensors.csv
    schema: {sensor: STRING, site: STRING}
"""
SINK = "sinks:\n  - {name: out, type: kafka, input: LAST, bootstrap_servers: localhost:9092, topic: out}\n"


def pipeline(transforms: str, last: str, sink: str = SINK, head: str = HEAD) -> str:
    body = textwrap.dedent(transforms).lstrip("\n")
    return head + body + sink.replace("LAST", last)


def errors(tmp_path: Path, text: str) -> list[tuple[str, str, int, int]]:
    """(code, message, line, column) of the errors validate reports."""
    make_project(tmp_path, {"p/pipeline.yaml": text, "p/sensors.csv": "sensor,site\ns1,a\n"})
    [report] = app.validate([tmp_path / "p"])
    return [
        (d.code, d.message, d.location.line if d.location else 0, d.location.column if d.location else 0)
        for d in report.diagnostics
        if d.severity == "error"
    ]


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if fragment in line)


STATELESS = """\
transforms:
  - {name: valid, type: filter, inputs: [events], condition: "value >= 0"}
  - {name: doubled, type: derive, inputs: [valid], columns: {double_value: "value * 2"}}
  - {name: sited, type: lookup, inputs: [doubled, sensors], on: [sensor]}
  - {name: picked, type: select, inputs: [sited], columns: [event_id, sensor, site, double_value]}
"""


def test_a_stateless_pipeline_from_kafka_to_kafka_is_valid(tmp_path: Path) -> None:
    assert errors(tmp_path, pipeline(STATELESS, "picked")) == []


def test_the_trigger_reads_its_batch_duration_and_never_ends_by_itself() -> None:
    trigger = Trigger.from_document({"real_time": "30 seconds"})

    assert (trigger.kind, trigger.interval, trigger.bounded) == ("real_time", "30 seconds", False)
    assert _trigger(trigger) == "real_time 30 seconds"


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (
            "  - {name: counted, type: aggregate, inputs: [events], group_by: [sensor],"
            " aggregations: {n: {function: count}}}",
            "transform 'counted' (aggregate): real-time mode runs stateless transforms only",
        ),
        (
            "  - {name: counted, type: deduplicate, inputs: [events], keys: [event_id]}",
            "transform 'counted' (deduplicate): real-time mode runs stateless transforms only",
        ),
        (
            "  - {name: counted, type: join, inputs: [events, sensors], on: [sensor]}",
            "use a lookup transform (a broadcast left join) instead",
        ),
    ],
)
def test_a_transform_real_time_mode_cannot_run_is_refused_at_its_type(
    tmp_path: Path, stage: str, expected: str
) -> None:
    text = pipeline("transforms:\n" + stage + "\n", "counted")

    [(code, message, line, column)] = [e for e in errors(tmp_path, text) if e[0] == "streaming-real-time"]

    assert code == "streaming-real-time"
    assert expected in message
    assert line == line_of(text, "name: counted")
    assert column == text.splitlines()[line - 1].index("type:") + len("type: ") + 1


def test_a_sink_other_than_kafka_is_refused_at_its_type(tmp_path: Path) -> None:
    sink = "sinks:\n  - name: out\n    type: json\n    input: LAST\n    path: out\n    mode: append\n"
    text = pipeline(STATELESS, "picked", sink)

    found = errors(tmp_path, text)

    assert [(e[0], e[2], e[3]) for e in found] == [("streaming-real-time", line_of(text, "type: json"), 11)]
    assert "real-time mode writes to kafka sinks only" in found[0][1]


def test_a_watermark_and_a_quarantine_check_are_refused_at_their_keys(tmp_path: Path) -> None:
    watermark = "    watermark: {column: event_time, delay: 5 seconds}\n"
    head = HEAD.replace("    metadata: []\n", "    metadata: []\n" + watermark, 1)
    checks = (
        "dead_letter: {path: dlq}\n"
        "checks:\n"
        "  - {name: positive, type: range, stage: valid, column: value, min: 0, action: quarantine}\n"
    )
    text = pipeline(STATELESS, "picked", SINK + checks, head)

    found = {(e[0], e[2]) for e in errors(tmp_path, text)}

    assert ("streaming-real-time", line_of(text, "watermark:")) in found
    assert ("streaming-real-time", line_of(text, "action: quarantine")) in found


def test_over_spark_connect_real_time_mode_is_refused_at_the_trigger(tmp_path: Path) -> None:
    head = HEAD.replace("name: p\n", "name: p\nspark: {remote: 'sc://localhost:15002'}\n")
    text = pipeline(STATELESS, "picked", head=head)

    found = [e for e in errors(tmp_path, text) if "real-time" in e[1]]

    assert found, errors(tmp_path, text)
    assert found[0][2] == line_of(text, "real_time")


def test_two_triggers_at_once_are_refused(tmp_path: Path) -> None:
    head = HEAD.replace('trigger: {real_time: "30 seconds"}', 'trigger: {real_time: "30 seconds", once: true}')

    found = errors(tmp_path, pipeline(STATELESS, "picked", head=head))

    assert ("streaming-trigger", "give one trigger, not real_time and once", 2, 47) in found


def test_streaming_count_rows_false_is_read_into_the_settings(tmp_path: Path) -> None:
    document = {
        "streaming": {"checkpoint_location": "ck", "trigger": {"real_time": "1 minute"}, "count_rows": False},
        "sources": [{"name": "events", "type": "kafka", "mode": "stream"}],
    }
    settings = streaming_settings(document, app.registry())

    assert settings is not None and not settings.count_rows
    document["streaming"].pop("count_rows")
    assert streaming_settings(document, app.registry()).count_rows  # type: ignore[union-attr]
