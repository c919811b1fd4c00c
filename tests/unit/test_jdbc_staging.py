"""Staging tables of the JDBC sink are named after their pipeline, environment and run, so that the
tables of runs that died (killed, machine lost) can be told from those of live runs and of other
pipelines, and dropped.
"""

from __future__ import annotations

import re

from etl_cli.plugins.jdbc.staging import StagingName, owner_tag, run_tag, staging_name, stale_staging

SHAPE = re.compile(r"etl_stg_[0-9a-f]{8}_[0-9a-f]{12}_[0-9a-f]{6}_(?P<base>[a-z0-9_]*)")


def test_the_name_carries_owner_and_run_tags_and_the_targets_name() -> None:
    name = staging_name("orders_daily", "prod", "20240301T090000Z-abcdef12", "out/0", "orders")
    match = SHAPE.fullmatch(name)
    assert match is not None and match["base"] == "orders"
    parsed = StagingName.parse(name)
    assert parsed is not None
    assert (parsed.owner, parsed.run) == (owner_tag("orders_daily", "prod"), run_tag("20240301T090000Z-abcdef12"))


def test_names_fit_the_identifier_limits_of_postgresql_and_mariadb() -> None:
    name = staging_name("p" * 200, "e" * 50, "r" * 100, "s" * 80, "Very Long Table Name " * 5)
    assert len(name) <= 63
    assert SHAPE.fullmatch(name) is not None
    assert StagingName.parse(name) is not None


def test_the_targets_name_is_kept_only_as_lower_case_letters_digits_and_underscores() -> None:
    assert staging_name("p", None, "r", "s", "Orders 2024 (€)").endswith("_orders_2024")


def test_owner_is_the_pipeline_in_its_environment() -> None:
    tags = {
        owner_tag("orders", "dev"),
        owner_tag("orders", "prod"),
        owner_tag("orders", None),
        owner_tag("items", "dev"),
    }
    assert len(tags) == 4


def test_two_writes_of_one_run_get_two_tables() -> None:
    assert staging_name("p", None, "r", "out/0", "t") != staging_name("p", None, "r", "out/1", "t")


def test_stale_tables_are_this_owners_tables_of_runs_not_live() -> None:
    mine = owner_tag("orders", "dev")
    dead = staging_name("orders", "dev", "run-killed", "out", "orders")
    live = staging_name("orders", "dev", "run-live", "out", "orders")
    other_env = staging_name("orders", "prod", "run-killed", "out", "orders")
    other_pipeline = staging_name("items", "dev", "run-killed", "out", "orders")
    names = [dead, live, other_env, other_pipeline, "etl_stg_orders_backup", "etl_stg_0123456789_orders", "orders"]

    assert stale_staging(names, mine, live_run_ids={"run-live"}) == [dead]
    assert sorted(stale_staging(names, mine, live_run_ids=())) == sorted([dead, live])


def test_parsing_refuses_names_of_another_shape() -> None:
    for name in ["etl_stg_orders_backup", "etl_stg_0123456789_orders", "ETL_STG_0123abcd_0123456789ab_abcdef_x", "x"]:
        assert StagingName.parse(name) is None
