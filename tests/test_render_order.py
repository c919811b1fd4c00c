"""``etl-cli render`` prints a pipeline that extends a template in the pipeline format's order, not the merge's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

# The template declares sources and sinks; the pipeline adds a transform between them. Merged, the template's
# keys come first, so without ordering the sinks would come before the transforms they read.
TEMPLATE = """
    description: Copy a CSV file to Parquet.
    params:
      input_path: {required: true}
    sources:
      - {name: input, type: csv, path: "${var:input_path}"}
    sinks:
      - {name: output, type: parquet, input: input, path: out/copy, mode: overwrite}
"""

PIPELINE = """
    name: paid_copy
    extends:
      template: copy
      params: {input_path: data/orders.csv}
    transforms:
      - {name: paid, type: filter, inputs: [input], condition: "status = 'paid'"}
    sinks:
      - {name: output, input: paid}
"""

#: the top-level sections as docs/reference.md lists them (``extends`` is gone once templates are expanded)
EXPECTED_SECTIONS = ["name", "description", "vars", "sources", "transforms", "sinks"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {
        "templates/copy.yaml": TEMPLATE,
        "pipelines/paid_copy/pipeline.yaml": PIPELINE,
        "data/orders.csv": "order_id,status\n1,paid\n",
    }
    return make_project(tmp_path, files)


def render(project: Path, *args: str) -> str:
    result = etl_cli("render", "pipelines/paid_copy", *args, cwd=project)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_yaml_lists_the_sections_in_the_pipeline_format_order(project: Path) -> None:
    document = yaml.safe_load(render(project))
    assert list(document) == EXPECTED_SECTIONS


def test_json_lists_the_sections_in_the_pipeline_format_order(project: Path) -> None:
    document = json.loads(render(project, "--format", "json"))
    assert list(document) == EXPECTED_SECTIONS


def test_explain_lists_the_sections_in_the_pipeline_format_order(project: Path) -> None:
    keys = [line.split()[0] for line in render(project, "--explain").splitlines()]
    sections = [key.split(".")[0].split("[")[0] for key in keys]
    assert list(dict.fromkeys(sections)) == EXPECTED_SECTIONS


def test_keys_inside_a_stage_keep_the_merged_order_template_first(project: Path) -> None:
    document = yaml.safe_load(render(project))
    (sink,) = document["sinks"]
    assert list(sink) == ["name", "type", "input", "path", "mode"]
    assert sink["input"] == "paid", "the pipeline's value, at the template's place"
