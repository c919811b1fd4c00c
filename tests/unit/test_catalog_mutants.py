"""The project's catalogs as read from etl-project.yaml, found untested by mutation testing (mutmut) of
etl_cli/model/catalog.py (``_catalog``).

Pins what each kind of entry of ``catalogs:`` becomes: the database ``default`` when none is written (Hive and
Glue), a Hive warehouse resolved against the project root (an absolute one kept), every Glue setting (region,
endpoint, profile, catalog id) and, for every kind, the place of the catalog's name in the project file.

Then the catalogs refused (an iceberg credential written as plain text, at its key, with the variable to read it from;
every hive_metastore after the first, naming the first); what a sink registers (a CSV table's ``header: false``, a
JSON table's writer options, tag values as text, the tags of every contract upstream however the stages join,
``pii:<kind>`` included; a plug-in sink's table in the format it writes; the Hive table's folder as ``dry-run`` lists
it); and ``validate``'s errors of a sink's ``catalog:``, word for word with their hints (a reserved tag, Glue over a
local folder, an unknown catalog among the project's, a streaming pipeline), a source of an unknown type only being
its type error. Expected values and places are written by hand from the YAML below.

Last, which stages get their table catalog resolved (``resolve_table_catalogs``): an iceberg stage does; a plug-in
stage with an option of its own called ``catalog`` does not, even naming an iceberg catalog of the project (its
options reach it as written).

And what ``validate`` says of the catalog a table-format stage names (``check_table_catalogs``, ``_catalog_stages``),
word for word with its hint and at the stage's ``catalog:`` value: an unknown catalog (a close name suggested, or, in
a project without catalogs, how to declare an iceberg one), a catalog of another kind (``source '...'`` or
``sink '...'``), a broken catalog's own problems said once however many stages name it; a stage of an unknown type or
an unknown catalog does not end the walk over the stages after it.
A sink registering in an iceberg catalog (``check_registrations``) is an error at the catalog's name, and the walk
goes on past it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.config.nodes import Provenance
from etl_cli.config.project import Project, load_project
from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import Location
from etl_cli.model.catalog import (
    CatalogSpec,
    GlueCatalog,
    HiveCatalog,
    IcebergCatalog,
    Registration,
    check_registrations,
    check_table_catalogs,
    read_catalogs,
)
from etl_cli.model.check import check_pipeline
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import PLUGIN_KINDS, Effect
from etl_cli.plugins.iceberg import RESOLVED_CATALOG
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sinks.files import ParquetSink
from etl_cli.plugins.sources.files import CsvSource

from .helpers import column, make_project, said, write

PROJECT = """\
name: shop
catalogs:
  hive:
    type: hive_metastore
    warehouse: lake/warehouse
  glue:
    type: glue
    region: eu-west-1
    endpoint_url: http://127.0.0.1:55000
    profile: analytics
    catalog_id: "123456789012"
  tables:
    type: iceberg
    catalog_type: hadoop
    warehouse: lake/iceberg
"""


def catalogs(root: Path, project: str = PROJECT) -> dict[str, CatalogSpec]:
    write(root, "etl-project.yaml", project)
    found, problems = read_catalogs(load_project(root))
    assert problems == []
    return found


def in_project(root: Path, line: int, column: int) -> Location:
    return Location(str(root / "etl-project.yaml"), line, column)


def test_a_hive_metastore_without_a_database_uses_default_and_its_warehouse_below_the_project(tmp_path: Path) -> None:
    hive = catalogs(tmp_path)["hive"]
    assert hive == HiveCatalog("hive", "default", tmp_path / "lake" / "warehouse", in_project(tmp_path, 3, 3))


def test_an_absolute_hive_warehouse_is_kept_as_written(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    hive = catalogs(tmp_path, PROJECT.replace("lake/warehouse", str(elsewhere)))["hive"]
    assert isinstance(hive, HiveCatalog)
    assert hive.warehouse == elsewhere


def test_a_glue_catalog_keeps_every_setting_and_uses_the_default_database_when_none_is_written(
    tmp_path: Path,
) -> None:
    glue = catalogs(tmp_path)["glue"]
    assert glue == GlueCatalog(
        "glue",
        "default",
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:55000",
        profile="analytics",
        catalog_id="123456789012",
        location=in_project(tmp_path, 6, 3),
    )


def test_a_glue_catalog_with_only_its_type_has_the_default_database_and_no_settings(tmp_path: Path) -> None:
    glue = catalogs(tmp_path, "name: shop\ncatalogs:\n  glue: {type: glue}\n")["glue"]
    assert glue == GlueCatalog("glue", "default", None, None, None, None, in_project(tmp_path, 3, 3))


def test_an_iceberg_catalog_is_located_at_its_name_in_the_project_file(tmp_path: Path) -> None:
    tables = catalogs(tmp_path)["tables"]
    assert isinstance(tables, IcebergCatalog)
    assert (tables.database, tables.warehouse, tables.location) == (
        "default",
        str(tmp_path / "lake" / "iceberg"),
        in_project(tmp_path, 12, 3),
    )


# the project's catalogs that are refused (``read_catalogs``, ``_literal_credentials``)


def test_an_iceberg_credential_written_as_plain_text_is_an_error_at_its_key_naming_a_variable_for_it(
    tmp_path: Path,
) -> None:
    project = (
        "name: shop\ncatalogs:\n  lake:\n    type: iceberg\n    catalog_type: rest\n    uri: https://iceberg.example\n"
        "    properties:\n      credential: abc\n      clientSecret: s3cr3t\n      token: ${secret:env:TOKEN}\n"
        "      io-impl: org.apache.iceberg.aws.s3.S3FileIO\n"
    )
    write(tmp_path, "etl-project.yaml", project)
    found, problems = read_catalogs(load_project(tmp_path))
    assert found == {}
    assert [said(p) for p in problems] == [
        (
            "literal-credential",
            "catalog 'lake': properties.credential is a credential written as plain text",
            "write it as a reference, e.g. credential: ${secret:env:ICEBERG_CREDENTIAL} (docs/secrets.md)",
            8,
            7,
        ),
        (
            "literal-credential",
            "catalog 'lake': properties.clientSecret is a credential written as plain text",
            "write it as a reference, e.g. clientSecret: ${secret:env:ICEBERG_CLIENT_SECRET} (docs/secrets.md)",
            9,
            7,
        ),
    ]


def test_every_hive_metastore_after_the_first_is_an_error_naming_the_first(tmp_path: Path) -> None:
    hives = "".join(f"  {name}: {{type: hive_metastore}}\n" for name in ("main", "b", "c"))
    project = f"name: shop\ncatalogs:\n{hives}"
    write(tmp_path, "etl-project.yaml", project)
    found, problems = read_catalogs(load_project(tmp_path))
    assert list(found) == ["main", "b", "c"]
    hint = "a Spark session reaches one metastore: register every table in the first, under its own database"
    assert [said(p) for p in problems] == [
        ("one-hive-metastore", "catalog 'b': a project has one hive_metastore catalog ('main' is one)", hint, 4, 3),
        ("one-hive-metastore", "catalog 'c': a project has one hive_metastore catalog ('main' is one)", hint, 5, 3),
    ]


# what a sink registers (``_registration``, ``column_tags``, ``_upstream``, ``_read_options``, ``_text``, ``effect``)

CATALOGS = "name: shop\ncatalogs:\n  hive:\n    type: hive_metastore\n    database: lake\n  glue:\n    type: glue\n"

# out reads the union u of a and b, a reads b: the walk up from out meets b twice before it reaches s
REGISTERING = """\
sources:
  - name: s
    type: csv
    path: s.csv
    contract:
      policy: allow_extra
      columns:
        email: {type: string, pii: email}
transforms:
  - {name: b, type: filter, inputs: [s], condition: "email is not null"}
  - {name: a, type: filter, inputs: [b], condition: "email <> ''"}
  - {name: u, type: union, inputs: [a, b]}
sinks:
  - {name: out, type: csv, input: u, path: out/orders, header: false, catalog: hive}
  - name: events
    type: json
    input: s
    path: out/events
    options: {compression: gzip}
    catalog: {name: hive, tags: {tier: 1, gold: false}}
"""


def pipeline_check(
    root: Path, pipeline: str, plugins: Registry | None = None
) -> tuple[PipelineSpec | None, list[Diagnostic]]:
    """``validate``'s verdict on ``pipeline`` (file p/pipeline.yaml) in a project with the catalogs hive and glue."""
    make_project(root, {"p/pipeline.yaml": pipeline}, project=CATALOGS)
    return check_pipeline(load_pipeline(root / "p", None, environ={}), plugins or registry())


def pipeline_errors(root: Path, pipeline: str) -> list[tuple[str, str, str | None, int, int]]:
    _, diagnostics = pipeline_check(root, pipeline)
    return [said(d) for d in diagnostics if d.severity == "error"]


def registrations(root: Path, pipeline: str, plugins: Registry | None = None) -> Mapping[str, Registration]:
    spec, diagnostics = pipeline_check(root, pipeline, plugins)
    assert spec is not None, diagnostics
    return spec.registrations


def in_pipeline(root: Path, line: int, column: int) -> Location:
    return Location(str(root / "p" / "pipeline.yaml"), line, column)


def test_a_text_table_keeps_its_writer_options_and_every_contract_upstream_tags_its_columns(tmp_path: Path) -> None:
    hive = HiveCatalog("hive", "lake", None, in_project(tmp_path, 3, 3))
    tags = {"email": ("pii", "pii:email")}
    assert registrations(tmp_path, REGISTERING) == {
        "out": Registration(
            "out",
            hive,
            "lake",
            "out",
            "csv",
            "out/orders",
            column_tags=tags,
            read_options={"header": "false"},
            location=in_pipeline(tmp_path, 14, 5),
        ),
        "events": Registration(
            "events",
            hive,
            "lake",
            "events",
            "json",
            "out/events",
            tags={"tier": "1", "gold": "false"},
            column_tags=tags,
            read_options={"compression": "gzip"},
            location=in_pipeline(tmp_path, 15, 5),
        ),
    }


def test_dry_run_lists_a_hive_table_at_its_folder_below_the_project_root(tmp_path: Path) -> None:
    effect = registrations(tmp_path, REGISTERING)["out"].effect(tmp_path)
    assert effect == Effect(
        "out",
        "register",
        "hive:lake.out",
        "create or update",
        {
            "catalog": "hive (hive_metastore)",
            "location": str(tmp_path / "out" / "orders"),
            "format": "csv",
            "partition_by": [],
            "pii": ["email"],
        },
    )


class LakeSink(ParquetSink):
    """A plug-in sink whose type is not the name of the format it writes."""

    type = "lake"


def test_a_plugin_sink_registers_its_table_in_the_format_it_writes_not_under_its_type_name(tmp_path: Path) -> None:
    plugins = Registry()
    for kind in PLUGIN_KINDS:
        for plugin in registry().plugins(kind):
            plugins.register(plugin)
    plugins.register(LakeSink)
    pipeline = (
        "sources: [{name: s, type: csv, path: s.csv}]\n"
        "sinks: [{name: out, type: lake, input: s, path: o, catalog: hive}]\n"
    )
    registration = registrations(tmp_path, pipeline, plugins)["out"]
    assert (registration.format, registration.read_options) == ("parquet", {})


# what validate says of a sink's catalog: (``_unknown_catalog``, ``_location_problems``, ``_tag_problems``,
# ``_streaming_problem``, ``_streams``)


def test_a_sink_registering_badly_gets_each_error_with_its_hint(tmp_path: Path) -> None:
    pipeline = (
        "sources: [{name: s, type: csv, path: s.csv}]\n"
        "sinks:\n"
        "  - {name: out, type: parquet, input: s, path: out/o, catalog: {name: glue, tags: {owner: me}}}\n"
        "  - {name: other, type: parquet, input: s, path: s3a://b/o, catalog: zzz}\n"
    )
    reserved = (
        "rename it; reserved: classification, comment, external, is_managed_location, location, owner, "
        "pii_columns, provider and etl_cli.*"
    )
    assert pipeline_errors(tmp_path, pipeline) == [
        ("reserved-tag", "tag 'owner' is set by the catalog or by etl-cli", reserved, 3, 84),
        (
            "catalog-location",
            "sink 'out' writes out/o, but Glue catalog 'glue' describes data in S3",
            "write to an s3a://bucket/prefix path, or register in a hive_metastore catalog",
            3,
            48,
        ),
        ("unknown-catalog", "unknown catalog 'zzz'", "catalogs of etl-project.yaml: hive, glue", 4, 70),
    ]


def test_a_streaming_pipeline_registering_a_sink_is_an_error_saying_what_to_do_instead(tmp_path: Path) -> None:
    pipeline = (
        "streaming: {checkpoint_location: checkpoints/p}\n"
        "sources:\n"
        "  - {name: k, type: kafka, mode: stream, bootstrap_servers: b, topic: t, value_format: string}\n"
        "sinks:\n"
        "  - {name: o, type: json, input: k, path: o, catalog: hive}\n"
    )
    assert [e for e in pipeline_errors(tmp_path, pipeline) if e[0].startswith("catalog")] == [
        (
            "catalog-streaming",
            "sink 'o': a streaming pipeline cannot register in a catalog (it never finishes publishing)",
            "register the folder from a batch pipeline that reads it, or remove catalog:",
            5,
            46,
        )
    ]


def test_a_source_of_an_unknown_type_is_only_its_type_error_when_a_sink_registers(tmp_path: Path) -> None:
    pipeline = (
        "sources:\n"
        "  - {name: s, type: csv, path: s.csv}\n"
        "  - {name: n, type: nope}\n"
        "sinks:\n"
        "  - {name: o, type: json, input: s, path: o, catalog: hive}\n"
    )
    assert [(code, line, col) for code, _, _, line, col in pipeline_errors(tmp_path, pipeline)] == [
        ("invalid-value", 3, 21)
    ]


def test_an_iceberg_catalog_without_catalog_type_is_that_one_error_not_also_a_missing_warehouse_and_uri(
    tmp_path: Path,
) -> None:
    write(tmp_path, "etl-project.yaml", "name: shop\ncatalogs:\n  t:\n    type: iceberg\n")
    _, problems = read_catalogs(load_project(tmp_path))
    assert [(p.code, p.message, p.location) for p in problems] == [
        ("missing-key", "missing required key 'catalog_type' in catalogs.t", in_project(tmp_path, 3, 3))
    ]


class WarehouseSource(CsvSource):
    """A plug-in file source with an option of its own called ``catalog`` (no table catalog of the project)."""

    type = "warehouse"
    options_schema: ClassVar[dict[str, Any]] = {**CsvSource.options_schema, "catalog": {"type": "string"}}


def test_only_a_table_format_stage_gets_its_catalog_resolved_not_a_plugin_option_of_the_same_name(
    tmp_path: Path,
) -> None:
    plugins = Registry()
    for kind in PLUGIN_KINDS:
        for plugin in registry().plugins(kind):
            plugins.register(plugin)
    plugins.register(WarehouseSource)
    make_project(
        tmp_path,
        {
            "p/pipeline.yaml": (
                "sources:\n"
                "  - {name: t, type: iceberg, catalog: tables, table: orders}\n"
                "  - {name: w, type: warehouse, path: w.csv, catalog: tables}\n"
                "transforms: [{name: u, type: union, inputs: [t, w]}]\n"
                "sinks: [{name: out, type: json, input: u, path: o}]\n"
            )
        },
        project=PROJECT,
    )
    spec, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), plugins)
    assert spec is not None, diagnostics
    tables: dict[str, Any] = {
        "name": "tables",
        "catalog_type": "hadoop",
        "database": "default",
        "warehouse": str(tmp_path / "lake" / "iceberg"),
        "uri": None,
        "properties": {},
        "metastore": None,
    }
    assert [dict(spec.stage(name).options) for name in ("t", "w")] == [
        {"catalog": "tables", "table": "orders", RESOLVED_CATALOG: tables},
        {"path": "w.csv", "catalog": "tables"},
    ]


# the catalogs named by table-format stages (``check_table_catalogs``, ``_catalog_stages``)

TABLE_PROJECT = """\
name: shop
catalogs:
  lake: {type: iceberg, catalog_type: hadoop, warehouse: lake}
  hive: {type: hive_metastore}
  broken: {type: iceberg}
"""

TABLE_STAGES = [
    "sources:",
    "  - {name: n, type: nope}",
    "  - {name: t, type: iceberg, catalog: laek, table: orders}",
    "  - {name: h, type: iceberg, catalog: hive, table: orders}",
    "sinks:",
    "  - {name: a, type: iceberg, input: t, catalog: broken, table: a}",
    "  - {name: b, type: iceberg, input: t, catalog: broken, table: b}",
    "  - {name: f, type: parquet, input: t, path: f, catalog: hive}",
    "  - {name: w, type: iceberg, input: h, catalog: hive, table: w}",
]


CatalogCheck = Callable[[dict[str, Any], Project, Provenance, Registry], list[Diagnostic]]


def catalog_problems(
    check: CatalogCheck, root: Path, project: str, lines: list[str]
) -> list[tuple[str, str, str | None, int, int]]:
    """What ``check`` (a catalog rule of ``validate``) says of pipeline p/pipeline.yaml (``lines``) in a project
    file ``project``."""
    make_project(root, {"p/pipeline.yaml": "\n".join(lines) + "\n"}, project=project)
    loaded = load_pipeline(root / "p", None, environ={})
    return [said(d) for d in check(loaded.document, loaded.project, loaded.provenance, registry())]


def test_each_table_stage_naming_a_wrong_catalog_gets_its_error_at_its_catalog_and_a_broken_catalog_is_said_once(
    tmp_path: Path,
) -> None:
    # a source of an unknown type is skipped, not the end of the walk; an unknown catalog does not end it either;
    # the parquet sink's catalog: is a registration (checked elsewhere), not a table catalog
    hint = "name a catalog of type: iceberg"
    catalog_types = (
        "Iceberg's catalog: hadoop (tables in a warehouse folder), hive (the project's Hive metastore, embedded "
        "under the state folder, or a metastore at uri) or rest (an Iceberg REST catalog at uri)."
    )

    def hive(index: int) -> int:
        return column(TABLE_STAGES[index], "catalog: hive") + len("catalog: ")

    assert catalog_problems(check_table_catalogs, tmp_path, TABLE_PROJECT, TABLE_STAGES) == [
        ("unknown-catalog", "unknown catalog 'laek'", "did you mean 'lake'?", 3, column(TABLE_STAGES[2], "laek")),
        ("catalog-kind", "source 'h': catalog 'hive' is a hive_metastore catalog, not iceberg", hint, 4, hive(3)),
        ("missing-key", "missing required key 'catalog_type' in catalogs.broken", catalog_types, 5, 3),
        ("catalog-kind", "sink 'w': catalog 'hive' is a hive_metastore catalog, not iceberg", hint, 9, hive(8)),
    ]


def test_a_table_stage_in_a_project_without_catalogs_is_told_how_to_declare_an_iceberg_one(tmp_path: Path) -> None:
    lines = ["sources:", "  - name: t", "    type: iceberg", "    catalog: lake", "    table: orders"]
    hint = "add it to etl-project.yaml, e.g. catalogs: {lake: {type: iceberg, catalog_type: hadoop, warehouse: lake}}"
    assert catalog_problems(check_table_catalogs, tmp_path, "name: shop\n", lines) == [
        ("unknown-catalog", "unknown catalog 'lake'", hint, 4, 14)
    ]


# sinks registering in a catalog (``check_registrations``, ``_registering_sinks``): an iceberg catalog holds iceberg
# tables, so a sink naming it is an error at the catalog's name (``catalog: tables`` or ``catalog: {name: tables}``),
# and the walk goes on past it and past a sink without ``catalog:``

REGISTRATION_PROJECT = """\
name: shop
catalogs:
  hive: {type: hive_metastore}
  tables: {type: iceberg, catalog_type: hadoop, warehouse: lake}
"""

# a sink without catalog: first, then two sinks registering in the iceberg catalog (short and long form)
REGISTERING_SINKS = [
    "sources: [{name: s, type: csv, path: s.csv}]",
    "sinks:",
    "  - {name: plain, type: json, input: s, path: p}",
    "  - {name: short, type: parquet, input: s, path: a, catalog: tables}",
    "  - {name: long, type: parquet, input: s, path: b, catalog: {name: tables}}",
]


def test_each_sink_registering_in_an_iceberg_catalog_is_an_error_at_the_catalog_name_saying_what_to_do_instead(
    tmp_path: Path,
) -> None:
    hint = "write the table with the iceberg sink, or register in a hive_metastore or glue catalog"

    def said_of(sink: str) -> str:
        return f"sink '{sink}': catalog 'tables' is an iceberg catalog, which holds iceberg tables"

    assert catalog_problems(check_registrations, tmp_path, REGISTRATION_PROJECT, REGISTERING_SINKS) == [
        ("catalog-kind", said_of("short"), hint, 4, column(REGISTERING_SINKS[3], "tables")),
        ("catalog-kind", said_of("long"), hint, 5, column(REGISTERING_SINKS[4], "tables")),
    ]
