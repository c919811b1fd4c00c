"""Where a stage and its options point: the user's pipeline file or overlay before the template they extend.

Line numbers are counted by hand in the files written below.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.errors import Location
from etl_cli.model.check import check_pipeline
from etl_cli.model.pipeline import PipelineSpec, option_location

from .helpers import make_project, write

TEMPLATE = """
    params:
      input_path: {required: true}
      kind: {default: csv}
    sources:
      - name: input
        type: ${var:kind}
        path: ${var:input_path}
        on_malformed: fail
    sinks:
      - name: output
        type: parquet
        input: input
        path: /tmp/out/${var:kind}
"""


def load(root: Path, pipeline: str, env: str | None = None) -> PipelineSpec:
    files = {"templates/files.yaml": TEMPLATE, "p/pipeline.yaml": pipeline}
    make_project(root, files, project="name: t\nenvironments: {dev: {}}\n")
    spec, diagnostics = check_pipeline(load_pipeline(root / "p", env, environ={}), registry())
    assert spec is not None, diagnostics
    return spec


def overriding_input(line: str) -> str:
    """A pipeline extending the template that sets one option of its source (the option on line 4)."""
    return f"extends: {{template: files, params: {{input_path: in.csv}}}}\nsources:\n  - name: input\n    {line}\n"


def at(root: Path, relative: str, line: int, column: int) -> Location:
    return Location(str(root / relative), line, column)


def test_a_stage_wholly_from_the_template_points_at_the_template(tmp_path: Path) -> None:
    spec = load(tmp_path, "extends: {template: files, params: {input_path: in.csv}}\n")
    assert spec.stage("input").location == at(tmp_path, "templates/files.yaml", 5, 5)


def test_a_stage_the_pipeline_changes_points_at_the_pipeline(tmp_path: Path) -> None:
    spec = load(tmp_path, overriding_input('schema: "id INT"'))
    assert spec.stage("input").location == at(tmp_path, "p/pipeline.yaml", 3, 5)
    assert spec.stage("output").location == at(tmp_path, "templates/files.yaml", 10, 5)


def test_a_stage_an_overlay_changes_points_at_the_overlay(tmp_path: Path) -> None:
    write(tmp_path, "p/env/dev.yaml", "sinks:\n  - name: output\n    mode: append\n")
    spec = load(tmp_path, "extends: {template: files, params: {input_path: in.csv}}\n", env="dev")
    assert spec.stage("output").location == at(tmp_path, "p/env/dev.yaml", 2, 5)


def test_an_option_set_through_a_template_parameter_points_at_the_parameter(tmp_path: Path) -> None:
    spec = load(tmp_path, "extends:\n  template: files\n  params:\n    input_path: in.csv\n")
    assert option_location(spec, spec.stage("input"), "path") == at(tmp_path, "p/pipeline.yaml", 4, 5)


def test_an_option_the_pipeline_overrides_points_at_its_key(tmp_path: Path) -> None:
    spec = load(tmp_path, overriding_input("path: other.csv"))
    assert option_location(spec, spec.stage("input"), "path") == at(tmp_path, "p/pipeline.yaml", 4, 5)


def test_an_option_partly_built_from_a_user_variable_points_at_the_variable(tmp_path: Path) -> None:
    spec = load(tmp_path, "extends: {template: files, params: {input_path: in.csv}}\nvars:\n  kind: json\n")
    assert option_location(spec, spec.stage("output"), "path") == at(tmp_path, "p/pipeline.yaml", 3, 3)


def test_an_option_only_the_template_sets_has_no_user_location(tmp_path: Path) -> None:
    spec = load(tmp_path, "extends: {template: files, params: {input_path: in.csv}}\n")
    assert option_location(spec, spec.stage("input"), "on_malformed") is None
    assert option_location(spec, spec.stage("output"), "path") is None, "kind is the template's default"


def test_an_option_of_a_pipeline_without_template_points_at_its_key(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        """
        sources:
          - {name: raw, type: csv, path: in.csv}
        sinks:
          - name: out
            type: parquet
            input: raw
            path: out
        """,
    )
    assert spec.stage("raw").location == at(tmp_path, "p/pipeline.yaml", 2, 5)
    assert option_location(spec, spec.stage("raw"), "path") == at(tmp_path, "p/pipeline.yaml", 2, 28)
    assert option_location(spec, spec.stage("out"), "path") == at(tmp_path, "p/pipeline.yaml", 7, 5)
    assert option_location(spec, spec.stage("out"), "partition_by") is None


def test_an_option_changed_with_set_points_at_the_set(tmp_path: Path) -> None:
    pipeline = "extends: {template: files, params: {input_path: in.csv}}\n"
    make_project(tmp_path, {"templates/files.yaml": TEMPLATE, "p/pipeline.yaml": pipeline})
    loaded = load_pipeline(tmp_path / "p", None, ["sources.input.path=other.csv"], environ={})
    spec, diagnostics = check_pipeline(loaded, registry())
    assert spec is not None, diagnostics
    assert str(option_location(spec, spec.stage("input"), "path")) == "--set sources.input.path=other.csv"
