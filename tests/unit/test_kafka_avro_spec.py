"""Avro values of the Kafka source and sink, checked offline: what ``validate`` accepts and refuses
(inline schemas parsed with fastavro, at the schema's place) and the spark-avro package. No JVM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from etl_cli import app
from etl_cli.errors import ConfigError
from etl_cli.plugins import avro
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.sinks.kafka import KafkaSink
from etl_cli.plugins.sources.kafka import KafkaSource

from .helpers import make_project

ORDER = (
    "{type: record, name: Order, namespace: shop, fields: [{name: id, type: long}, {name: note, type: [null, string]}]}"
)


def diagnostics(
    tmp_path: Path, source: str, sink: str = "{name: o, type: json, input: k, path: o}"
) -> list[tuple[str, str]]:
    """(location, message) of every error ``validate`` reports for one Kafka source and one sink."""
    pipeline = f"sources:\n  - {{name: k, type: kafka, bootstrap_servers: b, topic: t, {source}}}\nsinks:\n  - {sink}\n"
    make_project(tmp_path, {"p/pipeline.yaml": pipeline})
    [report] = app.validate([tmp_path / "p"])
    return [(str(d.location), d.message) for d in report.diagnostics if d.severity == "error"]


def test_an_inline_avro_schema_as_yaml_or_json_text_is_valid(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, f"value_format: avro, avro_schema: {ORDER}") == []
    as_json = '\'{"type": "record", "name": "R", "fields": [{"name": "id", "type": "long"}]}\''
    assert diagnostics(tmp_path, f"value_format: avro, avro_schema: {as_json}") == []
    sink = (
        f"{{name: o, type: kafka, input: k, bootstrap_servers: b, topic: u, value_format: avro, avro_schema: {ORDER}}}"
    )
    assert diagnostics(tmp_path, "value_format: string", sink) == []


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ("{type: record, name: R, fields: [{name: id, type: lng}]}", "invalid Avro schema: not a valid Avro schema"),
        ("{type: record, name: R}", "invalid Avro schema: the record needs fields"),
        ("{type: string}", "the value schema must be an Avro record"),
        ('\'{"type": "record",\'', "not JSON"),
    ],
)
def test_an_invalid_inline_schema_is_reported_at_its_place(tmp_path: Path, schema: str, expected: str) -> None:
    [(where, message)] = diagnostics(tmp_path, f"value_format: avro, avro_schema: {schema}")
    assert where.split(":")[-3].endswith("pipeline.yaml") and where.split(":")[-2] == "2"  # the source's line
    assert "avro_schema" in message and expected in message


def test_avro_needs_one_schema_and_its_keys_need_avro(tmp_path: Path) -> None:
    missing = diagnostics(tmp_path, "value_format: avro")
    assert ["value_format avro needs the values' Avro schema" in m for _, m in missing] == [True]
    both = diagnostics(tmp_path, f"value_format: avro, avro_schema: {ORDER}, avro_schema_file: o.avsc")
    assert ["give avro_schema or avro_schema_file, not both" in m for _, m in both] == [True]
    json_values = diagnostics(tmp_path, f"schema: {{id: BIGINT}}, avro_schema: {ORDER}")
    assert ["avro_schema only applies to value_format avro" in m for _, m in json_values] == [True]


def test_avro_fields_may_not_clash_with_metadata_and_dead_letter_is_batch_only(tmp_path: Path) -> None:
    clash = "{type: record, name: R, fields: [{name: offset, type: long}]}"
    found = diagnostics(tmp_path, f"value_format: avro, avro_schema: {clash}")
    assert ["value field 'offset' has the name of a metadata column" in m for _, m in found] == [True]
    stream = diagnostics(tmp_path, f"mode: stream, value_format: avro, avro_schema: {ORDER}, on_malformed: dead_letter")
    assert any("on_malformed dead_letter applies to mode batch only" in m for _, m in stream)
    json_dlq = diagnostics(tmp_path, "schema: {id: BIGINT}, on_malformed: dead_letter")
    assert any("on_malformed dead_letter applies to value_format avro only" in m for _, m in json_dlq)


def test_spark_avro_follows_the_installed_spark_line() -> None:
    assert avro.avro_version({"ETL_SPARK_AVRO_VERSION": "4.0.1"}) == "4.0.1"
    options = {"bootstrap_servers": "b", "topic": "t", "value_format": "avro"}
    expected = f"org.apache.spark:spark-avro_2.13:{avro.avro_version()}"
    assert expected in KafkaSource.packages_for(options) and expected in KafkaSink.packages_for(options)
    assert not any("spark-avro" in p for p in KafkaSource.packages_for({**options, "value_format": "json"}))
    from importlib.metadata import version

    line = ".".join(version("pyspark").split(".")[:2])
    # the newest spark-avro served for the line: 4.1.2 and later are not published here
    assert avro.avro_version({}) == {"4.0": "4.0.2", "4.1": "4.1.1"}.get(line, f"{line}.0")


def test_the_reader_schema_adds_a_defaulted_marker_field() -> None:
    reader = json.loads(avro.reader_schema('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}'))
    assert reader["fields"][-1] == {"name": avro.OK_FIELD, "type": "boolean", "default": True}


def _stage(options: dict[str, object]) -> StageSpec:
    return StageSpec(
        "k", "source", "kafka", (), {"bootstrap_servers": "b", "topic": "t", "value_format": "avro", **options}
    )


def test_a_schema_file_is_read_at_run_time_and_its_errors_point_into_it(tmp_path: Path) -> None:
    ctx = RunContext(spark=cast(Any, None), project_root=tmp_path, run_id="r")
    (tmp_path / "ok.avsc").write_text('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}')
    assert json.loads(avro.schema_json(ctx, _stage({"avro_schema_file": "ok.avsc"})))["name"] == "R"
    (tmp_path / "broken.avsc").write_text('{\n  "type": "record",\n  "name": "R",\n  "fields": [,]\n}\n')
    with pytest.raises(ConfigError) as caught:
        avro.schema_json(ctx, _stage({"avro_schema_file": "broken.avsc"}))
    assert str(caught.value.location) == f"{tmp_path / 'broken.avsc'}:4:14"
    with pytest.raises(ConfigError, match=r"cannot read avro_schema_file .*missing\.avsc"):
        avro.schema_json(ctx, _stage({"avro_schema_file": "missing.avsc"}))
    (tmp_path / "enum.avsc").write_text('{"type": "enum", "name": "E", "symbols": ["A"]}')
    with pytest.raises(ConfigError, match="must be an Avro record"):
        avro.schema_json(ctx, _stage({"avro_schema_file": "enum.avsc"}))


def test_an_inline_yaml_schema_reaches_spark_as_json_with_avro_nulls() -> None:
    ctx = RunContext(spark=cast(Any, None), project_root=Path("."), run_id="r")
    fields = ({"name": "note", "type": (None, "string"), "default": None},)
    text = avro.schema_json(ctx, _stage({"avro_schema": {"type": "record", "name": "R", "fields": fields}}))
    assert json.loads(text)["fields"] == [{"name": "note", "type": ["null", "string"], "default": None}]
