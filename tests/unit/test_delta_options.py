"""The Delta Lake plug-ins without Spark: option checks, session settings, the interval rule, dispatching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli.errors import RunError, UsageError
from etl_cli.events import Reporter
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.delta_lake import interval_hours
from etl_cli.plugins.sinks import delta as sink_module
from etl_cli.plugins.sinks.delta import DeltaSink, _insert_condition
from etl_cli.plugins.sources.delta import DeltaSource
from etl_cli.runtime.execution.workspace import merge_session_settings
from etl_cli.usecases.table import MaintenanceRequest, TableTarget, maintain_table


def problems(options: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    return [(p.key_path, p.message) for p in DeltaSink.check_options({"path": "out/t", **options})]


def test_a_plain_append_has_no_problem() -> None:
    assert problems({}) == []
    assert problems({"mode": "merge", "keys": ["id"], "when_matched": "s.v > t.v", "delete_when": "s.op = 'D'"}) == []


def test_options_of_another_mode_are_refused() -> None:
    assert problems({"keys": ["id"]}) == [(("keys",), "keys applies only to mode merge")]
    assert problems({"mode": "merge", "keys": ["id"], "overwrite_partitions": True}) == [
        (("overwrite_partitions",), "overwrite_partitions applies only to mode overwrite")
    ]
    assert problems({"mode": "append", "replace_foreign": True}) == [
        (("replace_foreign",), "replace_foreign applies only to mode overwrite")
    ]


def test_merge_needs_keys_and_overwrite_one_way_of_choosing_rows() -> None:
    assert problems({"mode": "merge"}) == [(("keys",), "mode merge needs keys: the columns identifying a row")]
    assert problems({"mode": "overwrite", "overwrite_partitions": True, "replace_where": "day = 1"}) == [
        (("replace_where",), "give overwrite_partitions or replace_where, not both")
    ]
    assert problems({"mode": "overwrite", "overwrite_schema": True, "overwrite_partitions": True}) == [
        (("overwrite_schema",), "overwrite_schema replaces the whole table, not a part of it")
    ]
    assert [k for k, _ in problems({"mode": "overwrite", "merge_schema": True})] == [("merge_schema",)]


def test_conditions_must_parse_as_spark_sql() -> None:
    found = problems({"mode": "merge", "keys": ["id"], "when_matched": "s.v >"})
    assert [k for k, _ in found] == [("when_matched",)]
    assert found[0][1].startswith("not a Spark SQL condition")


def test_source_takes_a_version_or_a_timestamp() -> None:
    assert DeltaSource.check_options({"path": "t", "version": 3}) == []
    found = DeltaSource.check_options({"path": "t", "version": 3, "timestamp": "2026-01-01"})
    assert [(p.key_path, p.message) for p in found] == [(("timestamp",), "give version or timestamp, not both")]


def test_both_plug_ins_need_delta_s_jar_and_session_settings() -> None:
    for plugin in (DeltaSink, DeltaSource):
        assert plugin.packages_for({"path": "t"}) == ("io.delta:delta-spark_2.13:4.3.0",)
        assert plugin.session_settings_for({})["spark.sql.catalog.spark_catalog"] == (
            "org.apache.spark.sql.delta.catalog.DeltaCatalog"
        )


def test_merged_session_settings_join_extensions_and_keep_the_first_value() -> None:
    merged = merge_session_settings(
        [
            {"spark.sql.extensions": "a.Ext", "k": "1"},
            {"spark.sql.extensions": "b.Ext,a.Ext", "k": "2"},
        ]
    )
    assert merged == {"spark.sql.extensions": "a.Ext,b.Ext", "k": "1"}


@pytest.mark.parametrize(
    ("text", "hours"),
    [("interval 7 days", 168), ("interval 2 days", 48), ("36 hours", 36), ("interval 1 week 30 minutes", 168.5)],
)
def test_interval_hours(text: str, hours: float) -> None:
    assert interval_hours(text) == hours


def test_an_unreadable_interval_is_an_error() -> None:
    with pytest.raises(RunError):
        interval_hours("interval 3 fortnights")


def test_rows_marked_deleted_are_never_inserted() -> None:
    stage = StageSpec("s", "sink", "delta", ("x",), {"when_not_matched": "s.ok", "delete_when": "s.op = 'D'"})
    assert _insert_condition(stage) == "(s.ok) AND NOT coalesce((s.op = 'D'), false)"


def test_the_sink_module_offers_optimize_and_vacuum_only() -> None:
    assert sink_module.MAINTENANCE_ACTIONS == ("optimize", "vacuum")
    assert callable(sink_module.maintain)


def test_table_maintenance_loads_the_pipeline_with_the_set_overrides(tmp_path: Path) -> None:
    """``etl-cli table ... --set`` overrides the pipeline as ``run --set`` does, before the sink is chosen."""
    pipeline = tmp_path / "tables.yaml"
    pipeline.write_text(
        "name: tables\nsources:\n  - {name: events, type: csv, path: events.csv, schema: {id: INT}}\n"
        "sinks:\n  - {name: events_table, type: delta, input: events, path: out/events}\n",
        encoding="utf-8",
    )
    vacuum = MaintenanceRequest("vacuum")
    with pytest.raises(UsageError, match="has 0 table sinks"):
        maintain_table(TableTarget(pipeline, sets=("sinks.events_table.type=parquet",)), vacuum, Reporter())
    with pytest.raises(UsageError, match="writes no table etl-cli can maintain"):
        target = TableTarget(pipeline, "events_table", sets=("sinks.events_table.type=parquet",))
        maintain_table(target, vacuum, Reporter())
