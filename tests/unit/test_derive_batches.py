"""``derive`` adds its columns in as few steps as keep one-by-one semantics (see independent_batches)."""

from __future__ import annotations

from etl_cli.plugins.transforms.columns import independent_batches


def names(batches: list[dict[str, str]]) -> list[list[str]]:
    return [list(batch) for batch in batches]


def test_columns_that_read_only_existing_columns_are_added_together() -> None:
    columns = {"day": "to_date(ts)", "gross": "amount * quantity", "code": "upper(channel)"}
    assert names(independent_batches(columns)) == [["day", "gross", "code"]]


def test_a_column_reading_an_earlier_new_column_starts_a_new_step() -> None:
    columns = {"half": "amount / 2", "half_plus_one": "half + 1", "code": "upper(channel)"}
    assert names(independent_batches(columns)) == [["half"], ["half_plus_one", "code"]]


def test_names_are_matched_case_insensitively_and_in_backticks() -> None:
    columns = {"Total": "a + b", "twice": "2 * `total`", "Order Date": "to_date(ts)", "next": "`order date` + 1"}
    assert names(independent_batches(columns)) == [["Total"], ["twice", "Order Date"], ["next"]]


def test_a_column_replaced_earlier_in_the_step_is_read_in_a_new_step() -> None:
    columns = {"amount": "amount * 100", "tax": "amount * 0.2"}
    assert names(independent_batches(columns)) == [["amount"], ["tax"]]


def test_every_column_star_starts_a_new_step_but_multiplication_does_not() -> None:
    columns = {"a": "x * y", "row": "struct(*)", "b": "x*2", "c": "to_json(t.*)"}
    assert names(independent_batches(columns)) == [["a"], ["row", "b"], ["c"]]


def test_the_written_order_is_kept() -> None:
    columns = {f"c{i}": f"c{i - 1} + 1" if i else "1" for i in range(4)}
    assert [name for batch in independent_batches(columns) for name in batch] == ["c0", "c1", "c2", "c3"]
