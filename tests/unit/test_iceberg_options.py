"""The Iceberg plug-ins without Spark: the project's iceberg catalogs, the session settings, option checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.model.check import check_pipeline
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins import iceberg
from etl_cli.plugins.iceberg import RESOLVED_CATALOG
from etl_cli.plugins.sinks.iceberg import IcebergSink, _partition_sql
from etl_cli.plugins.sources.iceberg import IcebergSource
from etl_cli.runtime.execution.workspace import plugin_session_settings

from .helpers import make_project

PROJECT = """\
name: lake
catalogs:
  lake: {type: iceberg, catalog_type: hadoop, warehouse: wh, database: sales}
  meta: {type: iceberg, catalog_type: hive}
  remote:
    type: iceberg
    catalog_type: rest
    uri: http://127.0.0.1:8181
    properties: {io-impl: org.apache.iceberg.hadoop.HadoopFileIO}
  hive: {type: hive_metastore}
"""
PIPELINE = """\
sources:
  - {name: a, type: iceberg, catalog: lake, table: orders, snapshot_id: 7}
sinks:
  - {name: out, type: iceberg, input: a, catalog: %s, table: gold.orders, mode: merge, keys: [id]}
"""


def check(root: Path, pipeline: str, project: str = PROJECT) -> tuple[PipelineSpec | None, list[Diagnostic]]:
    make_project(root, {"p/pipeline.yaml": pipeline}, project=project)
    return check_pipeline(load_pipeline(root / "p", None, environ={}), registry())


def errors(root: Path, pipeline: str, project: str = PROJECT) -> list[tuple[str, str]]:
    _, diagnostics = check(root, pipeline, project)
    return [(d.code, d.message) for d in diagnostics if d.severity == "error"]


def test_a_stage_gets_its_catalog_resolved_against_the_project(tmp_path: Path) -> None:
    spec, diagnostics = check(tmp_path, PIPELINE % "lake")
    assert spec is not None, diagnostics
    source = spec.stages[0]
    assert source.options[RESOLVED_CATALOG] == {
        "name": "lake",
        "catalog_type": "hadoop",
        "database": "sales",
        "warehouse": str(tmp_path / "wh"),
        "uri": None,
        "properties": {},
        "metastore": None,
    }
    assert iceberg.display_name(source.options) == "lake.sales.orders"
    assert iceberg.table_identifier(spec.stages[1].options) == "`lake`.`gold`.`orders`"


def test_the_session_starts_with_the_extensions_and_each_catalog(tmp_path: Path) -> None:
    from etl_cli.plan.dag import compile_plan

    spec, _ = check(tmp_path, PIPELINE % "remote")
    assert spec is not None
    settings = plugin_session_settings(compile_plan(spec), registry())
    assert settings == {
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.catalog.lake": "org.apache.iceberg.spark.SparkCatalog",
        "spark.sql.catalog.lake.type": "hadoop",
        "spark.sql.catalog.lake.warehouse": str(tmp_path / "wh"),
        "spark.sql.catalog.remote": "org.apache.iceberg.spark.SparkCatalog",
        "spark.sql.catalog.remote.type": "rest",
        "spark.sql.catalog.remote.uri": "http://127.0.0.1:8181",
        "spark.sql.catalog.remote.io-impl": "org.apache.iceberg.hadoop.HadoopFileIO",
    }


def test_the_hive_catalog_uses_the_projects_embedded_metastore(tmp_path: Path) -> None:
    spec, _ = check(tmp_path, PIPELINE % "meta")
    assert spec is not None
    catalog = spec.stages[1].options[RESOLVED_CATALOG]
    settings = iceberg.catalog_settings(catalog)
    assert settings["spark.sql.catalog.meta.type"] == "hive"
    assert settings["spark.sql.catalog.meta.warehouse"] == str(spec.state_dir / "iceberg")
    url = f"jdbc:derby:;databaseName={spec.state_dir / 'metastore_db'};create=true"
    assert settings["spark.hadoop.javax.jdo.option.ConnectionURL"] == url


def test_a_catalog_that_is_not_iceberg_or_unknown_is_refused(tmp_path: Path) -> None:
    assert [code for code, _ in errors(tmp_path, PIPELINE % "hive")] == ["catalog-kind"]
    assert [code for code, _ in errors(tmp_path, PIPELINE % "laek")] == ["unknown-catalog"]


def test_hadoop_needs_a_warehouse_and_rest_a_uri(tmp_path: Path) -> None:
    project = PROJECT.replace("warehouse: wh, ", "").replace("    uri: http://127.0.0.1:8181\n", "")
    codes = [code for code, _ in errors(tmp_path, PIPELINE % "remote", project)]
    assert codes == ["missing-key", "missing-key"]


def test_a_rest_catalog_credential_must_be_a_secret_reference(tmp_path: Path) -> None:
    literal = PROJECT.replace(
        "{io-impl:", "{token: abc123, credential: 'id:pw', rest.auth.basic.password: pw, io-impl:"
    )
    found = errors(tmp_path, PIPELINE % "remote", literal)
    assert found == [
        ("literal-credential", f"catalog 'remote': properties.{key} is a credential written as plain text")
        for key in ("token", "credential", "rest.auth.basic.password")
    ]
    referenced = PROJECT.replace("    uri: http", "    warehouse: analytics\n    uri: http").replace(
        "{io-impl:", "{token: '${secret:env:T}', credential: 'id:${secret:env:C}', oauth2-server-uri: x, io-impl:"
    )
    spec, diagnostics = check(tmp_path, PIPELINE % "remote", referenced)
    assert spec is not None, diagnostics
    properties = spec.stages[1].options[RESOLVED_CATALOG]["properties"]
    assert properties["token"] == "${secret:env:T}"  # resolved when the session starts, never before
    # a REST catalog's warehouse is the server's name for it, not a folder of the project
    assert spec.stages[1].options[RESOLVED_CATALOG]["warehouse"] == "analytics"


def test_a_file_sink_cannot_register_in_an_iceberg_catalog(tmp_path: Path) -> None:
    pipeline = (
        "sources: [{name: a, type: csv, path: a.csv}]\n"
        "sinks: [{name: o, type: parquet, input: a, path: o, catalog: lake}]\n"
    )
    assert [code for code, _ in errors(tmp_path, pipeline)] == ["catalog-kind"]


def sink_problems(**options: Any) -> list[tuple[tuple[str | int, ...], str]]:
    return [(p.key_path, p.message) for p in IcebergSink.check_options({"catalog": "c", "table": "t", **options})]


def test_sink_options_that_only_merge_takes() -> None:
    assert sink_problems(mode="merge") == [(("mode",), "merge needs keys")]
    assert sink_problems(mode="append", keys=["id"]) == [(("keys",), "keys applies to mode: merge only")]
    assert sink_problems(mode="merge", keys=["id"], merge_schema=True)[0][0] == ("merge_schema",)
    assert sink_problems(mode="merge", keys=["id"], delete_when="s.deleted", insert_when="NOT s.deleted") == []


def test_a_merge_condition_must_parse_as_spark_sql() -> None:
    [(path, message)] = sink_problems(mode="merge", keys=["id"], update_when="s.a >")
    assert path == ("update_when",) and message.startswith("not a Spark SQL condition")


def test_partition_transforms_are_rebuilt_quoted() -> None:
    assert _partition_sql("day") == "`day`"
    assert _partition_sql("days( ts )") == "days(`ts`)"
    assert _partition_sql("bucket(16, id)") == "bucket(16, `id`)"
    assert _partition_sql("truncate(4,code)") == "truncate(4, `code`)"


def test_source_reads_one_version_at_most() -> None:
    found = IcebergSource.check_options({"snapshot_id": 1, "tag": "v1"})
    assert [(p.key_path, p.message) for p in found] == [
        (("tag",), "snapshot_id and tag both choose the version read: keep one")
    ]
    found = IcebergSource.check_options({"incremental": True, "branch": "dev"})
    assert [p.key_path for p in found] == [("incremental",)]
    found = IcebergSource.check_options({"timestamp": "2026-05-01 12:00"})
    assert [p.key_path for p in found] == [("timestamp",)]
    assert IcebergSource.check_options({"timestamp": "2026-05-01T12:00:00Z"}) == []


def test_dry_run_effect_names_the_table(tmp_path: Path) -> None:
    spec, _ = check(tmp_path, PIPELINE % "lake")
    assert spec is not None
    [effect] = IcebergSink().effects(spec.stages[1], tmp_path)
    assert (effect.action, effect.target, effect.mode, dict(effect.details)) == (
        "merge",
        "iceberg lake.gold.orders",
        "merge",
        {"keys": ["id"]},
    )


def test_vacuum_keeps_three_days_unless_forced(tmp_path: Path) -> None:
    import pytest

    from etl_cli.errors import ConfigError
    from etl_cli.plugins.maintenance import MaintenanceRequest

    spec, _ = check(tmp_path, PIPELINE % "lake")
    assert spec is not None
    with pytest.raises(ConfigError, match="72-hour safety margin"):
        iceberg.maintain(None, spec.stages[1], MaintenanceRequest("vacuum", retain_hours=1))  # type: ignore[arg-type]
    assert iceberg._instant("2026-05-01T02:00:00+02:00") == "2026-05-01 00:00:00Z"
    with pytest.raises(ConfigError):
        iceberg._instant("last week")
