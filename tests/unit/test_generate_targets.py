"""Where ``etl-cli generate`` writes and which engine makes the data, decided before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.errors import UsageError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.usecases.generate import SPARK_ABOVE, GenerateOptions, Target, plan_targets
from tests.unit.helpers import make_project

PIPELINE = """
    sources:
      - name: orders
        type: csv
        path: data/orders.csv
        options: {sep: "|", header: false}
        schema: {id: BIGINT}
      - name: facts
        type: parquet
        path: data/facts
        schema: {id: BIGINT}
      - name: rows
        type: orc
        path: data/rows
        schema: {id: BIGINT}
      - name: many
        type: csv
        path: [data/a.csv, data/b.csv]
        schema: {id: BIGINT}
    sinks:
      - {name: out, type: parquet, input: orders, path: out/orders}
"""


@pytest.fixture
def spec(tmp_path: Path) -> PipelineSpec:
    return app.load_spec(make_project(tmp_path, {"p/pipeline.yaml": PIPELINE}) / "p", None)[1]


def test_small_csv_is_made_in_process_at_the_sources_path_with_its_reader_options(spec: PipelineSpec) -> None:
    (target,) = plan_targets(spec, ["orders"], GenerateOptions(rows=SPARK_ABOVE))
    assert target == Target("orders", spec.project_root / "data/orders.csv", "csv", "python", header=False, sep="|")


def test_more_rows_than_the_threshold_are_made_by_spark(spec: PipelineSpec) -> None:
    (target,) = plan_targets(spec, ["orders"], GenerateOptions(rows=SPARK_ABOVE + 1))
    assert target.engine == "spark"


def test_parquet_is_always_made_by_spark_and_refused_to_the_python_engine(spec: PipelineSpec) -> None:
    (target,) = plan_targets(spec, ["facts"], GenerateOptions(rows=1))
    assert (target.format, target.engine) == ("parquet", "spark")
    with pytest.raises(UsageError, match="--engine python writes csv and json only"):
        plan_targets(spec, ["facts"], GenerateOptions(rows=1, engine="python"))


def test_output_dir_names_each_file_after_its_source_in_the_chosen_format(spec: PipelineSpec) -> None:
    options = GenerateOptions(rows=1, output=Path("gen"), format="json")
    assert [(t.path, t.format) for t in plan_targets(spec, ["orders", "rows"], options)] == [
        (Path("gen/orders.json"), "json"),
        (Path("gen/rows.json"), "json"),
    ]


def test_a_source_of_a_format_generate_cannot_write_needs_output(spec: PipelineSpec) -> None:
    with pytest.raises(UsageError, match=r"source 'rows' \(orc\): etl-cli generate writes csv, json or parquet"):
        plan_targets(spec, ["rows"], GenerateOptions(rows=1))


def test_a_source_reading_several_paths_needs_output(spec: PipelineSpec) -> None:
    with pytest.raises(UsageError, match="etl-cli generate writes to one local file or folder"):
        plan_targets(spec, ["many"], GenerateOptions(rows=1))
