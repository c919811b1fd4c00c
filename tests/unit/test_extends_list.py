"""``extends:`` with a list of templates (merged in order, later wins) and schema-library templates."""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.loader import load_pipeline
from tests.clihelp import etl_cli

from .helpers import make_project

SCHEMAS = """
    library: true
    sources:
      - name: orders
        type: csv
        path: data/orders.csv
        schema: {order_id: BIGINT, amount: DOUBLE}
      - name: customers
        type: csv
        path: data/customers.csv
        schema: {customer_id: BIGINT, country: STRING}
"""

OUTPUT = """
    params:
      out_dir: {default: /tmp/out}
    spark:
      master: local[1]
    sinks:
      - name: out
        type: parquet
        input: orders
        path: ${var:out_dir}/orders
"""

LATER = """
    params:
      out_dir: {default: /tmp/later}
    spark:
      master: local[2]
"""


def _load(tmp_path: Path, pipeline: str, templates: dict[str, str]):  # type: ignore[no-untyped-def]
    files = {f"templates/{name}.yaml": text for name, text in templates.items()}
    make_project(tmp_path, {**files, "p/pipeline.yaml": pipeline})
    return load_pipeline(tmp_path / "p", None, environ={})


def test_templates_of_a_list_merge_in_order_the_later_winning(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "name: p\nextends: [schemas, output, later]\n",
                   {"schemas": SCHEMAS, "output": OUTPUT, "later": LATER})  # fmt: skip
    assert loaded.diagnostics == []
    assert loaded.document["spark"]["master"] == "local[2]"
    assert loaded.document["sinks"][0]["path"] == "/tmp/later/orders"  # later's default for out_dir wins
    assert [s["name"] for s in loaded.document["sources"]] == ["orders"]


def test_each_template_of_a_list_takes_its_own_params(tmp_path: Path) -> None:
    pipeline = "extends:\n  - schemas\n  - {template: output, params: {out_dir: /data}}\n"
    loaded = _load(tmp_path, pipeline, {"schemas": SCHEMAS, "output": OUTPUT})
    assert loaded.diagnostics == []
    assert loaded.document["sinks"][0]["path"] == "/data/orders"


def test_provenance_of_a_value_from_the_second_template(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "extends: [schemas, output]\n", {"schemas": SCHEMAS, "output": OUTPUT})
    where = loaded.provenance.value_location(("sinks", 0, "type"))
    assert where is not None
    assert where.file.endswith("templates/output.yaml")
    assert (where.line, where.column) == (7, 11)
    schema = loaded.provenance.value_location(("sources", 0, "schema", "amount"))
    assert schema is not None and schema.file.endswith("templates/schemas.yaml")
    assert (schema.line, schema.column) == (6, 40)


def test_a_missing_template_in_a_list_is_reported_at_its_entry(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "name: p\nextends:\n  - schemas\n  - outptu\n", {"schemas": SCHEMAS, "output": OUTPUT})
    (diagnostic,) = loaded.diagnostics
    assert diagnostic.code == "template-not-found"
    assert diagnostic.location is not None
    assert (diagnostic.location.line, diagnostic.location.column) == (4, 5)
    assert diagnostic.hint == "did you mean 'output'?"


def test_an_empty_extends_list_is_an_error(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "name: p\nextends: []\n", {})
    (diagnostic,) = loaded.diagnostics
    assert diagnostic.code == "extends-invalid"
    assert diagnostic.location is not None and diagnostic.location.line == 2


def test_a_library_template_keeps_only_the_sources_the_pipeline_reads(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "extends: [schemas, output]\n", {"schemas": SCHEMAS, "output": OUTPUT})
    assert [s["name"] for s in loaded.document["sources"]] == ["orders"]
    assert "library" not in loaded.document


def test_a_library_source_the_pipeline_overrides_is_kept(tmp_path: Path) -> None:
    pipeline = "extends: [schemas, output]\nsources:\n  - {name: customers, path: other.csv}\n"
    loaded = _load(tmp_path, pipeline, {"schemas": SCHEMAS, "output": OUTPUT})
    assert [(s["name"], s["path"]) for s in loaded.document["sources"]] == [
        ("orders", "data/orders.csv"),
        ("customers", "other.csv"),
    ]


def test_a_non_library_template_keeps_its_unread_sources(tmp_path: Path) -> None:
    plain = SCHEMAS.replace("library: true", "library: false")
    loaded = _load(tmp_path, "extends: [schemas, output]\n", {"schemas": plain, "output": OUTPUT})
    assert [s["name"] for s in loaded.document["sources"]] == ["orders", "customers"]


def test_library_must_be_a_boolean(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "extends: schemas\n", {"schemas": SCHEMAS.replace("library: true", "library: yes please")})
    (diagnostic,) = loaded.diagnostics
    assert diagnostic.code == "template-invalid"
    assert diagnostic.location is not None and (diagnostic.location.line, diagnostic.location.column) == (1, 10)


def test_validate_does_not_warn_about_unread_library_sources_and_render_shows_the_merge(tmp_path: Path) -> None:
    _load(tmp_path, "name: p\nextends: [schemas, output]\n", {"schemas": SCHEMAS, "output": OUTPUT})
    checked = etl_cli("validate", "p", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "unused-stage" not in checked.stdout + checked.stderr
    rendered = etl_cli("render", "p", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert "customers" not in rendered.stdout
    assert "data/orders.csv" in rendered.stdout and "/tmp/out/orders" in rendered.stdout
