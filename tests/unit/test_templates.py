"""``extends:`` builds a pipeline on a template, with parameters; templates may extend templates."""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.loader import load_pipeline

from .helpers import make_project

BASE = """
    params:
      input_path: {description: CSV to read, required: true}
      out_dir: {default: /tmp/out}
    sources:
      - name: src
        type: csv
        path: ${var:input_path}
    sinks:
      - name: out
        type: parquet
        input: src
        path: ${var:out_dir}/result
"""


def test_pipeline_extends_template_with_params(tmp_path: Path) -> None:
    pipeline = "extends: {template: base, params: {input_path: in.csv}}\nname: p\n"
    make_project(tmp_path, {"templates/base.yaml": BASE, "p/pipeline.yaml": pipeline})
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    assert loaded.diagnostics == []
    assert loaded.document["sources"][0]["path"] == "in.csv"
    assert loaded.document["sinks"][0]["path"] == "/tmp/out/result"
    assert loaded.document["name"] == "p"


def test_pipeline_vars_override_template_params(tmp_path: Path) -> None:
    pipeline = "extends: {template: base, params: {input_path: in.csv}}\nvars: {out_dir: /o}\n"
    make_project(tmp_path, {"templates/base.yaml": BASE, "p/pipeline.yaml": pipeline})
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    assert loaded.document["sinks"][0]["path"] == "/o/result"


def test_template_extending_a_template(tmp_path: Path) -> None:
    child = (
        "extends: {template: base, params: {input_path: child.csv}}\n"
        "transforms:\n  - {name: t, type: filter, inputs: [src], condition: 'true'}\n"
    )
    make_project(
        tmp_path, {"templates/base.yaml": BASE, "templates/child.yaml": child, "p/pipeline.yaml": "extends: child\n"}
    )
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    assert loaded.diagnostics == []
    assert loaded.document["sources"][0]["path"] == "child.csv"
    assert loaded.document["transforms"][0]["name"] == "t"


def test_missing_required_param_is_reported_at_extends(tmp_path: Path) -> None:
    make_project(tmp_path, {"templates/base.yaml": BASE, "p/pipeline.yaml": "name: p\nextends: base\n"})
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    diag = next(d for d in loaded.diagnostics if d.code == "template-param")
    assert "input_path" in diag.message
    assert diag.location.line == 2


def test_unknown_param_suggests_the_right_one(tmp_path: Path) -> None:
    pipeline = "extends:\n  template: base\n  params:\n    input_path: a\n    out_dri: b\n"
    make_project(tmp_path, {"templates/base.yaml": BASE, "p/pipeline.yaml": pipeline})
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    (diag,) = loaded.diagnostics
    assert diag.hint == "did you mean 'out_dir'?"
    assert (diag.location.line, diag.location.column) == (5, 5)


def test_a_misspelt_key_of_a_declared_parameter_is_reported_in_the_template(tmp_path: Path) -> None:
    base = BASE.replace("{default: /tmp/out}", "{defualt: /tmp/out, example: /data/out}")
    pipeline = "extends: {template: base, params: {input_path: a, out_dir: b}}\n"
    make_project(tmp_path, {"templates/base.yaml": base, "p/pipeline.yaml": pipeline})
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    (diag,) = loaded.diagnostics
    assert (diag.code, diag.message) == (
        "template-param",
        "parameter 'out_dir' of template 'base' has no key 'defualt'",
    )
    assert diag.hint == "did you mean 'default'?"
    assert diag.location.file.endswith("templates/base.yaml")
    assert (diag.location.line, diag.location.column) == (3, 13)


def test_missing_template_lists_what_exists(tmp_path: Path) -> None:
    make_project(tmp_path, {"templates/base.yaml": BASE, "p/pipeline.yaml": "extends: bsae\n"})
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    diag = next(d for d in loaded.diagnostics if d.code == "template-not-found")
    assert diag.hint == "did you mean 'base'?"


def test_template_loop_is_named(tmp_path: Path) -> None:
    cycle = {"templates/a.yaml": "extends: b\n", "templates/b.yaml": "extends: a\n", "p/pipeline.yaml": "extends: a\n"}
    make_project(tmp_path, cycle)
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    assert any(d.code == "template-cycle" and "a -> b -> a" in d.message for d in loaded.diagnostics)


def test_provenance_points_into_the_template_for_inherited_keys(tmp_path: Path) -> None:
    pipeline = "extends: {template: base, params: {input_path: in.csv}}\n"
    make_project(tmp_path, {"templates/base.yaml": BASE, "p/pipeline.yaml": pipeline})
    loaded = load_pipeline(tmp_path / "p", None, environ={})
    where = loaded.provenance.value_location(("sinks", 0, "type"))
    assert where.file.endswith("templates/base.yaml")
    assert where.line == 10
