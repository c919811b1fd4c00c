"""The columns the wizard offers: read from a local CSV header, a Parquet file's schema or a declared schema,
then followed through the transformations it adds. Nothing here starts Spark."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from etl_cli.authoring.columns import columns_after, source_columns


def test_a_csv_source_offers_its_header(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("id,name,amount\n1,a,2\n")
    assert source_columns("csv", {"path": "in.csv"}, tmp_path) == ("id", "name", "amount")


def test_a_csv_header_is_split_at_the_separator_the_options_set(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text('id;"full name";amount\n')
    assert source_columns("csv", {"path": "in.csv", "options": {"sep": ";"}}, tmp_path) == ("id", "full name", "amount")


def test_a_csv_without_a_header_line_offers_nothing(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("1,a,2\n")
    assert source_columns("csv", {"path": "in.csv", "options": {"header": False}}, tmp_path) == ()


def test_a_folder_of_csv_files_offers_the_header_of_its_first_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "b.csv").write_text("b1,b2\n")
    (tmp_path / "in" / "a.csv").write_text("a1,a2\n")
    (tmp_path / "in" / "_SUCCESS").write_text("")
    assert source_columns("csv", {"path": "in"}, tmp_path) == ("a1", "a2")
    assert source_columns("csv", {"path": "in/b*.csv"}, tmp_path) == ("b1", "b2")


def test_a_declared_schema_wins_over_the_file_as_ddl_or_as_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("x,y\n")
    ddl = "id BIGINT, `full name` STRING, tags ARRAY<STRING>, price DECIMAL(10,2)"
    assert source_columns("csv", {"path": "in.csv", "schema": ddl}, tmp_path) == ("id", "full name", "tags", "price")
    assert source_columns("json", {"path": "in.json", "schema": {"a": "INT", "b": "STRING"}}, tmp_path) == ("a", "b")


def test_a_parquet_source_offers_its_schema_when_pyarrow_is_there(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    pq.write_table(pa.table({"sku": ["a"], "units": [1]}), tmp_path / "in.parquet")
    assert source_columns("parquet", {"path": "in.parquet"}, tmp_path) == ("sku", "units")


def test_without_pyarrow_a_parquet_source_quietly_offers_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in.parquet").write_bytes(b"PAR1 not really")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert source_columns("parquet", {"path": "in.parquet"}, tmp_path) == ()


def test_what_cannot_be_read_locally_offers_nothing(tmp_path: Path) -> None:
    assert source_columns("csv", {"path": "missing.csv"}, tmp_path) == ()
    assert source_columns("csv", {"path": "s3a://bucket/in.csv"}, tmp_path) == ()
    assert source_columns("jdbc", {"url": "jdbc:postgresql://db/x", "table": "t"}, tmp_path) == ()
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    assert source_columns("parquet", {"path": "broken.parquet"}, tmp_path) == ()


def test_columns_follow_the_transformations() -> None:
    known = {"input": ("id", "day", "amount"), "lookup": ("id", "country")}
    assert columns_after({"type": "filter", "inputs": ["input"]}, known) == ("id", "day", "amount")
    assert columns_after({"type": "deduplicate", "inputs": ["input"]}, known) == ("id", "day", "amount")
    assert columns_after({"type": "select", "inputs": ["input"], "columns": ["id", "amount AS total"]}, known) == (
        "id",
        "total",
    )
    derive = {"type": "derive", "inputs": ["input"], "columns": {"net": "amount * 0.8", "day": "to_date(day)"}}
    assert columns_after(derive, known) == ("id", "day", "amount", "net")
    assert columns_after({"type": "join", "inputs": ["input", "lookup"]}, known) == ("id", "day", "amount", "country")
    aggregate = {
        "type": "aggregate",
        "inputs": ["input"],
        "group_by": ["day", "to_date(day) AS d"],
        "aggregations": {"n": {"function": "count"}},
    }
    assert columns_after(aggregate, known) == ("day", "d", "n")
    window = {"type": "window", "inputs": ["input"], "columns": {"rank": {"function": "rank"}}}
    assert columns_after(window, known) == ("id", "day", "amount", "rank")
    assert columns_after({"type": "sql", "inputs": ["input"], "query": "SELECT 1 AS x"}, known) == ()
    assert columns_after({"type": "filter", "inputs": ["unknown"]}, known) == ()


def test_select_entries_are_named_as_spark_names_them() -> None:
    """Each entry is parsed as SQL: quoted names, aliases with or without AS, qualified columns; an expression
    without an alias and ``*`` offer no column."""
    known = {"input": ("id", "amount")}
    columns = ["`id`", "amount * 2 doubled", "input.amount", "round(amount)", "*", "upper(x) AS `Big`"]
    assert columns_after({"type": "select", "inputs": ["input"], "columns": columns}, known) == (
        "id",
        "doubled",
        "amount",
        "Big",
    )
