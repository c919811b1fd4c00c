"""The project's catalogs as read from etl-project.yaml, found untested by mutation testing (mutmut) of
etl_cli/model/catalog.py (``_catalog``).

Pins what each kind of entry of ``catalogs:`` becomes: the database ``default`` when none is written (Hive and
Glue), a Hive warehouse resolved against the project root (an absolute one kept), every Glue setting (region,
endpoint, profile, catalog id) and, for every kind, the place of the catalog's name in the project file. Expected
values and places are written by hand from the YAML below.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.project import load_project
from etl_cli.errors import Location
from etl_cli.model.catalog import CatalogSpec, GlueCatalog, HiveCatalog, IcebergCatalog, read_catalogs

from .helpers import write

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
