"""Data generators (etl_cli/testing/generate.py): every constraint a source declares holds in the rows made for it."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.errors import ConfigError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.testing.generate import GenColumn, GenSource, columns_for_source, generate_rows, source_rows
from tests.unit.helpers import make_project


def values(column: GenColumn, count: int = 2_000, seed: int = 1) -> list[object]:
    return [row[column.name] for row in generate_rows([column], count, seed)]


def test_integers_stay_within_an_inclusive_range_and_reach_both_ends() -> None:
    made = values(GenColumn("qty", "int", min=3, max=7))
    assert set(made) == {3, 4, 5, 6, 7}


def test_exclusive_bounds_are_never_generated() -> None:
    made = values(GenColumn("amount", "decimal(6,2)", min=0, max=0.05, min_inclusive=False, max_inclusive=False))
    assert set(made) == {Decimal("0.01"), Decimal("0.02"), Decimal("0.03"), Decimal("0.04")}


def test_doubles_stay_within_their_range() -> None:
    made = values(GenColumn("ratio", "double", min=-1.5, max=2.5))
    assert all(isinstance(v, float) and -1.5 <= v <= 2.5 for v in made)


def test_dates_and_timestamps_stay_within_iso_bounds() -> None:
    days = values(GenColumn("day", "date", min="2024-02-27", max="2024-03-01"))
    moments = values(GenColumn("at", "timestamp", min="2024-01-01T00:00:00", max="2024-01-01T00:00:02"))
    assert set(days) == {date(2024, 2, 27), date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)}
    assert set(moments) == {datetime(2024, 1, 1, 0, 0, s) for s in (0, 1, 2)}


def test_only_accepted_values_are_drawn_and_each_of_them_is() -> None:
    made = values(GenColumn("status", "string", accepted_values=("paid", "shipped", "cancelled")))
    assert set(made) == {"paid", "shipped", "cancelled"}


@pytest.mark.parametrize("pattern", [r"^[A-Z]{2}-\d{3}$", r"(EUR|USD)\.[a-f0-9]+", r"^\w{1,3}@x\.org$", r"[^0-9]{4}"])
def test_every_value_matches_the_regex_in_full(pattern: str) -> None:
    made = values(GenColumn("code", "string", regex=pattern), count=500)
    assert all(re.fullmatch(pattern, str(v)) for v in made)


def test_a_pattern_the_generator_cannot_follow_is_a_config_error_naming_the_column() -> None:
    column = GenColumn("code", "string", regex=r"^(?!x)\w+$", source="orders")
    with pytest.raises(ConfigError, match=r"column 'code' of 'orders'.*assert"):
        generate_rows([column], 1, 0)


@pytest.mark.parametrize(
    "column",
    [
        GenColumn("id", "bigint", unique=True),
        GenColumn("id", "int", min=10, max=1_009, unique=True),
        GenColumn("name", "string", unique=True),
        GenColumn("day", "date", min="2020-01-01", unique=True),
        GenColumn("price", "double", unique=True),
    ],
    ids=lambda c: f"{c.type}{'-bounded' if c.max else ''}",
)
def test_unique_columns_never_repeat_a_value_nor_hold_a_null(column: GenColumn) -> None:
    made = values(column, count=1_000)
    assert None not in made
    assert len(set(made)) == 1_000


def test_a_unique_column_whose_range_is_too_small_is_a_config_error() -> None:
    column = GenColumn("id", "int", min=1, max=9, unique=True, source="orders")
    with pytest.raises(ConfigError, match="10 unique values are asked for, and the column allows only 9"):
        generate_rows([column], 10, 0)


def test_the_null_rate_holds_within_two_points_over_ten_thousand_rows() -> None:
    made = values(GenColumn("note", "string", null_rate=0.2), count=10_000)
    assert 0.18 <= made.count(None) / 10_000 <= 0.22


def test_a_column_that_is_not_nullable_gets_no_null_whatever_its_rate() -> None:
    made = values(GenColumn("note", "string", nullable=False, null_rate=0.5), count=1_000)
    assert None not in made


def test_references_only_take_values_the_referenced_source_has() -> None:
    customer_columns = [GenColumn("customer_id", "bigint", min=1_000, max=1_000_000, unique=True, source="customers")]
    customers = generate_rows(customer_columns, 50, 3)
    orders = generate_rows(
        [GenColumn("customer_id", "bigint", references=("customers", "customer_id"), source="orders")],
        2_000,
        4,
        {"customers": GenSource(customer_columns, 50, 3)},
    )
    known = {row["customer_id"] for row in customers}
    drawn = {row["customer_id"] for row in orders}
    assert drawn <= known
    assert len(drawn) > 40


def test_references_can_draw_from_rows_given_as_they_are() -> None:
    given = [{"customer_id": 7}, {"customer_id": 9}, {"customer_id": None}]
    orders = generate_rows(
        [GenColumn("customer_id", "bigint", references=("customers", "customer_id"))], 200, 0, {"customers": given}
    )
    assert {row["customer_id"] for row in orders} == {7, 9}


def test_a_reference_to_a_source_not_given_is_a_config_error() -> None:
    column = GenColumn("customer_id", "bigint", references=("customers", "customer_id"), source="orders")
    with pytest.raises(ConfigError, match=r"references customers\.customer_id"):
        generate_rows([column], 1, 0)


COLUMNS = [
    GenColumn("id", "bigint", unique=True),
    GenColumn("amount", "decimal(10,2)", null_rate=0.1, min=0, max=500),
    GenColumn("code", "string", regex=r"[A-Z]{3}"),
    GenColumn("at", "timestamp"),
    GenColumn("flag", "boolean"),
]


def test_the_same_seed_gives_the_same_rows() -> None:
    assert generate_rows(COLUMNS, 300, 42) == generate_rows(COLUMNS, 300, 42)


def test_a_different_seed_gives_different_rows() -> None:
    first, second = generate_rows(COLUMNS, 300, 42), generate_rows(COLUMNS, 300, 43)
    for name in ("id", "amount", "code", "at"):
        assert [r[name] for r in first] != [r[name] for r in second], name


def test_a_row_does_not_depend_on_how_many_rows_follow_it() -> None:
    bounded = [c for c in COLUMNS if not c.unique]
    assert generate_rows(bounded, 10, 5) == generate_rows(bounded, 1_000, 5)[:10]


def test_a_type_the_generator_cannot_make_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot generate values of type ARRAY<INT>"):
        generate_rows([GenColumn("tags", "ARRAY<INT>")], 1, 0)


PIPELINE = """
    sources:
      - name: customers
        type: csv
        path: data/customers.csv
        schema: "customer_id BIGINT NOT NULL, country STRING"
      - name: orders
        type: csv
        path: data/orders.csv
        schema: {order_id: BIGINT, customer_id: BIGINT, amount: "DECIMAL(10,2)", status: STRING}
        contract:
          policy: allow_extra
          columns:
            order_id: {type: BIGINT, nullable: false}
            channel: STRING
      - name: events
        type: csv
        path: data/events.csv
    checks:
      - {name: one_order, stage: orders, type: unique, columns: [order_id]}
      - {name: known_customer, stage: orders, type: relationships, column: customer_id, to: customers}
      - {name: positive, stage: orders, type: range, column: amount, min: 0, max: 100, max_inclusive: false}
      - {name: status_known, stage: orders, type: accepted_values, column: status, values: [paid, shipped]}
      - {name: country_code, stage: customers, type: regex, column: country, pattern: "^[A-Z]{2}$"}
      - {name: has_country, stage: customers, type: not_null, columns: [country]}
    sinks:
      - {name: out, type: parquet, input: orders, path: out/orders}
"""


def load(tmp_path: Path) -> PipelineSpec:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE})
    return app.load_spec(tmp_path / "p", None)[1]


def shape(column: GenColumn) -> tuple[object, ...]:
    return (
        column.name,
        column.type,
        column.nullable,
        column.null_rate,
        column.min,
        column.max,
        column.max_inclusive,
        column.accepted_values,
        column.regex,
        column.unique,
        column.references,
    )


def test_columns_for_a_source_come_from_its_schema_contract_and_checks(tmp_path: Path) -> None:
    spec = load(tmp_path)
    assert [shape(c) for c in columns_for_source(spec, "orders")] == [
        ("order_id", "BIGINT", False, 0.0, None, None, True, (), None, True, None),
        ("customer_id", "BIGINT", True, 0.05, None, None, True, (), None, False, ("customers", "customer_id")),
        ("amount", "DECIMAL(10,2)", True, 0.05, 0, 100, False, (), None, False, None),
        ("status", "STRING", True, 0.05, None, None, True, ("paid", "shipped"), None, False, None),
        ("channel", "STRING", True, 0.05, None, None, True, (), None, False, None),
    ]


def test_columns_from_ddl_keep_not_null_and_checks_on_the_source(tmp_path: Path) -> None:
    spec = load(tmp_path)
    assert [shape(c) for c in columns_for_source(spec, "customers")] == [
        ("customer_id", "BIGINT", False, 0.0, None, None, True, (), None, False, None),
        ("country", "STRING", False, 0.0, None, None, True, (), "^[A-Z]{2}$", False, None),
    ]


def test_a_source_without_a_declared_schema_is_a_config_error_at_the_source(tmp_path: Path) -> None:
    spec = load(tmp_path)
    with pytest.raises(ConfigError, match="source 'events' declares no schema") as caught:
        columns_for_source(spec, "events")
    assert caught.value.location is not None
    assert (Path(caught.value.location.file).name, caught.value.location.line) == ("pipeline.yaml", 15)


def test_zero_rows_is_an_empty_list_even_for_unique_columns() -> None:
    assert generate_rows([GenColumn("id", "int", unique=True), GenColumn("name", "string", unique=True)], 0, 1) == []


def test_a_range_on_a_text_column_is_a_config_error_rather_than_data_that_fails_the_check() -> None:
    with pytest.raises(ConfigError, match="cannot follow a range on a string column"):
        generate_rows([GenColumn("code", "string", min="a", max="f")], 1, 0)


def test_source_rows_draw_references_from_the_referenced_source_as_generate_writes_it(tmp_path: Path) -> None:
    spec = load(tmp_path)
    customers = source_rows(spec, "customers", 20, 5)
    orders = source_rows(spec, "orders", 20, 5)
    assert {o["customer_id"] for o in orders} - {None} <= {c["customer_id"] for c in customers}


def test_source_rows_draw_references_from_rows_given_for_the_referenced_source(tmp_path: Path) -> None:
    spec = load(tmp_path)
    given = [{"customer_id": 41, "country": "SE"}, {"customer_id": 42, "country": "NO"}]
    orders = source_rows(spec, "orders", 50, 5, {"customers": given})
    assert {o["customer_id"] for o in orders} - {None} == {41, 42}


def test_weighted_accepted_values_come_as_often_as_their_weights_say() -> None:
    statuses = ("paid", "shipped", "cancelled", "refunded", "lost")
    column = GenColumn("status", "string", accepted_values=statuses, weights=(60, 25, 10, 5, 0))
    made = values(column, count=20_000)
    shares = {status: made.count(status) / len(made) for status in statuses}
    assert shares["lost"] == 0
    for status, expected in zip(statuses, (0.60, 0.25, 0.10, 0.05), strict=False):
        assert abs(shares[status] - expected) < 0.015, (status, shares)


def test_weights_that_do_not_fit_the_accepted_values_are_a_config_error_naming_the_column() -> None:
    for weights in ((1.0,), (0.0, 0.0), (-1.0, 2.0)):
        column = GenColumn("status", "string", accepted_values=("a", "b"), weights=weights, source="orders")
        with pytest.raises(ConfigError, match=r"column 'status' of 'orders'.*weights"):
            generate_rows([column], 1, 0)


def test_the_weights_of_an_accepted_values_check_reach_the_generated_column(tmp_path: Path) -> None:
    weighted = PIPELINE.replace("values: [paid, shipped]}", "values: [paid, shipped], weights: [3, 1]}")
    make_project(tmp_path, {"p/pipeline.yaml": weighted})
    status = next(c for c in columns_for_source(app.load_spec(tmp_path / "p", None)[1], "orders") if c.name == "status")
    assert (status.accepted_values, status.weights) == (("paid", "shipped"), (3, 1))
