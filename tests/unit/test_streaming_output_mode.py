"""``streaming.output_mode``: which sinks may take the updated rows of an aggregating stream, checked offline
by ``validate``, and the output mode each sink's query gets. No JVM, no broker."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from etl_cli import app
from etl_cli.diagnostics import Diagnostic
from etl_cli.plugins.sinks.files import JsonSink
from etl_cli.plugins.sinks.jdbc import JdbcSink
from etl_cli.plugins.sinks.kafka import KafkaSink

from .helpers import make_project, write

HEAD = """
streaming:
  checkpoint_location: ck
  output_mode: update
sources:
  - name: events
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: events
    schema: {id: BIGINT, sensor: STRING, event_time: TIMESTAMP}
    watermark: {column: event_time, delay: 10 seconds}
transforms:
  - name: per_second
    type: aggregate
    inputs: [events]
    window: {column: event_time, duration: 1 second}
    group_by: [sensor]
    aggregations: {events: {function: count}}
sinks:
"""
KAFKA_SINK = "  - {name: live, type: kafka, input: per_second, bootstrap_servers: localhost:9092, topic: counts}\n"
JDBC_SINK = (
    "  - {name: live, type: jdbc, input: per_second, url: 'jdbc:postgresql://db:5432/x', table: counts, "
    "mode: upsert%s}\n"
)


def errors(tmp_path: Path, sinks: str, head: str = HEAD) -> list[Diagnostic]:
    make_project(tmp_path, {"p/pipeline.yaml": head + sinks})
    [report] = app.validate([tmp_path / "p"])
    return [d for d in report.diagnostics if d.severity == "error"]


def spec_of(tmp_path: Path, sinks: str, head: str = HEAD) -> Any:
    make_project(tmp_path, {"p/pipeline.yaml": head + sinks})
    return app.load_spec(tmp_path / "p", None, environ={})[1]


def test_output_mode_defaults_to_append(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, KAFKA_SINK, HEAD.replace("  output_mode: update\n", ""))
    assert spec.streaming.output_mode == "append"
    assert spec.streaming.output_mode_for(KafkaSink, "append") == "append"


def test_a_kafka_sink_takes_updates_natively(tmp_path: Path) -> None:
    assert errors(tmp_path, KAFKA_SINK) == []
    spec = spec_of(tmp_path, KAFKA_SINK)
    assert spec.streaming.output_mode == "update"
    assert spec.streaming.output_mode_for(KafkaSink, spec.stage("live").options["mode"]) == "update"


def test_a_kafka_sink_of_window_updates_without_a_key_is_warned_about(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": HEAD + KAFKA_SINK})
    [report] = app.validate([tmp_path / "p"])
    [found] = [d for d in report.diagnostics if d.code == "streaming-output-mode"]
    assert found.severity == "warning" and "without a key_column" in found.message
    keyed = KAFKA_SINK.replace("topic: counts}", "topic: counts, key_column: sensor}")
    write(tmp_path, "p/pipeline.yaml", textwrap.dedent(HEAD).lstrip("\n") + keyed)
    [report] = app.validate([tmp_path / "p"])
    assert [d for d in report.diagnostics if d.code == "streaming-output-mode"] == []


def test_a_jdbc_upsert_takes_updates_keyed_on_the_window_and_groups(tmp_path: Path) -> None:
    assert errors(tmp_path, JDBC_SINK % ", keys: [window_start, sensor]") == []
    assert errors(tmp_path, JDBC_SINK % ", keys: [window_start, window_end, sensor]") == []
    assert errors(tmp_path, JDBC_SINK % "") == [], "without keys, the table's primary key is used"
    spec = spec_of(tmp_path, JDBC_SINK % "")
    assert spec.streaming.output_mode_for(JdbcSink, "upsert") == "update"


def test_upsert_keys_that_do_not_identify_a_window_row_are_refused(tmp_path: Path) -> None:
    [found] = errors(tmp_path, JDBC_SINK % ", keys: [sensor]")
    assert found.code == "streaming-output-mode"
    assert found.message == (
        "sink 'live' upserts the updates of 'per_second' keyed on sensor, but each of its rows is identified by "
        "window_start, sensor"
    )
    assert found.hint is not None and found.hint.startswith("keys: [window_start, sensor]")
    [more] = errors(tmp_path, JDBC_SINK % ", keys: [window_start, sensor, events]")
    assert more.code == "streaming-output-mode"


def test_group_by_aliases_name_the_upsert_keys(tmp_path: Path) -> None:
    head = HEAD.replace("group_by: [sensor]", 'group_by: ["upper(sensor) AS site"]')
    assert errors(tmp_path, JDBC_SINK % ", keys: [window_start, site]", head) == []
    assert [d.code for d in errors(tmp_path, JDBC_SINK % ", keys: [window_start, sensor]", head)] == [
        "streaming-output-mode"
    ]


def test_group_by_entries_are_named_as_spark_names_them(tmp_path: Path) -> None:
    """Each group_by entry is parsed as SQL: a quoted column, an alias with or without AS; an expression without
    an alias has a name only Spark knows, so the keys are not checked against it."""
    for group_by, keys in [
        ('["`sensor`"]', "window_start, sensor"),
        ('["upper(sensor) site"]', "window_start, site"),
        ('["upper(sensor) AS `Site`", "id"]', "window_start, Site, id"),
        ('["events.sensor"]', "window_start, sensor"),
    ]:
        head = HEAD.replace("group_by: [sensor]", f"group_by: {group_by}")
        assert errors(tmp_path, JDBC_SINK % f", keys: [{keys}]", head) == [], group_by
        [found] = errors(tmp_path, JDBC_SINK % ", keys: [window_start]", head)
        assert found.message.endswith(f"each of its rows is identified by {keys}"), group_by
    head = HEAD.replace("group_by: [sensor]", 'group_by: ["upper(sensor)"]')
    assert errors(tmp_path, JDBC_SINK % ", keys: [window_start]", head) == []


def test_a_file_sink_fed_by_an_aggregate_refuses_update_at_its_line(tmp_path: Path) -> None:
    sink = "  - name: files\n    type: json\n    input: per_second\n    path: out\n"
    [found] = errors(tmp_path, sink)
    type_line = (textwrap.dedent(HEAD).lstrip("\n") + sink).splitlines().index("    type: json") + 1
    assert found.code == "streaming-output-mode"
    assert found.location is not None and found.location.file.endswith("pipeline.yaml")
    assert (found.location.line, found.location.column) == (type_line, 11), "at the sink's type: json"
    assert "sink 'files' (json, mode append) can only append" in found.message
    assert "transform 'per_second' aggregates its input" in found.message
    assert found.hint is not None
    assert "kafka sink" in found.hint and "mode: upsert" in found.hint and "output_mode: append" in found.hint


def test_a_file_sink_of_raw_events_appends_beside_an_updating_sink(tmp_path: Path) -> None:
    raw = "  - {name: raw, type: parquet, input: events, path: raw}\n"
    assert errors(tmp_path, KAFKA_SINK + raw) == []
    spec = spec_of(tmp_path, KAFKA_SINK + raw)
    assert spec.streaming.output_mode_for(JsonSink, "append") == "append", "a file sink is never given update"


def test_update_on_a_join_of_two_streams_is_refused(tmp_path: Path) -> None:
    head = HEAD.replace(
        "transforms:\n",
        "  - {name: other, type: kafka, mode: stream, bootstrap_servers: 'localhost:9092', topic: other, "
        "schema: {id: BIGINT, event_time: TIMESTAMP}, watermark: {column: event_time, delay: 10 seconds}}\n"
        "transforms:\n"
        "  - {name: both, type: join, inputs: [events, other], on: [id], how: inner,\n"
        "     within: {left: event_time, right: event_time, lower: -1 minute, upper: 1 minute}}\n",
    )
    sink = "  - {name: pairs, type: kafka, input: both, bootstrap_servers: 'localhost:9092', topic: pairs}\n"
    found = errors(tmp_path, KAFKA_SINK + sink, head)
    assert [(d.code, d.message.split(" (")[0]) for d in found] == [
        ("streaming-output-mode", "sink 'pairs' writes the join of two streams")
    ]
    assert errors(tmp_path, KAFKA_SINK + sink, head.replace("output_mode: update", "output_mode: append")) == []


def test_unknown_output_modes_are_refused_by_the_schema(tmp_path: Path) -> None:
    found = errors(tmp_path, KAFKA_SINK, HEAD.replace("output_mode: update", "output_mode: complete"))
    assert len(found) == 1 and "complete" in found[0].message
