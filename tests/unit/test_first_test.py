"""The first test create-pipeline writes, when the input file is not there: placeholder rows of the schema's types."""

from __future__ import annotations

from pathlib import Path

import yaml

from etl_cli.authoring.first_test import first_test_text


def test_without_the_file_the_rows_are_placeholders_of_the_declared_types(tmp_path: Path) -> None:
    source = {
        "name": "orders",
        "type": "csv",
        "path": "data/missing.csv",
        "schema": {"id": "BIGINT", "amount": "DECIMAL(10,2)", "day": "DATE", "note": "STRING"},
    }
    text = first_test_text("p", [source], "out", [{"type": "derive"}], [], tmp_path)
    assert text is not None
    (test,) = yaml.safe_load(text)["tests"]
    assert test["given"] == {
        "orders": {
            "rows": [
                {"id": 1, "amount": 1.5, "day": "2026-01-01", "note": "note_1"},
                {"id": 2, "amount": 3.0, "day": "2026-01-01", "note": "note_2"},
            ]
        }
    }
    assert test["expect"] == {"out": {"count": 2}}  # a derive keeps one row per row


def test_a_check_that_quarantines_rows_means_the_sinks_count_is_not_known(tmp_path: Path) -> None:
    source = {"name": "orders", "type": "csv", "path": "x.csv", "schema": {"id": "INT"}}
    text = first_test_text("p", [source], "out", [], [{"action": "quarantine"}], tmp_path)
    assert text is not None
    assert yaml.safe_load(text)["tests"][0]["expect"] == {"orders": {"count": 2}}


def test_no_test_when_the_columns_cannot_be_known(tmp_path: Path) -> None:
    assert first_test_text("p", [{"name": "k", "type": "kafka", "topic": "t"}], "out", [], [], tmp_path) is None


def test_every_source_is_given_rows_and_the_first_ones_count_is_expected_after_a_join(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text("order_id,customer_id\n1,7\n2,8\n")
    (tmp_path / "customers.csv").write_text("customer_id,country\n7,NL\n")
    sources = [
        {"name": "input", "type": "csv", "path": "orders.csv"},
        {"name": "lookup", "type": "csv", "path": "customers.csv"},
    ]
    text = first_test_text("p", sources, "output", [{"type": "join"}], [], tmp_path)
    assert text is not None
    (test,) = yaml.safe_load(text)["tests"]
    assert test["given"] == {
        "input": {"rows": [{"order_id": 1, "customer_id": 7}, {"order_id": 2, "customer_id": 8}]},
        "lookup": {"rows": [{"customer_id": 7, "country": "NL"}]},
    }
    assert test["expect"] == {"input": {"count": 2}}  # a join may add or drop rows


def test_no_test_when_a_second_sources_columns_cannot_be_known(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text("order_id\n1\n")
    sources = [{"name": "input", "type": "csv", "path": "orders.csv"}, {"name": "lookup", "type": "jdbc"}]
    assert first_test_text("p", sources, "output", [{"type": "join"}], [], tmp_path) is None
