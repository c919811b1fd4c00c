"""``resample`` checked offline: options at their line and column, streams refused, column lineage.

The places expected below are counted by hand in the YAML of PIPELINE (the stage's options start at line 11).
"""

from __future__ import annotations

from pathlib import Path

from etl_cli import app
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.model import ColumnRef

from .helpers import make_project

PIPELINE = """
name: p
sources:
  - name: readings
    type: csv
    path: data/readings.csv
    schema: {sensor: STRING, at: TIMESTAMP, temp: DOUBLE}
transforms:
  - name: hourly
    type: resample
    inputs: [readings]
    {options}
sinks:
  - {name: out, type: parquet, input: hourly, path: output/hourly}
"""
STREAM = """
name: p
streaming: {checkpoint_location: ck}
sources:
  - {name: readings, type: kafka, mode: stream, bootstrap_servers: "localhost:9092", topic: t,
     schema: {sensor: STRING, at: TIMESTAMP, temp: DOUBLE}}
transforms:
  - name: hourly
    type: resample
    inputs: [readings]
    {options}
sinks:
  - {name: out, type: json, input: hourly, path: output/hourly}
"""
GOOD = """time_column: at
    interval: 1 hour
    keys: [sensor]
    fill: linear
    aggregations:
      temp: {function: avg, column: temp}"""


def errors(tmp_path: Path, options: str, template: str = PIPELINE) -> list[tuple[int, int, str]]:
    """(line, column, message) of every error ``validate`` reports."""
    make_project(tmp_path, {"p/pipeline.yaml": template.lstrip("\n").replace("{options}", options)})
    [report] = app.validate([tmp_path / "p"])
    return [
        (d.location.line if d.location else 0, d.location.column if d.location else 0, d.message)
        for d in report.diagnostics
        if d.severity == "error"
    ]


def test_a_resample_with_valid_options_validates(tmp_path: Path) -> None:
    assert errors(tmp_path, GOOD) == []


def test_an_interval_that_is_not_a_fixed_length_is_refused_at_its_value(tmp_path: Path) -> None:
    [(line, column, message)] = errors(tmp_path, GOOD.replace("1 hour", "1 month"))
    assert (line, column) == (12, 15)
    assert "interval '1 month' is not a fixed length" in message


def test_an_aggregation_named_like_a_key_is_refused_at_its_name(tmp_path: Path) -> None:
    [(line, _, message)] = errors(tmp_path, GOOD.replace("temp: {function", "sensor: {function"))
    assert line == 16
    assert "'sensor' is named like a key or the time_column" in message


def test_a_misspelt_aggregated_column_is_reported_with_did_you_mean(tmp_path: Path) -> None:
    found = errors(tmp_path, GOOD.replace("column: temp}", "column: tmep}"))
    assert [(line, "'tmep'" in message) for line, _, message in found] == [(16, True)]


def test_resample_is_refused_on_a_stream(tmp_path: Path) -> None:
    found = errors(tmp_path, GOOD, STREAM)
    assert any("resample fills gaps over each whole series" in message for _, _, message in found), found


def test_the_bucket_comes_from_the_time_column_and_the_aggregation_from_its_column(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE.lstrip("\n").replace("{options}", GOOD)})
    graph = pipeline_lineage(app.load_spec(tmp_path / "p", None)[1], app.registry())
    assert {node.stage: node.columns for node in graph.nodes}["hourly"] == ("sensor", "at", "temp")
    made = {(str(e.source), e.how) for e in graph.edges if e.target in (ColumnRef("p.hourly", "at"),
                                                                          ColumnRef("p.hourly", "temp"))}  # fmt: skip
    assert ("p.readings.at", "expression") in made
    assert ("p.readings.temp", "aggregation") in made


ROLLING = """time_column: at
    over: 7 days
    keys: [sensor]
    columns:
      week_avg: {function: avg, column: temp}"""
TREND = """time_column: at
    value: temp
    keys: [sensor]
    points: 4
    output: direction"""


def test_rolling_and_trend_with_valid_options_validate(tmp_path: Path) -> None:
    assert errors(tmp_path / "r", ROLLING, PIPELINE.replace("resample", "rolling")) == []
    assert errors(tmp_path / "t", TREND, PIPELINE.replace("resample", "trend")) == []


def test_a_rolling_range_that_is_not_a_fixed_length_is_refused_at_its_value(tmp_path: Path) -> None:
    [(line, column, message)] = errors(
        tmp_path, ROLLING.replace("7 days", "a week"), PIPELINE.replace("resample", "rolling")
    )
    assert (line, column) == (12, 11)
    assert "over 'a week' is not a fixed length" in message


def test_a_rolling_average_without_a_column_is_refused_at_its_name(tmp_path: Path) -> None:
    [(line, _, message)] = errors(
        tmp_path, ROLLING.replace(", column: temp", ""), PIPELINE.replace("resample", "rolling")
    )
    assert line == 15 and "avg needs a column" in message


def test_a_misspelt_trend_value_is_reported_at_its_line(tmp_path: Path) -> None:
    found = errors(tmp_path, TREND.replace("value: temp", "value: tmp"), PIPELINE.replace("resample", "trend"))
    assert [(line, "'tmp'" in message) for line, _, message in found] == [(12, True)]


def test_rolling_and_trend_are_refused_on_a_stream(tmp_path: Path) -> None:
    rolling = errors(tmp_path / "r", ROLLING, STREAM.replace("resample", "rolling"))
    assert any("rolling windows over rows do not run on a stream" in m for _, _, m in rolling), rolling
    trend = errors(tmp_path / "t", TREND, STREAM.replace("resample", "trend"))
    assert any("trend compares rows with earlier rows" in m for _, _, m in trend), trend


def test_rolling_and_trend_add_columns_made_from_the_columns_they_read(tmp_path: Path) -> None:
    for type_name, options, added in (("rolling", ROLLING, "week_avg"), ("trend", TREND, "direction")):
        text = PIPELINE.lstrip("\n").replace("resample", type_name).replace("{options}", options)
        make_project(tmp_path / type_name, {"p/pipeline.yaml": text})
        graph = pipeline_lineage(app.load_spec(tmp_path / type_name / "p", None)[1], app.registry())
        assert {node.stage: node.columns for node in graph.nodes}["hourly"] == ("sensor", "at", "temp", added)
        sources = {str(e.source) for e in graph.edges if e.target == ColumnRef("p.hourly", added)}
        assert {"p.readings.temp", "p.readings.at", "p.readings.sensor"} <= sources, (type_name, sources)
