"""Kafka options and streaming pipelines, checked offline: what ``validate`` accepts and refuses, and
the options handed to Spark's Kafka connector. No JVM, no broker."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from etl_cli import app
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.kafka_connection import connector_version
from etl_cli.plugins.sources.kafka import KafkaSource
from tests.clihelp import REPO

from .helpers import make_project

STREAM_SOURCE = """
  - name: events
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: events
    schema: {id: BIGINT, page: STRING, event_time: TIMESTAMP}
"""


def expand(pipeline: str) -> str:
    """``pipeline`` dedented, with a line ``<<stream>>`` replaced by the streaming source (``<<stream+wm>>``:
    with a watermark)."""
    watermarked = STREAM_SOURCE + "    watermark: {column: event_time, delay: 1 minute}\n"
    text = textwrap.dedent(pipeline).lstrip("\n")
    return text.replace("<<stream+wm>>\n", watermarked.lstrip("\n")).replace("<<stream>>\n", STREAM_SOURCE.lstrip("\n"))


def problems(tmp_path: Path, pipeline: str) -> list[tuple[str, str]]:
    """(code, message) of every error ``validate`` reports for ``pipeline``."""
    make_project(tmp_path, {"p/pipeline.yaml": expand(pipeline)})
    [report] = app.validate([tmp_path / "p"])
    return [(d.code, d.message) for d in report.diagnostics if d.severity == "error"]


def streaming_problems(tmp_path: Path, after_stream: str) -> list[tuple[str, str]]:
    """:func:`problems` of a streaming pipeline with a checkpoint whose sources start with the streaming source;
    ``after_stream`` (dedented) follows that source: more sources, then the rest of the pipeline."""
    head = "streaming: {checkpoint_location: ck}\nsources:\n<<stream>>\n"
    return problems(tmp_path, head + textwrap.dedent(after_stream).lstrip("\n"))


def spec_of(tmp_path: Path, pipeline: str) -> Any:
    make_project(tmp_path, {"p/pipeline.yaml": expand(pipeline)})
    return app.load_spec(tmp_path / "p", None, environ={})[1]


# --------------------------------------------------------------------------- the shipped examples


@pytest.mark.parametrize("name", ["kafka_to_parquet_batch", "kafka_to_files_streaming"])
def test_example_pipelines_validate(name: str) -> None:
    [report] = app.validate([REPO / "pipelines" / name])
    assert report.ok and report.diagnostics == []


def test_the_streaming_example_runs_as_streaming_queries_with_its_trigger() -> None:
    _, spec = app.load_spec(REPO / "pipelines" / "kafka_to_files_streaming", None, environ={})
    assert spec.streaming is not None
    assert (spec.streaming.trigger.kind, spec.streaming.trigger.interval) == ("processing_time", "10 seconds")
    assert spec.streaming.checkpoint_for("clicks_out") == ".etl/checkpoints/kafka_to_files_streaming/clicks_out"
    _, batch = app.load_spec(REPO / "pipelines" / "kafka_to_parquet_batch", None, environ={})
    assert batch.streaming is None


def test_the_streaming_template_validates_with_its_required_params(tmp_path: Path) -> None:
    spec = spec_of(
        tmp_path,
        """
        extends:
          template: kafka_to_files_streaming
          params: {bootstrap_servers: "b:9092", topic: t, schema: "id BIGINT", output_path: /o, checkpoint_location: /c}
        """,
    )
    assert spec.streaming.trigger.interval == "30 seconds"
    assert spec.stage("records").options["max_offsets_per_trigger"] == 100000


# --------------------------------------------------------------------------- streaming rules


def test_a_streaming_pipeline_needs_a_checkpoint_location(tmp_path: Path) -> None:
    found = problems(
        tmp_path, f"sources:{STREAM_SOURCE}sinks:\n  - {{name: o, type: parquet, input: events, path: o}}\n"
    )
    assert [code for code, _ in found] == ["streaming-checkpoint"]


def test_streaming_sinks_append_by_default_and_refuse_overwrite(tmp_path: Path) -> None:
    base = f"streaming: {{checkpoint_location: ck}}\nsources:{STREAM_SOURCE}sinks:\n"
    spec = spec_of(tmp_path, base + "  - {name: o, type: parquet, input: events, path: o}\n")
    assert spec.stage("o").options["mode"] == "append"
    found = problems(tmp_path, base + "  - {name: o, type: parquet, input: events, path: o, mode: overwrite}\n")
    assert found == [
        ("streaming-mode", "sink 'o': mode overwrite is not possible on a stream; it can only append each micro-batch")
    ]


def test_transforms_that_cannot_run_on_a_stream_are_refused(tmp_path: Path) -> None:
    found = streaming_problems(
        tmp_path,
        """
        transforms:
          - {name: totals, type: aggregate, inputs: [events], aggregations: {n: {function: count}}}
          - {name: ranked, type: window, inputs: [events], order_by: [id], columns: {r: {function: rank}}}
          - {name: latest, type: deduplicate, inputs: [events], keys: [id], order_by: [event_time desc]}
          - {name: firsts, type: deduplicate, inputs: [events], keys: [id]}
        sinks:
          - {name: a, type: json, input: totals, path: a}
          - {name: b, type: json, input: ranked, path: b}
          - {name: c, type: json, input: latest, path: c}
          - {name: d, type: json, input: firsts, path: d}
        """,
    )
    # firsts runs on a stream, but no watermark bounds its state (tests/unit/test_streaming_state_spec.py)
    assert [code for code, _ in found] == ["not-streamable"] * 3 + ["streaming-state"]
    assert [message.split(":")[0] for _, message in found[:3]] == [
        "transforms.totals",
        "transforms.ranked",
        "transforms.latest.order_by",
    ]


def test_a_windowed_aggregate_needs_a_watermark_on_its_stream(tmp_path: Path) -> None:
    pipeline = """
        streaming: {checkpoint_location: ck}
        sources:
        <<stream>>
        transforms:
          - name: per_minute
            type: aggregate
            inputs: [events]
            window: {column: event_time, duration: 1 minute}
            aggregations: {n: {function: count}}
        sinks:
          - {name: o, type: json, input: per_minute, path: o}
        """
    assert [code for code, _ in problems(tmp_path, pipeline)] == ["streaming-watermark"]
    assert problems(tmp_path, pipeline.replace("<<stream>>", "<<stream+wm>>")) == []


def test_a_sink_fed_only_by_batch_sources_is_refused_in_a_streaming_pipeline(tmp_path: Path) -> None:
    found = streaming_problems(
        tmp_path,
        """
          - {name: pages, type: csv, path: pages.csv}
        sinks:
          - {name: live, type: json, input: events, path: live}
          - {name: static, type: json, input: pages, path: static}
        """,
    )
    assert [code for code, _ in found] == ["streaming-batch-sink"]


def test_one_trigger_at_a_time(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "streaming: {checkpoint_location: ck, trigger: {once: true, processing_time: 1 second}}\n"
        f"sources:{STREAM_SOURCE}sinks:\n  - {{name: o, type: json, input: events, path: o}}\n",
    )
    assert [code for code, _ in found] == ["streaming-trigger"]


def test_streaming_settings_without_a_stream_are_only_a_warning(tmp_path: Path) -> None:
    pipeline = (
        "streaming: {checkpoint_location: ck}\nsources:\n  - {name: s, type: csv, path: a.csv}\n"
        "sinks:\n  - {name: o, type: json, input: s, path: o}\n"
    )
    make_project(tmp_path, {"p/pipeline.yaml": pipeline, "a.csv": "id\n1\n"})
    [report] = app.validate([tmp_path / "p"])
    assert report.ok and [d.code for d in report.diagnostics] == ["streaming-unused"]


# --------------------------------------------------------------------------- Kafka source and sink options


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("topic: a, pattern: 'a.*'", "give one of topic, topics and pattern, not topic and pattern"),
        ("starting_offsets: latest", "a batch read cannot start at latest: it would read nothing"),
        ("mode: stream, ending_offsets: latest", "ending_offsets only applies to mode batch"),
        ("max_offsets_per_trigger: 5", "max_offsets_per_trigger only applies to mode stream"),
        ("starting_timestamp: yesterday", "'yesterday' is not an ISO-8601 time"),
        ("on_malformed: drop", "on_malformed only applies to value_format json or avro"),
        ("options: {startingOffsets: earliest}", "set starting_offsets instead of options.startingOffsets"),
        ("watermark: {column: value, delay: 1 minute}", "watermark only applies to mode stream"),
    ],
)
def test_kafka_source_options_that_do_not_fit_together(tmp_path: Path, options: str, expected: str) -> None:
    topic = "" if "topic:" in options else "topic: t, "
    found = problems(
        tmp_path,
        f"sources:\n  - {{name: k, type: kafka, bootstrap_servers: b, value_format: string, {topic}{options}}}\n"
        "sinks:\n  - {name: o, type: json, input: k, path: o}\n",
    )
    assert [message.split(": ", 1)[1] for code, message in found if code == "invalid-option"] == [expected]


def test_json_values_need_a_schema_whose_fields_do_not_clash_with_metadata(tmp_path: Path) -> None:
    def source(extra: str) -> str:
        return (
            f"sources:\n  - {{name: k, type: kafka, bootstrap_servers: b, topic: t{extra}}}\n"
            "sinks:\n  - {name: o, type: json, input: k, path: o}\n"
        )

    assert [m for _, m in problems(tmp_path, source(""))] == [
        "sources.k: value_format json needs a schema: the fields to read from each value"
    ]
    assert [m for _, m in problems(tmp_path, source(", schema: 'offset BIGINT, v STRING'"))] == [
        "sources.k.schema: value field 'offset' has the name of a metadata column"
    ]
    assert problems(tmp_path, source(", schema: 'offset BIGINT', metadata_prefix: kafka_")) == []


def test_kafka_sink_needs_one_destination_and_keeps_the_key_out_of_the_value(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        sources: [{name: s, type: csv, path: a.csv}]
        sinks:
          - {name: both, type: kafka, input: s, bootstrap_servers: b, topic: t, topic_column: c}
          - {name: neither, type: kafka, input: s, bootstrap_servers: b}
          - {name: keyed, type: kafka, input: s, bootstrap_servers: b, topic: t, key_column: id, value_columns: [id, x]}
        """,
    )
    assert [m for _, m in found] == [
        "sinks.both.topic_column: give topic or topic_column, not both",
        "sinks.neither: say where to produce: topic or topic_column",
        "sinks.keyed.value_columns: 'id' is the key_column, which is not part of the value",
    ]


def connector_options(options: dict[str, Any], resolve: Any = lambda value: value) -> dict[str, str]:
    stage = StageSpec("k", "source", "kafka", (), MappingProxyType(options))
    ctx = RunContext(spark=None, project_root=Path("."), run_id="r", resolve=resolve)  # type: ignore[arg-type]
    return KafkaSource().connector_options(ctx, stage, streaming=KafkaSource.is_streaming(options))


def test_connector_options_for_a_batch_range() -> None:
    settings = connector_options(
        {
            "bootstrap_servers": ("b1:9092", "b2:9092"),
            "topics": ("a", "b"),
            "starting_offsets": {"a": {0: 5, 1: -2}},
            "ending_timestamp": "2024-05-01T00:00:00+02:00",
            "metadata": ("key", "headers"),
        }
    )
    assert settings == {
        "kafka.bootstrap.servers": "b1:9092,b2:9092",
        "subscribe": "a,b",
        "startingOffsets": '{"a": {"0": 5, "1": -2}}',
        "endingTimestamp": "1714514400000",
        "includeHeaders": "true",
    }


def test_connector_options_for_a_stream_resolve_secrets_in_client_settings() -> None:
    settings = connector_options(
        {
            "bootstrap_servers": "b:9092",
            "pattern": "orders-.*",
            "mode": "stream",
            "starting_timestamp": 1714514400000,
            "max_offsets_per_trigger": 100,
            "options": {"kafka.sasl.jaas.config": "${secret:vault:kafka#jaas}", "failOnDataLoss": False},
        },
        resolve=lambda value: (
            {k: ("RESOLVED" if "${secret" in str(v) else v) for k, v in value.items()}
            if isinstance(value, dict)
            else value
        ),
    )
    assert settings == {
        "kafka.bootstrap.servers": "b:9092",
        "subscribePattern": "orders-.*",
        "startingTimestamp": "1714514400000",
        "maxOffsetsPerTrigger": "100",
        "kafka.sasl.jaas.config": "RESOLVED",
        "failOnDataLoss": "false",
    }


def test_the_connector_follows_the_installed_spark_line_unless_told_otherwise() -> None:
    assert connector_version({"ETL_SPARK_KAFKA_VERSION": "4.0.4"}) == "4.0.4"
    import pyspark

    line = ".".join(pyspark.__version__.split(".")[:2])
    chosen = connector_version({})
    assert chosen.startswith(f"{line}.")
    # 4.1.1 and 4.1.2 fail a query restarted after a kill (SPARK-55271)
    assert chosen == {"4.0": "4.0.0", "4.1": "4.1.3"}.get(line, f"{line}.0")


def test_streams_take_row_level_checks_only_and_retries_are_flagged(tmp_path: Path) -> None:
    pipeline = expand(
        """
        streaming: {checkpoint_location: ck}
        retry: {attempts: 3}
        sources:
        <<stream>>
        sinks:
          - {name: o, type: json, input: events, path: o}
        checks:
          - {name: has_rows, type: row_count, stage: events, min: 1}
          - {name: has_id, type: not_null, stage: events, columns: [id], action: drop}
          - {name: small, type: range, stage: events, column: id, max: 9, threshold: {max_ratio: 0.1}}
        """
    )
    make_project(tmp_path, {"p/pipeline.yaml": pipeline})
    [report] = app.validate([tmp_path / "p"])
    found = [(d.severity, d.message) for d in report.diagnostics if d.code == "streaming-unsupported"]
    assert sorted(found) == [
        ("error", "check 'has_rows' (row_count) is a dataset-level check, which a stream cannot judge"),
        ("error", "check 'small': a threshold is not applied on a stream, where each failing row is handled as it "
                  "arrives"),
        ("warning", "retry: stage retries do not apply to streaming queries (a failed query fails the run; "
                    "restart it)"),
    ]  # fmt: skip


def test_count_rows_false_on_a_stream_is_flagged_at_its_line(tmp_path: Path) -> None:
    pipeline = expand(
        """
        streaming: {checkpoint_location: ck}
        sources:
        <<stream>>
            count_rows: false
        sinks:
          - {name: o, type: json, input: events, path: o}
        """
    )
    make_project(tmp_path, {"p/pipeline.yaml": pipeline})
    [report] = app.validate([tmp_path / "p"])
    [found] = [d for d in report.diagnostics if d.code == "streaming-unsupported"]
    assert found.severity == "warning"
    assert found.message.startswith("source 'events': count_rows is not applied in a streaming run")
    assert found.location is not None
    assert found.location.line == pipeline.splitlines().index("    count_rows: false") + 1
