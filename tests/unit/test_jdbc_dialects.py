"""JDBC without a database: URLs and drivers, the statements of each mode, option checks."""

from __future__ import annotations

from typing import Any

import pytest

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.plugins.jdbc.dialects import (
    MARIADB,
    MYSQL,
    POSTGRESQL,
    dialect_for,
    display_url,
    endpoints,
    package_for,
    spark_url,
)
from etl_cli.plugins.jdbc.options import connection_settings
from etl_cli.plugins.registry import REGISTRY


def problems(kind: str, **options: Any) -> list[str]:
    plugin = REGISTRY.get(kind, "jdbc")  # type: ignore[arg-type]
    return [p.message for p in plugin.check_options({"name": "s", "type": "jdbc", **options})]


@pytest.mark.parametrize(
    ("url", "dialect", "package"),
    [
        ("jdbc:postgresql://db:5432/shop", POSTGRESQL, "org.postgresql:postgresql:42.7.8"),
        ("jdbc:mariadb://db/shop", MARIADB, "org.mariadb.jdbc:mariadb-java-client:3.5.6"),
        ("jdbc:mysql://db:3306/shop?permitMysqlScheme", MARIADB, "org.mariadb.jdbc:mariadb-java-client:3.5.6"),
        ("jdbc:mysql://db:3306/shop", MYSQL, "com.mysql:mysql-connector-j:9.4.0"),
    ],
)
def test_the_url_chooses_dialect_driver_and_maven_package(url: str, dialect: object, package: str) -> None:
    assert dialect_for(url) is dialect
    assert package_for(url, None) == package
    assert REGISTRY.get("source", "jdbc").packages_for({"url": url}) == (package,)
    assert REGISTRY.get("sink", "jdbc").packages_for({"url": url, "table": "t"}) == (package,)


def test_an_explicit_driver_chooses_the_package_and_an_unknown_one_declares_none() -> None:
    assert package_for("jdbc:mysql://db/x", "org.mariadb.jdbc.Driver") == "org.mariadb.jdbc:mariadb-java-client:3.5.6"
    assert package_for("jdbc:sqlserver://db;databaseName=x", "com.microsoft.sqlserver.jdbc.SQLServerDriver") is None


def test_mariadb_urls_reach_spark_in_the_mysql_form_it_has_a_dialect_for() -> None:
    assert spark_url("jdbc:mariadb://db:3306/shop") == "jdbc:mysql://db:3306/shop?permitMysqlScheme"
    assert spark_url("jdbc:mariadb://db/shop?useSsl=true") == "jdbc:mysql://db/shop?useSsl=true&permitMysqlScheme"
    assert spark_url("jdbc:postgresql://db/shop") == "jdbc:postgresql://db/shop"


def test_messages_name_every_host_and_port_and_urls_are_shown_without_credentials() -> None:
    assert endpoints("jdbc:postgresql://db1,db2:6432/shop?targetServerType=primary") == ["db1:5432", "db2:6432"]
    assert endpoints("jdbc:mysql://127.0.0.1/etl") == ["127.0.0.1:3306"]
    assert endpoints("jdbc:postgresql:shop") == ["localhost:5432"]
    assert display_url("jdbc:postgresql://db:5432/shop?user=u&password=p") == "jdbc:postgresql://db:5432/shop"
    assert display_url("jdbc:mysql://u:p@db/shop") == "jdbc:mysql://db/shop"


def test_postgresql_upsert_is_insert_on_conflict_updating_every_non_key_column() -> None:
    sql = POSTGRESQL.upsert('"public"."t"', '"public"."s"', ["id", "name", "qty"], ["id"])
    assert sql == (
        'INSERT INTO "public"."t" ("id", "name", "qty") SELECT "id", "name", "qty" FROM "public"."s" '
        'ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "qty" = EXCLUDED."qty"'
    )
    assert POSTGRESQL.upsert("t", "s", ["a", "b"], ["a", "b"]).endswith('ON CONFLICT ("a", "b") DO NOTHING')


def test_mysql_upsert_is_insert_on_duplicate_key_update_from_the_select_alias() -> None:
    sql = MARIADB.upsert("`etl`.`t`", "`etl`.`s`", ["sku", "qty"], ["sku"])
    assert sql == (
        "INSERT INTO `etl`.`t` (`sku`, `qty`) SELECT s.`sku`, s.`qty` FROM `etl`.`s` AS s "
        "ON DUPLICATE KEY UPDATE `qty` = s.`qty`"
    )
    assert MYSQL.upsert("t", "s", ["sku"], ["sku"]).endswith("ON DUPLICATE KEY UPDATE `sku` = `sku`")


def test_identifiers_and_literals_are_quoted_for_each_database() -> None:
    assert POSTGRESQL.quote_identifier('we"ird') == '"we""ird"'
    assert MYSQL.quote_identifier("we`ird") == "`we``ird`"
    assert POSTGRESQL.literal("it's") == "'it''s'"
    assert MARIADB.literal("a\\'b") == "'a\\\\''b'"


def test_resolved_settings_never_show_the_password() -> None:
    settings = connection_settings(
        {"url": "jdbc:postgresql://db/x", "user": "u", "password": "${secret:env:PW}"},
        lambda value: "hunter2-secret" if value == "${secret:env:PW}" else value,
    )
    assert settings.driver == "org.postgresql.Driver"
    assert "hunter2-secret" not in repr(settings)
    assert settings.scrub("login hunter2-secret failed") == "login ******** failed"
    assert settings.driver_properties() == {"user": "u", "password": "hunter2-secret"}


def test_source_options_table_or_query_and_a_complete_partitioning() -> None:
    url = "jdbc:postgresql://db/x"
    assert problems("source", url=url, table="t") == []
    assert problems("source", url=url) == ["set exactly one of table and query"]
    assert problems("source", url=url, table="t", query="select 1") == ["set exactly one of table and query"]
    assert problems("source", url=url, table="t", partition_column="id") == [
        "a partitioned read needs num_partitions too"
    ]
    assert problems("source", url=url, table="t", lower_bound=1) == ["lower_bound applies only with partition_column"]


def test_sink_options_keys_need_upsert_and_upsert_needs_a_known_database() -> None:
    assert problems("sink", url="jdbc:postgresql://db/x", table="t", keys=["id"]) == ["keys apply only to mode upsert"]
    assert problems("sink", url="jdbc:sqlserver://db", table="t", driver="x.Driver", mode="upsert") == [
        "upsert is supported on PostgreSQL, MySQL and MariaDB URLs only"
    ]
    assert problems("sink", url="jdbc:mariadb://db/x", table="t", mode="upsert", keys=["id"]) == []


def test_connection_settings_set_by_keys_are_refused_in_properties() -> None:
    assert problems("sink", url="jdbc:postgresql://db/x", table="t", properties={"Password": "x"}) == [
        "set 'password' instead of properties.password"
    ]
    assert problems("source", url="postgres://db/x", table="t") == ["'postgres://db/x' is not a JDBC URL"]
