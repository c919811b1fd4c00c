"""Looking up a pipeline's stages (etl_cli/model/pipeline.py): ``PipelineSpec.stage`` finds a stage by name and
raises KeyError with the name it lacks; each stage keeps its ``sensitive:`` columns (``build_stages``).

Then where a stage of a pipeline built on a template points (``_stage_location``): a stage wholly from the template
at its item there (not at its ``name`` key, which the template writes after another key); a stage the pipeline
changes at the pipeline's ``name`` key, on the file's first line too; and a stage whose name only a ``--set``
writes still at the template's item (a ``--set`` has no line to point at). Places are counted by hand in the YAML
below. No JVM."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.config.loader import load_pipeline
from etl_cli.errors import Location
from etl_cli.model.check import check_pipeline
from etl_cli.model.pipeline import PipelineSpec
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


def test_each_stage_keeps_its_sensitive_columns_as_written(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "p/pipeline.yaml": PIPELINE.replace(
                "    path: in.csv\n", "    path: in.csv\n    sensitive: [email, Phone]\n"
            )
        },
    )
    _, spec = app.load_spec(tmp_path / "p" / "pipeline.yaml", None)
    assert spec is not None
    assert [(s.name, s.sensitive) for s in spec.stages] == [("raw", ("email", "Phone")), ("out", ())]


#: a template whose items write their ``name`` after their ``type``: the item starts a line above the name
TEMPLATE = """\
sources:
  - type: csv
    name: input
    path: in.csv
sinks:
  - type: parquet
    name: output
    input: input
    path: out
"""


def extended(root: Path, pipeline: str, sets: Sequence[str] = ()) -> PipelineSpec:
    make_project(root, {"templates/files.yaml": TEMPLATE, "p/pipeline.yaml": pipeline})
    spec, diagnostics = check_pipeline(load_pipeline(root / "p", None, sets, environ={}), app.registry())
    assert spec is not None, diagnostics
    return spec


@pytest.mark.parametrize(
    ("pipeline", "sets", "source", "sink"),
    [
        pytest.param(
            "extends: files\n", (), ("templates/files.yaml", 2, 5), ("templates/files.yaml", 6, 5), id="template-only"
        ),
        pytest.param(
            'sources: [{name: input, schema: "id INT"}]\nextends: files\n',
            (),
            ("p/pipeline.yaml", 1, 12),
            ("templates/files.yaml", 6, 5),
            id="changed-on-the-first-line",
        ),
        pytest.param(
            "extends: files\n",
            ("sources.input.name=input",),
            ("templates/files.yaml", 2, 5),
            ("templates/files.yaml", 6, 5),
            id="name-set-on-the-command-line",
        ),
    ],
)
def test_a_stage_of_a_template_points_at_the_users_name_key_else_at_the_templates_item(
    tmp_path: Path,
    pipeline: str,
    sets: Sequence[str],
    source: tuple[str, int, int],
    sink: tuple[str, int, int],
) -> None:
    spec = extended(tmp_path, pipeline, sets)
    expected = [Location(str(tmp_path / file), line, column) for file, line, column in (source, sink)]
    assert [spec.stage("input").location, spec.stage("output").location] == expected
