"""The built-in plug-ins' declared options, without a JVM: descriptions, schema and check_options rules."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.model.schema import build_schema
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND, Kind, Plugin, Sink, StageSpec
from etl_cli.plugins.registry import REGISTRY
from etl_cli.plugins.spark_types import SortKey, schema_ddl, split_top_level

ALL_PLUGINS = [plugin for kind in KINDS for plugin in REGISTRY.plugins(kind)]


def plugin_id(plugin: type[Plugin]) -> str:
    return f"{plugin.kind}.{plugin.type}"


def undocumented(properties: dict[str, Any], path: str = "") -> Iterator[str]:
    """Every property below ``properties`` (nested objects, list items, mapping values) without a description."""
    for name, schema in properties.items():
        where = f"{path}{name}"
        if not schema.get("description"):
            yield where
        yield from undocumented(schema.get("properties", {}), f"{where}.")
        for key in ("items", "additionalProperties"):
            nested = schema.get(key)
            if isinstance(nested, dict):
                yield from undocumented(nested.get("properties", {}), f"{where}[].")


def problems(type_name: str, kind: Kind = "transform", **item: Any) -> list[str]:
    """The messages check_options reports for a stage item (as the validator passes it: the whole item)."""
    plugin = REGISTRY.get(kind, type_name)
    return [p.message for p in plugin.check_options({"name": "s", "type": type_name, **item})]


def validation_errors(kind: Kind, item: dict[str, Any]) -> list[str]:
    """JSON Schema errors of one stage item inside a minimal pipeline."""
    document = {
        "sources": [{"name": "src", "type": "csv", "path": "in.csv"}],
        "sinks": [{"name": "out", "type": "parquet", "input": "src", "path": "out"}],
    }
    document.setdefault(SECTION_OF_KIND[kind], []).append(item)
    validator = Draft202012Validator(build_schema(REGISTRY))
    return [error.message for error in validator.iter_errors(document)]


# --- registration and schema -----------------------------------------------------------------


def test_every_built_in_type_is_registered():
    assert REGISTRY.types("source") == [
        "csv", "delta", "geojson", "iceberg", "jdbc", "json", "kafka", "mongodb", "opensearch", "orc", "parquet",
        "redis", "rest",
    ]  # fmt: skip
    assert REGISTRY.types("sink") == [
        "csv", "delta", "iceberg", "jdbc", "json", "kafka", "mongodb", "opensearch", "orc", "parquet", "redis",
        "rest",
    ]  # fmt: skip
    assert REGISTRY.types("transform") == [
        "aggregate",
        "case",
        "cast",
        "decrypt",
        "deduplicate",
        "derive",
        "drop",
        "encrypt",
        "explode",
        "features",
        "fill_nulls",
        "filter",
        "flatten",
        "geo_distance",
        "geo_join",
        "geo_point",
        "geo_within",
        "join",
        "limit",
        "lookup",
        "mask",
        "ml_score",
        "pivot",
        "rename",
        "resample",
        "rolling",
        "sample",
        "select",
        "sort",
        "split",
        "sql",
        "text",
        "trend",
        "union",
        "unpivot",
        "window",
    ]


def test_importing_the_built_ins_does_not_import_pyspark():
    code = (
        "import sys, etl_cli.plugins.builtin, etl_cli.model.schema as s, etl_cli.plugins.registry as r\n"
        "s.build_schema(r.REGISTRY)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("plugin", ALL_PLUGINS, ids=plugin_id)
def test_every_plugin_describes_itself_and_every_option(plugin: type[Plugin]):
    assert plugin.description.strip()
    assert list(undocumented(plugin.options_schema)) == []


WRONG_VALUES = [
    None,
    5,
    "x",
    [1, {"on": 5, "how": 3}],
    {"a": 5, "b": [None], "c": {"function": ["sum"], "frame": 1}, 7: "x"},
]


@pytest.mark.parametrize("plugin", ALL_PLUGINS, ids=plugin_id)
def test_check_options_tolerates_values_of_the_wrong_type(plugin: type[Plugin]):
    # The validator runs plug-in checks even on items the JSON Schema has already rejected.
    for key in plugin.options_schema:
        for value in WRONG_VALUES:
            item = {"name": "s", "type": plugin.type, "inputs": ["a", "b"], key: value}
            assert isinstance(plugin.check_options(item), list)


@pytest.mark.parametrize("plugin", ALL_PLUGINS, ids=plugin_id)
def test_required_options_are_declared_options(plugin: type[Plugin]):
    assert set(plugin.required_options) <= set(plugin.options_schema)


def test_the_pipeline_schema_is_valid_json_schema():
    Draft202012Validator.check_schema(build_schema(REGISTRY))


def test_file_sinks_offer_the_four_modes_and_overwrite_by_default():
    for plugin in REGISTRY.plugins("sink"):
        if plugin.type not in ("csv", "json", "orc", "parquet"):
            continue  # database and message sinks have modes of their own (jdbc: append, overwrite, upsert)
        assert issubclass(plugin, Sink)
        assert plugin.modes == ("overwrite", "append", "error", "ignore")
        assert plugin.default_mode == "overwrite"


def test_the_schema_accepts_a_source_path_list_and_a_schema_mapping():
    item = {"name": "more", "type": "csv", "path": ["a.csv", "b/*.csv"], "schema": {"id": "INT"}}
    assert validation_errors("source", item) == []


def test_the_schema_rejects_an_unknown_on_malformed_choice():
    item = {"name": "more", "type": "json", "path": "a.json", "on_malformed": "skip"}
    assert any("'skip' is not one of" in message for message in validation_errors("source", item))


def test_the_schema_rejects_on_malformed_for_parquet():
    item = {"name": "more", "type": "parquet", "path": "a", "on_malformed": "drop"}
    assert any("on_malformed" in message for message in validation_errors("source", item))


def test_the_schema_accepts_window_frame_bounds_as_words_or_offsets():
    frame = {"type": "rows", "start": -2, "end": "current"}
    columns = {"avg3": {"function": "avg", "column": "x", "frame": frame}}
    item = {"name": "w", "type": "window", "inputs": ["src"], "order_by": ["day"], "columns": columns}
    assert validation_errors("transform", item) == []


def test_the_schema_rejects_a_window_frame_bound_that_is_neither():
    frame = {"start": "yesterday", "end": "current"}
    columns = {"avg3": {"function": "avg", "column": "x", "frame": frame}}
    item = {"name": "w", "type": "window", "inputs": ["src"], "order_by": ["day"], "columns": columns}
    assert validation_errors("transform", item) != []


def test_the_schema_rejects_an_unknown_aggregate_function():
    item = {"name": "a", "type": "aggregate", "inputs": ["src"], "aggregations": {"m": {"function": "median"}}}
    assert any("'median' is not one of" in message for message in validation_errors("transform", item))


# --- sources ---------------------------------------------------------------------------------


def test_a_ddl_schema_with_known_types_passes():
    ddl = "id INT, `unit price` DECIMAL(10,2), tags ARRAY<STRING>, attrs MAP<STRING, INT>, seen TIMESTAMP"
    assert problems("csv", "source", path="a.csv", schema=ddl) == []


def test_a_ddl_schema_with_an_unknown_type_is_reported():
    assert problems("csv", "source", path="a.csv", schema="id INT, name STRNG") == ["column name: unknown type 'STRNG'"]


def test_a_ddl_schema_entry_without_a_type_is_reported():
    assert problems("json", "source", path="a", schema="id INT, name") == ["'name' is not 'column TYPE'"]


def test_an_empty_schema_mapping_is_reported():
    assert problems("parquet", "source", path="a", schema={}) == ["the declared schema has no columns"]


def test_a_schema_mapping_with_an_unknown_type_is_reported():
    assert problems("csv", "source", path="a", schema={"id": "INT", "at": "datetime"}) == ["unknown type 'datetime'"]


def test_the_reader_mode_option_must_be_set_through_on_malformed():
    assert problems("csv", "source", path="a", options={"MODE": "PERMISSIVE"}) == [
        "set 'on_malformed' instead of options.mode"
    ]


def test_a_schema_mapping_becomes_ddl_in_column_order_with_quoted_names():
    assert schema_ddl({"id": "INT", "unit price": "DOUBLE"}) == "`id` INT, `unit price` DOUBLE"


def test_split_top_level_keeps_nested_types_whole():
    assert split_top_level("a MAP<STRING, INT>, b DECIMAL(10,2), c STRING COMMENT 'x, y'") == [
        "a MAP<STRING, INT>",
        " b DECIMAL(10,2)",
        " c STRING COMMENT 'x, y'",
    ]


# --- transforms ------------------------------------------------------------------------------


def test_select_needs_at_least_one_operation():
    assert problems("select", inputs=["src"]) == ["select needs at least one of columns, drop, rename, cast"]


def test_select_cast_types_are_checked():
    assert problems("select", inputs=["src"], cast={"amount": "DECIMAL(10,2)", "at": "datetime"}) == [
        "unknown type 'datetime'"
    ]


def test_aggregate_functions_other_than_count_need_a_column():
    aggregations = {"rows": {"function": "count"}, "total": {"function": "sum"}}
    assert problems("aggregate", inputs=["src"], aggregations=aggregations) == ["sum needs a column"]


def test_aggregate_takes_either_a_function_or_an_expression():
    aggregations = {"x": {"function": "sum", "column": "a", "expr": "sum(a)"}, "y": {"expr": "max(a)", "column": "a"}}
    assert problems("aggregate", inputs=["src"], aggregations=aggregations) == [
        "give either function (with column) or expr",
        "column goes with function, not with expr",
    ]


def test_join_needs_on_or_condition():
    assert problems("join", inputs=["a", "b"]) == ["a inner join needs exactly one of on or condition"]


def test_join_refuses_both_on_and_condition():
    assert problems("join", inputs=["a", "b"], on=["id"], condition="a.id = b.id") == [
        "a inner join needs exactly one of on or condition"
    ]


def test_a_cross_join_takes_no_keys():
    assert problems("join", inputs=["a", "b"], how="cross") == []
    assert problems("join", inputs=["a", "b"], how="cross", on=["id"]) == [
        "a cross join takes neither on nor condition"
    ]


def test_joins_needs_one_entry_per_input_after_the_first():
    assert problems("join", inputs=["a", "b", "c"], on=["id"], joins=[{}]) == ["joins has 1 entries for 3 inputs"]


def test_joins_entries_override_the_top_level_keys():
    joins = [{"how": "left"}, {"condition": "a.x = c.x"}, {"how": "cross"}]
    assert problems("join", inputs=["a", "b", "c", "d"], on=["id"], joins=joins) == []


def test_a_joins_entry_with_both_keys_is_reported_at_that_entry():
    plugin = REGISTRY.get("transform", "join")
    joins = [{}, {"on": ["x"], "condition": "a.x = c.x"}]
    found = plugin.check_options({"inputs": ["a", "b", "c"], "on": ["id"], "joins": joins})
    assert [(p.key_path, p.message) for p in found] == [
        (("joins", 1), "a inner join needs exactly one of on or condition")
    ]


def test_union_by_position_cannot_fill_missing_columns():
    assert problems("union", inputs=["a", "b"], by_name=False, allow_missing_columns=True) == [
        "allow_missing_columns needs by_name: true"
    ]


def test_window_ranking_and_offsets_need_order_by():
    columns = {
        "r": {"function": "rank"},
        "p": {"function": "lag", "column": "x"},
        "t": {"function": "sum", "column": "x"},
    }
    assert problems("window", inputs=["a"], partition_by=["k"], columns=columns) == [
        "rank needs order_by",
        "lag needs order_by",
    ]


def test_window_functions_check_their_own_keys():
    columns = {
        "bucket": {"function": "ntile"},
        "previous": {"function": "lag"},
        "rank": {"function": "rank", "frame": {"start": "unbounded", "end": "current"}},
        "total": {"function": "sum", "column": "x", "offset": 2},
        "rows": {"function": "count"},
    }
    assert problems("window", inputs=["a"], partition_by=["g"], order_by=["day"], columns=columns) == [
        "ntile needs n, the number of buckets",
        "lag needs a column",
        "rank takes no frame",
        "sum takes no offset",
    ]


def test_window_frame_needs_order_by():
    columns = {"total": {"function": "sum", "column": "x", "frame": {"start": -1, "end": "current"}}}
    assert problems("window", inputs=["a"], columns=columns) == [
        "a frame needs order_by (rows have no order without it)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("updated_at", SortKey("updated_at")),
        ("updated_at DESC", SortKey("updated_at", descending=True)),
        ("amount asc nulls last", SortKey("amount", nulls_first=False)),
        ("coalesce(a, b) desc nulls first", SortKey("coalesce(a, b)", descending=True, nulls_first=True)),
    ],
)
def test_order_by_entries_parse_into_sort_keys(text: str, expected: SortKey):
    assert SortKey.parse(text) == expected


# --- sinks -----------------------------------------------------------------------------------


def test_csv_sink_header_is_its_own_key():
    assert problems("csv", "sink", input="src", path="out", options={"header": "false"}) == [
        "set 'header' instead of options.header"
    ]


def test_file_sinks_accept_writer_options():
    assert problems("parquet", "sink", input="src", path="out", options={"compression": "zstd"}) == []


def test_sink_effects_keep_uris_as_written_and_report_the_mode(tmp_path: Path):
    plugin = REGISTRY.get("sink", "parquet")()
    assert isinstance(plugin, Sink)
    stage = StageSpec("out", "sink", "parquet", ("src",), {"path": "s3a://bucket/orders", "mode": "append"})
    (effect,) = plugin.effects(stage, tmp_path)
    assert (effect.target, effect.mode, effect.details) == (
        "s3a://bucket/orders",
        "append",
        {"format": "parquet", "partition_by": []},
    )
