"""What ``validate`` says of a streaming pipeline's sinks under ``output_mode: update`` and of its transforms
(etl_cli/model/streaming.py): which upstream stages count as an aggregate or a join of streams (a batch
aggregate, a stream joined with batch data and a union of streams do not), the sink's own mode, and the exact
text, hint and place of each refusal and warning. No JVM, no broker."""

from __future__ import annotations

from pathlib import Path

from etl_cli import app
from etl_cli.diagnostics import Diagnostic
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
