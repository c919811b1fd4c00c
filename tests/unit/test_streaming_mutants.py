"""What ``validate`` says of a streaming pipeline (etl_cli/model/streaming.py): its sinks under ``output_mode: update``
and its transforms (which upstream stages count as an aggregate or a join of streams: a batch aggregate, a stream
joined with batch data and a union of streams do not; the sink's own mode), the settings a streaming run skips
(retries, the circuit breaker, ``count_rows: false``, a dead-letter queue nothing writes to), the checks a stream
cannot judge, the sinks that cannot write it, a missing checkpoint location, and the trigger a ``streaming:`` block
names. The exact text, hint and place of each refusal and warning. No JVM, no broker.

Then: two triggers in one block; upsert keys that do not identify a window's row (every key named, at the keys), and
keys left unchecked when a group_by expression has no alias (only Spark knows its name); which sinks take update
output; the output mode of a real-time query (update, whatever the sink); and each sink's checkpoint folder; a batch
pipeline's ``streaming:`` block and a sink's ``output_mode`` (warnings that they have no effect, each at its key, the
block's with a hint); and the ``streaming:`` block read in full (``streaming_settings``): every setting written, and
each default (a trigger of "0 seconds", 30 seconds to stop, append, rows counted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli import app
from etl_cli.diagnostics import Diagnostic
from etl_cli.model.streaming import StreamingSettings, Trigger, sink_takes_updates, streaming_settings
from etl_cli.plugins.api import Plugin
from etl_cli.plugins.sinks.files import JsonSink
from etl_cli.plugins.sinks.jdbc import JdbcSink
from etl_cli.plugins.sinks.kafka import KafkaSink
from etl_cli.plugins.sources.kafka import KafkaSource
from tests.unit.helpers import column, make_project, said

HEAD = """\
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
  - name: other
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: other
    schema: {id: BIGINT, sensor: STRING, event_time: TIMESTAMP}
    watermark: {column: event_time, delay: 10 seconds}
  - {name: sensors, type: csv, path: sensors.csv, schema: "sensor STRING, site STRING"}
transforms:
  - name: per_second
    type: aggregate
    inputs: [events]
    window: {column: event_time, duration: 1 second}
    group_by: [sensor]
    aggregations: {events: {function: count}}
  - {name: sites, type: aggregate, inputs: [sensors], group_by: [sensor], aggregations: {n: {function: count}}}
  - {name: placed, type: join, inputs: [events, sites], on: [sensor]}
  - {name: both, type: union, inputs: [events, other]}
  - name: pairs
    type: join
    inputs: [events, other]
    on: [id]
    within: {left: event_time, right: event_time, lower: -1 minute, upper: 1 minute}
sinks:
"""


def validated(tmp_path: Path, sinks: str, head: str = HEAD) -> tuple[str, list[Diagnostic]]:
    """The pipeline ``head`` + ``sinks``, and every diagnostic ``validate`` reports for it."""
    text = head + sinks
    make_project(tmp_path, {"p/pipeline.yaml": text})
    [report] = app.validate([tmp_path / "p"])
    return text, list(report.diagnostics)


def output_modes(tmp_path: Path, sinks: str) -> list[Diagnostic]:
    """The ``streaming-output-mode`` diagnostics (errors and warnings) of the pipeline writing to ``sinks``."""
    return [d for d in validated(tmp_path, sinks)[1] if d.code == "streaming-output-mode"]


def place(text: str, line_fragment: str, token: str, section: str = "sinks:") -> tuple[int, int]:
    """(line, column) of ``token`` on the first line of ``text``'s ``section`` containing ``line_fragment``."""
    lines = text.splitlines()
    start = lines.index(section)
    number = next(n for n in range(start, len(lines)) if line_fragment in lines[n])
    return number + 1, column(lines[number], token)


# --------------------------------------------------------------------------- what counts upstream


def test_a_stream_joined_with_a_batch_aggregate_takes_updates_in_any_sink(tmp_path: Path) -> None:
    # sites aggregates batch data: no window row of the stream is rewritten, so even a file sink may take "update",
    # and the join reads one stream only: no join of two streams for the kafka sink either
    sinks = (
        "  - {name: files, type: json, input: placed, path: f}\n"
        "  - {name: live, type: kafka, input: placed, bootstrap_servers: localhost:9092, topic: placed}\n"
    )
    assert output_modes(tmp_path, sinks) == []


def test_a_union_of_two_streams_is_no_join_and_takes_updates(tmp_path: Path) -> None:
    sinks = "  - {name: merged, type: kafka, input: both, bootstrap_servers: localhost:9092, topic: merged}\n"
    assert output_modes(tmp_path, sinks) == []


def test_a_delta_merge_sink_takes_window_updates_in_its_own_mode(tmp_path: Path) -> None:
    # its first stream mode is append, which takes no update; its mode merge does
    sinks = "  - {name: table, type: delta, input: per_second, path: t, mode: merge, keys: [window_start, sensor]}\n"
    assert output_modes(tmp_path, sinks) == []


# --------------------------------------------------------------------------- what each says, and where


def test_a_file_sink_s_own_update_is_refused_at_its_output_mode(tmp_path: Path) -> None:
    sinks = "  - name: raw\n    type: parquet\n    input: events\n    path: raw\n    output_mode: update\n"
    text = HEAD + sinks
    [found] = output_modes(tmp_path, sinks)
    assert said(found) == (
        "streaming-output-mode",
        "sink 'raw' (parquet, mode append) can only append, but its output_mode is update (Spark refuses update "
        "output into it)",
        "remove output_mode (or set append); only kafka and jdbc with mode: upsert take updates",
        *place(text, "output_mode: update", "update"),
    )


def test_the_pipeline_s_update_into_a_file_sink_of_windows_is_refused_at_its_type(tmp_path: Path) -> None:
    sinks = "  - name: windows\n    type: json\n    input: per_second\n    path: w\n"
    text = HEAD + sinks
    [found] = output_modes(tmp_path, sinks)
    assert said(found) == (
        "streaming-output-mode",
        "sink 'windows' (json, mode append) can only append, but streaming.output_mode is update and transform "
        "'per_second' aggregates its input: a window's row would have to be written again each time it changes",
        "write the live results to a kafka sink or to a jdbc sink with mode: upsert (keys: the window and group "
        "columns), or set streaming.output_mode: append (each window written once, when the watermark passes it); "
        "for both, use two pipelines reading the same topic",
        *place(text, "type: json", "json"),
    )


def test_update_of_a_join_of_two_streams_is_refused_at_the_sink_s_type(tmp_path: Path) -> None:
    sinks = "  - name: joined\n    type: kafka\n    input: pairs\n    bootstrap_servers: localhost:9092\n    topic: j\n"
    text = HEAD + sinks
    [found] = output_modes(tmp_path, sinks)
    assert said(found) == (
        "streaming-output-mode",
        "sink 'joined' writes the join of two streams ('pairs'), which Spark can only append, but "
        "streaming.output_mode is update",
        "set streaming.output_mode: append",
        *place(text, "type: kafka", "kafka"),
    )


def test_window_updates_into_kafka_without_a_key_are_a_warning_at_the_sink_s_type(tmp_path: Path) -> None:
    sinks = "  - name: counts\n    type: kafka\n    input: per_second\n    bootstrap_servers: localhost:9092\n"
    sinks += "    topic: counts\n"
    text = HEAD + sinks
    [found] = output_modes(tmp_path, sinks)
    assert found.location is not None
    assert (found.severity, found.location.line, found.location.column) == (
        "warning",
        *place(text, "type: kafka", "kafka"),
    )
    assert found.message == (
        "sink 'counts' produces a window's updates without a key_column: they may land in different partitions, "
        "and a consumer may read an older count after a newer one"
    )
    assert found.hint == (
        "set key_column to a column that identifies the window and group (derive one, e.g. concat_ws('|', sensor, "
        "window_start)), so every update of a window goes to one partition"
    )


# --------------------------------------------------------------------------- transforms on a stream


def test_a_time_window_on_a_stream_without_a_watermark_is_refused_at_the_window(tmp_path: Path) -> None:
    watermark = "    watermark: {column: event_time, delay: 10 seconds}\n"
    head = HEAD.replace("  output_mode: update\n", "").replace(watermark, "")
    sinks = "  - {name: windows, type: json, input: per_second, path: w}\n"
    text, found = validated(tmp_path, sinks, head)
    [refused] = [d for d in found if d.code == "streaming-watermark"]
    assert said(refused) == (
        "streaming-watermark",
        "transform 'per_second' aggregates a stream by time window, but no streaming source it reads has a watermark",
        'add watermark: {column: <event time>, delay: "1 minute"} to the streaming source, so a window can be '
        "written once no more late records can change it",
        *place(text, "window: {column: event_time", "{column", "transforms:"),
    )


def test_a_transform_that_cannot_run_on_a_stream_is_refused_with_its_plug_in_s_hint(tmp_path: Path) -> None:
    head = HEAD.replace("  output_mode: update\n", "").replace(
        "transforms:\n",
        "transforms:\n  - {name: latest, type: deduplicate, inputs: [events], keys: [id], order_by: [event_time]}\n",
    )
    sinks = "  - {name: out, type: json, input: latest, path: o}\n"
    text, found = validated(tmp_path, sinks, head)
    [refused] = [d for d in found if d.code == "not-streamable"]
    assert said(refused) == (
        "not-streamable",
        "transforms.latest.order_by: keeping the first row per key in an order does not run on a stream (later "
        "rows cannot replace rows already written)",
        "leave out order_by to keep the first row seen per key",
        *place(text, "name: latest", "[event_time]", "transforms:"),
    )


# --------------------------------------------------------------------------- settings a streaming run skips

SKIPPED = """\
streaming: {checkpoint_location: ck}
retry: {attempts: 3}
circuit_breaker: {failure_threshold: 2}
sources:
  - name: events
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: events
    schema: {id: BIGINT}
    retry: {attempts: 2}
    count_rows: false
sinks:
  - {name: out, type: json, input: events, path: o}
dead_letter: {type: json, path: dlq}
checks:
  - {name: has_id, type: not_null, stage: events, columns: [id], action: drop}
"""
STREAM = """\
sources:
  - {name: events, type: kafka, mode: stream, bootstrap_servers: localhost:9092, topic: events, schema: {id: BIGINT}}
  - {name: pages, type: csv, path: pages.csv, schema: "id BIGINT"}
"""


def reported(tmp_path: Path, text: str, *codes: str) -> list[tuple[str, str, str, str | None, int, int]]:
    """Severity, code, message, hint, line and column of each diagnostic with one of ``codes`` that ``validate``
    reports for the pipeline ``text`` (in the order of their places)."""
    make_project(tmp_path, {"p/pipeline.yaml": text, "pages.csv": "id\n1\n"})
    [report] = app.validate([tmp_path / "p"])
    return [
        (d.severity, d.code, d.message, d.hint, d.location.line, d.location.column)
        for d in report.diagnostics
        if d.code in codes and d.location is not None
    ]


def at(text: str, line_fragment: str, token: str) -> tuple[int, int]:
    """(line, column) of ``token`` on the first line of ``text`` containing ``line_fragment``."""
    number, line = next((n, line) for n, line in enumerate(text.splitlines(), start=1) if line_fragment in line)
    return number, column(line, token)


def test_settings_a_streaming_run_does_not_apply_are_warnings_at_their_keys(tmp_path: Path) -> None:
    assert reported(tmp_path, SKIPPED, "streaming-unsupported") == [
        (
            "warning",
            "streaming-unsupported",
            "retry: stage retries do not apply to streaming queries (a failed query fails the run; restart it)",
            None,
            *at(SKIPPED, "retry: {attempts: 3}", "retry"),
        ),
        (
            "warning",
            "streaming-unsupported",
            "circuit_breaker: the circuit breaker does not apply to streaming queries",
            None,
            *at(SKIPPED, "circuit_breaker:", "circuit_breaker"),
        ),
        (
            "warning",
            "streaming-unsupported",
            "source 'events': retry is not applied in a streaming run",
            None,
            *at(SKIPPED, "retry: {attempts: 2}", "retry"),
        ),
        (
            "warning",
            "streaming-unsupported",
            "source 'events': count_rows is not applied in a streaming run (a stream's progress reports the rows "
            "each micro-batch read)",
            None,
            *at(SKIPPED, "count_rows: false", "count_rows"),
        ),
        (
            "warning",
            "streaming-unsupported",
            "dead_letter: in a streaming run only quarantine checks and late records write to the dead-letter queue",
            None,
            *at(SKIPPED, "dead_letter:", "dead_letter"),
        ),
    ]


def test_a_quarantine_check_gives_a_stream_s_dead_letter_queue_a_use(tmp_path: Path) -> None:
    text = (
        "streaming: {checkpoint_location: ck}\n"
        + STREAM
        + "sinks:\n  - {name: out, type: json, input: events, path: o}\n"
        + "dead_letter: {type: json, path: dlq}\n"
        + "checks:\n  - {name: has_id, type: not_null, stage: events, columns: [id], action: quarantine}\n"
    )
    assert reported(tmp_path, text, "streaming-unsupported") == []


# --------------------------------------------------------------------------- checks a stream cannot judge


def test_checks_a_stream_cannot_judge_are_refused_after_malformed_ones(tmp_path: Path) -> None:
    # the first two checks are the schema's to refuse (a string, an unknown type): the ones after are still judged
    text = (
        "streaming: {checkpoint_location: ck}\n"
        + STREAM
        + "sinks:\n  - {name: out, type: json, input: events, path: o}\n"
        + "checks:\n"
        + "  - just a string\n"
        + "  - {name: odd, type: nonesuch, stage: events}\n"
        + "  - {name: has_rows, type: row_count, stage: events, min: 1}\n"
        + "  - {name: known_page, type: not_null, stage: pages, columns: [id]}\n"
        + "  - name: small\n    type: range\n    stage: events\n    column: id\n    max: 9\n"
        + "    threshold: {max_ratio: 0.1}\n"
    )
    row_by_row = (
        "a stream is checked row by row as it flows: use a row-level check (not_null, range, regex, "
        "accepted_values, expression), or check the sink's output in a batch pipeline"
    )
    assert reported(tmp_path, text, "streaming-unsupported") == [
        (
            "error",
            "streaming-unsupported",
            "check 'has_rows' (row_count) is a dataset-level check, which a stream cannot judge",
            row_by_row,
            *at(text, "name: has_rows", "{name"),
        ),
        (
            "error",
            "streaming-unsupported",
            "check 'known_page' is on stage 'pages', which does not read the stream",
            "in a streaming run, checks apply to the stages the streaming source feeds",
            *at(text, "name: known_page", "{name"),
        ),
        (
            "error",
            "streaming-unsupported",
            "check 'small': a threshold is not applied on a stream, where each failing row is handled as it arrives",
            "remove the threshold (action fail stops the stream at the first failing row)",
            *at(text, "threshold:", "threshold"),
        ),
    ]


# --------------------------------------------------------------------------- sinks that cannot write the stream


def test_sinks_that_cannot_write_the_stream_are_refused_with_what_can(tmp_path: Path) -> None:
    text = (
        "streaming: {checkpoint_location: ck}\n"
        + STREAM
        + "sinks:\n"
        + "  - {name: static, type: json, input: pages, path: s}\n"
        + "  - {name: cache, type: redis, input: events, url: 'redis://localhost:6379/0', key: 'e:{id}'}\n"
        + "  - {name: table, type: delta, input: events, path: t, mode: overwrite}\n"
    )
    assert reported(tmp_path, text, "streaming-batch-sink", "streaming-sink", "streaming-mode") == [
        (
            "error",
            "streaming-batch-sink",
            "sink 'static' reads no streaming source, but the pipeline runs as streaming queries",
            "write batch data from a separate batch pipeline",
            *at(text, "name: static", "{name"),
        ),
        (
            "error",
            "streaming-sink",
            "sink type 'redis' cannot write a stream",
            "sink types that can: csv, delta, iceberg, jdbc, json, kafka, orc, parquet",
            *at(text, "name: cache", "{name"),
        ),
        (
            "error",
            "streaming-mode",
            "sink 'table': mode overwrite is not possible on a stream; it can only append or merge each micro-batch",
            "set mode: append (rows of each micro-batch are added; nothing is replaced)",
            *at(text, "name: table", "overwrite"),
        ),
    ]


# --------------------------------------------------------------------------- the streaming block itself


@pytest.mark.parametrize(
    ("block", "fragment", "token"),
    [
        ("", "name: events", "{name"),  # no streaming block: the error points at the streaming source
        ("streaming: {trigger: {once: true}}\n", "streaming:", "streaming"),  # a block without one: at its key
    ],
)
def test_a_stream_without_a_checkpoint_location_is_refused_at_the_block_or_the_source(
    tmp_path: Path, block: str, fragment: str, token: str
) -> None:
    text = STREAM + "sinks:\n  - {name: out, type: json, input: events, path: o}\n" + block
    assert reported(tmp_path, text, "streaming-checkpoint") == [
        (
            "error",
            "streaming-checkpoint",
            "source 'events' reads a stream, so the pipeline needs streaming.checkpoint_location",
            "add streaming: {checkpoint_location: checkpoints/<pipeline>}; the checkpoint is what lets a restarted "
            "run resume without losing or repeating records",
            *at(text, fragment, token),
        )
    ]


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (None, Trigger("processing_time", "0 seconds")),  # the default: a new batch as soon as one ends
        ({}, Trigger("processing_time", "0 seconds")),
        ({"processing_time": "10 seconds"}, Trigger("processing_time", "10 seconds")),
        ({"real_time": "5 minutes"}, Trigger("real_time", "5 minutes")),
        ({"available_now": True}, Trigger("available_now")),
        ({"once": True}, Trigger("once")),
    ],
)
def test_the_trigger_a_streaming_block_names(trigger: dict[str, Any] | None, expected: Trigger) -> None:
    assert Trigger.from_document(trigger) == expected


def test_two_triggers_in_one_block_are_refused_at_the_trigger_with_the_four_kinds(tmp_path: Path) -> None:
    head = HEAD.replace("  output_mode: update\n", "  trigger: {processing_time: 10 seconds, once: true}\n")
    text = head + "  - {name: raw, type: parquet, input: events, path: raw}\n"
    assert reported(tmp_path, text, "streaming-trigger") == [
        (
            "error",
            "streaming-trigger",
            "give one trigger, not processing_time and once",
            'trigger: {processing_time: "10 seconds"}, {available_now: true}, {once: true} or {real_time: "5 minutes"}',
            *at(text, "trigger:", "{processing_time"),
        )
    ]


JDBC = (
    "  - {name: live, type: jdbc, input: per_second, url: 'jdbc:postgresql://db/x', table: t, mode: upsert, keys: %s}\n"
)


def test_upsert_keys_not_identifying_a_windows_row_are_refused_at_the_keys_naming_each(tmp_path: Path) -> None:
    text = HEAD + JDBC % "[window_start, events]"
    assert reported(tmp_path, text, "streaming-output-mode") == [
        (
            "error",
            "streaming-output-mode",
            "sink 'live' upserts the updates of 'per_second' keyed on window_start, events, but each of its rows is "
            "identified by window_start, sensor",
            "keys: [window_start, sensor] (and a primary key or unique index on those columns)",
            *at(text, "name: live", "[window_start"),
        )
    ]


def test_upsert_keys_are_not_checked_when_a_group_by_expression_has_no_alias(tmp_path: Path) -> None:
    head = HEAD.replace("    group_by: [sensor]\n", '    group_by: [sensor, "upper(sensor)"]\n')
    assert head != HEAD
    text = head + JDBC % "[window_start, sensor, upper_sensor]"
    assert reported(tmp_path, text, "streaming-output-mode") == []


@pytest.mark.parametrize(
    ("plugin", "mode", "takes"),
    [
        (KafkaSink, "append", True),  # natively: Kafka keeps every update
        (JdbcSink, "upsert", True),  # micro-batch by micro-batch, keyed
        (JsonSink, "append", False),
        (KafkaSource, "append", False),  # not a sink at all
    ],
)
def test_which_sinks_take_update_output(plugin: type[Plugin], mode: str, takes: bool) -> None:
    assert sink_takes_updates(plugin, mode) is takes


def test_a_real_time_query_writes_update_output_into_any_sink() -> None:
    settings = StreamingSettings("ck", Trigger("real_time", "5 minutes"))
    assert [settings.output_mode_for(JsonSink, "append"), settings.output_mode_for(KafkaSink, "append")] == [
        "update",
        "update",
    ]
    assert StreamingSettings("ck", Trigger("once")).output_mode_for(JsonSink, "append") == "append"


@pytest.mark.parametrize(
    ("location", "folder"),
    [("ck", "ck/live"), ("/data/ck/", "/data/ck/live"), ("ck_X//", "ck_X/live"), (" ck ", " ck /live")],
)
def test_each_sink_checkpoints_in_a_folder_of_its_own_under_the_location(location: str, folder: str) -> None:
    assert StreamingSettings(location, Trigger("once")).checkpoint_for("live") == folder


@pytest.mark.parametrize(
    ("block", "settings"),
    [
        (
            {
                "checkpoint_location": "ck",
                "trigger": {"processing_time": "1 minute"},
                "stop_timeout_s": 5,
                "output_mode": "update",
                "count_rows": False,
            },
            StreamingSettings("ck", Trigger("processing_time", "1 minute"), 5.0, "update", False),
        ),
        (
            {"checkpoint_location": "ck"},
            StreamingSettings("ck", Trigger("processing_time", "0 seconds"), 30.0, "append", True),
        ),
    ],
    ids=["every-setting", "defaults"],
)
def test_the_streaming_block_is_read_with_every_setting_or_its_default(
    block: dict[str, Any], settings: StreamingSettings
) -> None:
    document = {"streaming": block, "sources": [{"name": "events", "type": "kafka", "mode": "stream"}]}
    read = streaming_settings(document, app.registry())
    assert (read, type(read.stop_timeout_s) if read else None) == (settings, float)


# --------------------------------------------------------------------------- streaming settings in a batch pipeline


def test_streaming_settings_and_a_sink_s_output_mode_in_a_batch_pipeline_are_warnings_at_their_keys(
    tmp_path: Path,
) -> None:
    # the block after the sources: its key is not where the document itself starts
    head = "sources:\n  - {name: a, type: csv, path: a.csv}\nstreaming:\n  checkpoint_location: ck\nsinks:\n"
    sinks = "  - name: b\n    type: parquet\n    input: a\n    path: b\n    output_mode: update\n"
    found = [
        (d.severity, d.code, d.message, d.hint, d.location.line, d.location.column)
        for d in validated(tmp_path, sinks, head)[1]
        if d.code == "streaming-unused" and d.location is not None
    ]
    assert found == [
        (
            "warning",
            "streaming-unused",
            "the streaming settings have no effect: no source reads a stream",
            "set mode: stream on a kafka source, or remove the streaming block",
            3,
            1,
        ),
        ("warning", "streaming-unused", "sink 'b': output_mode has no effect: no source reads a stream", None, 10, 5),
    ]
