"""Environment overlays merge over the pipeline by the documented rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.loader import load_pipeline
from etl_cli.errors import UsageError

from .helpers import PROJECT, make_project, write

PIPELINE = """
    name: demo
    vars: {out: /tmp/base}
    spark:
      master: local[2]
      conf: {spark.a: 1, spark.b: 2}
    sources:
      - name: orders
        type: csv
        path: orders.csv
        options: {sep: ","}
      - name: customers
        type: csv
        path: customers.csv
    sinks:
      - name: out
        type: parquet
        input: orders
        path: ${var:out}
        partition_by: [a, b]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"p/pipeline.yaml": PIPELINE}, project=PROJECT)


def test_mappings_merge_deeply(project: Path) -> None:
    write(project, "p/env/prod.yaml", "spark:\n  conf: {spark.b: 20, spark.c: 30}\n")
    doc = load_pipeline(project / "p", "prod").document
    assert doc["spark"] == {"master": "local[2]", "conf": {"spark.a": 1, "spark.b": 20, "spark.c": 30}}


def test_named_list_items_merge_by_name_and_keep_order(project: Path) -> None:
    write(project, "p/env/prod.yaml", "sources:\n  - name: customers\n    path: prod/customers.csv\n")
    doc = load_pipeline(project / "p", "prod").document
    assert [s["name"] for s in doc["sources"]] == ["orders", "customers"]
    assert doc["sources"][1] == {"name": "customers", "type": "csv", "path": "prod/customers.csv"}


def test_new_named_item_with_a_type_is_appended(project: Path) -> None:
    write(project, "p/env/prod.yaml", "sources:\n  - name: extra\n    type: json\n    path: x.json\n")
    doc = load_pipeline(project / "p", "prod").document
    assert [s["name"] for s in doc["sources"]] == ["orders", "customers", "extra"]


def test_plain_lists_are_replaced(project: Path) -> None:
    write(project, "p/env/prod.yaml", "sinks:\n  - name: out\n    partition_by: [c]\n")
    doc = load_pipeline(project / "p", "prod").document
    assert doc["sinks"][0]["partition_by"] == ["c"]


def test_delete_removes_a_key(project: Path) -> None:
    write(project, "p/env/prod.yaml", "sources:\n  - name: orders\n    options: !delete\n")
    doc = load_pipeline(project / "p", "prod").document
    assert "options" not in doc["sources"][0]


def test_delete_removes_a_named_item(project: Path) -> None:
    write(project, "p/env/prod.yaml", "sources:\n  - !delete {name: customers}\n")
    doc = load_pipeline(project / "p", "prod").document
    assert [s["name"] for s in doc["sources"]] == ["orders"]


def test_replace_swaps_a_mapping_instead_of_merging(project: Path) -> None:
    write(project, "p/env/prod.yaml", "spark:\n  conf: !replace {spark.z: 9}\n")
    doc = load_pipeline(project / "p", "prod").document
    assert doc["spark"]["conf"] == {"spark.z": 9}


def test_overlay_changing_an_undefined_item_is_an_error_at_the_overlay(project: Path) -> None:
    write(project, "p/env/prod.yaml", "sinks:\n  - name: outt\n    mode: append\n")
    loaded = load_pipeline(project / "p", "prod")
    (diag,) = [d for d in loaded.diagnostics if d.code == "overlay-target"]
    assert diag.location.file.endswith("p/env/prod.yaml")
    assert (diag.location.line, diag.location.column) == (2, 5)
    assert diag.hint == "did you mean 'out'?"


def test_delete_of_a_missing_key_is_an_error(project: Path) -> None:
    write(project, "p/env/prod.yaml", "spark:\n  mastr: !delete\n")
    loaded = load_pipeline(project / "p", "prod")
    (diag,) = [d for d in loaded.diagnostics if d.code == "overlay-delete"]
    assert diag.location.line == 2
    assert diag.hint == "did you mean 'master'?"


def test_env_comes_from_etl_env_when_not_given(project: Path) -> None:
    write(project, "p/env/prod.yaml", "vars: {out: /tmp/prod}\n")
    loaded = load_pipeline(project / "p", None, environ={"ETL_ENV": "prod"})
    assert loaded.env == "prod"
    assert loaded.document["sinks"][0]["path"] == "/tmp/prod"


def test_project_default_env_applies_without_flag_or_variable(project: Path) -> None:
    write(project, "p/env/dev.yaml", "vars: {out: /tmp/dev}\n")
    loaded = load_pipeline(project / "p", None, environ={})
    assert loaded.env == "dev"
    assert loaded.document["sinks"][0]["path"] == "/tmp/dev"


def test_unknown_environment_is_a_usage_error_with_suggestion(project: Path) -> None:
    with pytest.raises(UsageError) as caught:
        load_pipeline(project / "p", "prd", environ={})
    assert caught.value.hint == "did you mean 'prod'?"


def test_set_overrides_every_layer_and_addresses_items_by_name(project: Path) -> None:
    write(project, "p/env/prod.yaml", "sinks:\n  - name: out\n    mode: overwrite\n")
    loaded = load_pipeline(project / "p", "prod", sets=["sinks.out.mode=append", "spark.conf.spark.x=5"])
    assert loaded.document["sinks"][0]["mode"] == "append"
    assert loaded.document["spark"]["conf"]["spark.x"] == 5


def test_set_takes_lists_and_mappings_in_yaml_flow_style(project: Path) -> None:
    sets = ["sinks.out.partition_by=[day, country]", "spark.conf={spark.a: 1, spark.b: x}"]
    loaded = load_pipeline(project / "p", None, sets=sets, environ={})
    assert loaded.document["sinks"][0]["partition_by"] == ["day", "country"]
    assert loaded.document["spark"]["conf"] == {"spark.a": 1, "spark.b": "x"}


def test_set_without_equals_is_a_usage_error(project: Path) -> None:
    with pytest.raises(UsageError):
        load_pipeline(project / "p", None, sets=["sinks.out.mode"], environ={})
