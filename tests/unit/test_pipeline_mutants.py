"""Looking up a pipeline's stages (etl_cli/model/pipeline.py): ``PipelineSpec.stage`` finds a stage by name and
raises KeyError with the name it lacks. No JVM."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli import app
from tests.unit.helpers import make_project

PIPELINE = """\
sources:
  - name: raw
    type: csv
    path: in.csv
sinks:
  - name: out
    type: parquet
    input: raw
    path: out
"""


def test_a_stage_is_found_by_name_and_a_missing_one_raises_key_error_with_its_name(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE})
    _, spec = app.load_spec(tmp_path / "p" / "pipeline.yaml", None)
    assert spec is not None
    assert (spec.stage("out").name, spec.stage("out").kind) == ("out", "sink")
    with pytest.raises(KeyError) as caught:
        spec.stage("nope")
    assert caught.value.args == ("nope",)
