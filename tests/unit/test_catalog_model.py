"""Catalog registration offline: the project's ``catalogs:``, a sink's ``catalog:``, and what validate says.

Expected registrations, messages and places are written by hand from the YAML below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import Location
from etl_cli.model.catalog import GlueCatalog, HiveCatalog, Registration, table_location
from etl_cli.model.check import check_pipeline
from etl_cli.model.pipeline import PipelineSpec

from .helpers import make_project

PROJECT = """\
name: shop
catalogs:
  hive:
    type: hive_metastore
    database: lake
  glue:
    type: glue
    database: sales
    region: eu-west-1
    endpoint_url: http://127.0.0.1:55000
"""

PIPELINE = """\
name: orders
sources:
  - name: raw
    type: csv
    path: raw.csv
    contract:
      policy: allow_extra
      columns:
        id: int
        email: {type: string, pii: true, tags: [contact]}
        phone: {pii: true}
transforms:
  - name: kept
    type: filter
    inputs: [raw]
    condition: id > 0
    contract:
      policy: evolve
      columns:
        email: {tags: [gdpr]}
sinks:
  - name: orders_out
    type: parquet
    input: kept
    description: Orders with a positive id.
    path: s3a://bucket/orders
    partition_by: [id]
    catalog:
      name: glue
      owner: data-team
      tags: {domain: sales, tier: 1}
  - name: orders_csv
    type: csv
    input: raw
    path: out/orders_csv
    options: {sep: ";"}
    catalog: {name: hive, table: reports.orders_csv, description: For the reports.}
"""


def check(root: Path, pipeline: str, project: str = PROJECT) -> tuple[PipelineSpec | None, list[Diagnostic]]:
    make_project(root, {"p/pipeline.yaml": pipeline}, project=project)
    return check_pipeline(load_pipeline(root / "p", None, environ={}), registry())


def spec_of(root: Path, pipeline: str = PIPELINE, project: str = PROJECT) -> PipelineSpec:
    spec, diagnostics = check(root, pipeline, project)
    assert spec is not None, diagnostics
    return spec


def problems(root: Path, pipeline: str, project: str = PROJECT) -> list[tuple[str, str, Location | None]]:
    _, diagnostics = check(root, pipeline, project)
    return [(d.code, d.message, d.location) for d in diagnostics if d.severity == "error"]


def in_pipeline(root: Path, line: int, column: int) -> Location:
    return Location(str(root / "p" / "pipeline.yaml"), line, column)


def in_project(root: Path, line: int, column: int) -> Location:
    return Location(str(root / "etl-project.yaml"), line, column)


def test_a_sink_registers_in_the_catalog_it_names_with_the_catalog_database_and_its_own_name(tmp_path: Path) -> None:
    registration = spec_of(tmp_path).registrations["orders_out"]
    glue = GlueCatalog("glue", "sales", "eu-west-1", "http://127.0.0.1:55000", location=in_project(tmp_path, 6, 3))
    assert (registration.catalog, registration.database, registration.table) == (glue, "sales", "orders_out")
    assert (registration.format, registration.path, registration.partition_by) == (
        "parquet",
        "s3a://bucket/orders",
        ("id",),
    )
    assert (registration.owner, registration.description) == ("data-team", "Orders with a positive id.")
    assert registration.tags == {"domain": "sales", "tier": "1"}


def test_a_table_may_name_its_database_and_a_description_of_its_own(tmp_path: Path) -> None:
    registration = spec_of(tmp_path).registrations["orders_csv"]
    assert registration.catalog == HiveCatalog("hive", "lake", None, in_project(tmp_path, 3, 3))
    assert (registration.database, registration.table, registration.format) == ("reports", "orders_csv", "csv")
    assert (registration.description, registration.owner, registration.tags) == ("For the reports.", None, {})


def test_a_csv_table_keeps_what_its_readers_need_header_and_writer_options(tmp_path: Path) -> None:
    assert spec_of(tmp_path).registrations["orders_csv"].read_options == {"sep": ";", "header": "true"}


def test_columns_are_tagged_from_every_contract_upstream_nearest_first(tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    assert spec.registrations["orders_out"].column_tags == {"email": ("gdpr", "pii", "contact"), "phone": ("pii",)}
    assert spec.registrations["orders_csv"].column_tags == {"email": ("pii", "contact"), "phone": ("pii",)}


def test_a_contract_column_declares_pii_and_tags(tmp_path: Path) -> None:
    email = next(c for c in spec_of(tmp_path).contracts["raw"].columns if c.name == "email")
    assert (email.type, email.pii, email.tags) == ("string", True, ("contact",))


def test_a_sink_without_catalog_registers_nothing(tmp_path: Path) -> None:
    pipeline = "sources: [{name: a, type: csv, path: a.csv}]\nsinks: [{name: out, type: parquet, input: a, path: o}]\n"
    assert spec_of(tmp_path, pipeline).registrations == {}


def test_glue_holds_the_location_as_s3_and_hive_as_the_path_written(tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    assert table_location(spec.registrations["orders_out"], tmp_path) == "s3://bucket/orders"
    assert table_location(spec.registrations["orders_csv"], tmp_path) == str(tmp_path / "out" / "orders_csv")


def test_the_short_form_names_only_the_catalog(tmp_path: Path) -> None:
    pipeline = PIPELINE.replace(
        "catalog: {name: hive, table: reports.orders_csv, description: For the reports.}", "catalog: hive"
    )
    registration = spec_of(tmp_path, pipeline).registrations["orders_csv"]
    assert (registration.catalog.name, registration.qualified_name, registration.description) == (
        "hive",
        "lake.orders_csv",
        None,
    )


def test_dry_run_lists_the_registration_as_an_effect(tmp_path: Path) -> None:
    effect = spec_of(tmp_path).registrations["orders_out"].effect(tmp_path)
    assert (effect.stage, effect.action, effect.target, effect.mode) == (
        "orders_out",
        "register",
        "glue:sales.orders_out",
        "create or update",
    )
    assert effect.details == {
        "catalog": "glue (glue)",
        "location": "s3://bucket/orders",
        "format": "parquet",
        "partition_by": ["id"],
        "pii": ["email", "phone"],
    }


def test_an_unknown_catalog_is_an_error_at_its_name_with_a_suggestion(tmp_path: Path) -> None:
    _, diagnostics = check(tmp_path, PIPELINE.replace("name: glue", "name: glu"))
    (problem,) = [d for d in diagnostics if d.severity == "error"]
    assert (problem.code, problem.message, problem.location) == (
        "unknown-catalog",
        "unknown catalog 'glu'",
        in_pipeline(tmp_path, 29, 13),
    )
    assert problem.hint == "did you mean 'glue'?"


def test_a_project_without_catalogs_says_how_to_add_one(tmp_path: Path) -> None:
    _, diagnostics = check(tmp_path, PIPELINE, project="name: shop\n")
    hints = {d.hint for d in diagnostics if d.code == "unknown-catalog"}
    assert hints == {
        "add it to etl-project.yaml, e.g. catalogs: {glue: {type: glue, database: sales}}",
        "add it to etl-project.yaml, e.g. catalogs: {hive: {type: glue, database: sales}}",
    }


def test_a_wrong_catalog_setting_is_an_error_in_the_project_file(tmp_path: Path) -> None:
    project = PROJECT.replace("    region: eu-west-1\n", "    regoin: eu-west-1\n")
    assert [(code, where) for code, _, where in problems(tmp_path, PIPELINE, project)] == [
        ("unknown-key", in_project(tmp_path, 9, 5))
    ]


def test_an_unknown_catalog_type_is_an_error_at_its_value(tmp_path: Path) -> None:
    project = PROJECT.replace("type: hive_metastore", "type: unity")
    assert [(code, where) for code, _, where in problems(tmp_path, PIPELINE, project)] == [
        ("invalid-value", in_project(tmp_path, 4, 11))
    ]


def test_catalog_problems_do_not_hold_up_a_pipeline_that_registers_nothing(tmp_path: Path) -> None:
    project = PROJECT.replace("type: hive_metastore", "type: unity")
    pipeline = "sources: [{name: a, type: csv, path: a.csv}]\nsinks: [{name: out, type: parquet, input: a, path: o}]\n"
    assert problems(tmp_path, pipeline, project) == []


def test_a_project_has_one_hive_metastore(tmp_path: Path) -> None:
    project = PROJECT + "  other:\n    type: hive_metastore\n"
    assert [(code, where) for code, _, where in problems(tmp_path, PIPELINE, project)] == [
        ("one-hive-metastore", in_project(tmp_path, 11, 3))
    ]


def test_glue_refuses_a_sink_that_writes_outside_s3(tmp_path: Path) -> None:
    found = problems(tmp_path, PIPELINE.replace("path: s3a://bucket/orders", "path: out/orders"))
    assert found == [
        (
            "catalog-location",
            "sink 'orders_out' writes out/orders, but Glue catalog 'glue' describes data in S3",
            in_pipeline(tmp_path, 26, 11),
        )
    ]


@pytest.mark.parametrize("tag", ["etl_cli.run", "owner", "pii_columns"])
def test_a_tag_may_not_set_what_the_catalog_or_etl_cli_sets(tmp_path: Path, tag: str) -> None:
    found = problems(tmp_path, PIPELINE.replace("tags: {domain: sales", f"tags: {{{tag}: x, domain: sales"))
    assert found == [
        ("reserved-tag", f"tag '{tag}' is set by the catalog or by etl-cli", in_pipeline(tmp_path, 31, 14))
    ]


def test_a_table_name_is_lower_case_letters_digits_and_underscores(tmp_path: Path) -> None:
    found = problems(tmp_path, PIPELINE.replace("table: reports.orders_csv", "table: Reports.orders"))
    assert [(code, where) for code, _, where in found] == [("invalid-value", in_pipeline(tmp_path, 37, 34))]


def test_two_sinks_may_not_register_the_same_table(tmp_path: Path) -> None:
    pipeline = (
        PIPELINE.replace("table: reports.orders_csv", "table: sales.orders_out")
        .replace("name: hive,", "name: glue,")
        .replace("path: out/orders_csv", "path: s3a://bucket/csv")
    )
    found = problems(tmp_path, pipeline)
    assert found == [
        (
            "duplicate-registration",
            "sinks 'orders_out' and 'orders_csv' both register glue:sales.orders_out",
            in_pipeline(tmp_path, 37, 5),
        )
    ]


def test_only_file_sinks_register(tmp_path: Path) -> None:
    pipeline = (
        "sources: [{name: a, type: csv, path: a.csv}]\n"
        "sinks:\n"
        "  - {name: out, type: jdbc, input: a, url: 'jdbc:postgresql://h/db', table: t, catalog: glue}\n"
    )
    assert [code for code, _, _ in problems(tmp_path, pipeline)] == ["unknown-key"]


def test_the_registration_keeps_the_sink_location(tmp_path: Path) -> None:
    registration: Registration = spec_of(tmp_path).registrations["orders_out"]
    assert registration.location == in_pipeline(tmp_path, 22, 5)


def test_a_streaming_pipeline_cannot_register(tmp_path: Path) -> None:
    pipeline = (
        "sources:\n"
        "  - {name: k, type: kafka, mode: stream, bootstrap_servers: b, topic: t, value_format: string}\n"
        "sinks:\n"
        "  - {name: o, type: json, input: k, path: o, catalog: hive}\n"
    )
    found = [(code, where) for code, _, where in problems(tmp_path, pipeline) if code.startswith("catalog")]
    assert found == [("catalog-streaming", in_pipeline(tmp_path, 4, 46))]
