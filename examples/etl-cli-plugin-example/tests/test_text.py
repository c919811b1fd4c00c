"""The example's transform and check on a local Spark session (run: pytest, from this folder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from etl_cli_plugin_example.text import NotBlank, TrimStrings
from pyspark.sql import DataFrame, SparkSession

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.checks import CheckSpec


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    yield session
    session.stop()


@pytest.fixture
def people(spark: SparkSession) -> DataFrame:
    rows = [(1, "  Ada ", "\tParis\r\n"), (2, "\u00a0", "Oslo"), (3, None, " ")]
    return spark.createDataFrame(rows, "id INT, name STRING, city STRING")


def trim(spark: SparkSession, df: DataFrame, **options: Any) -> list[tuple[Any, ...]]:
    stage = StageSpec("tidy", "transform", "trim_strings", ("people",), options)
    out = TrimStrings().apply(RunContext(spark, Path("."), "run"), stage, {"people": df})
    return [tuple(row) for row in out.orderBy("id").collect()]


def test_every_string_column_is_trimmed_of_spaces_tabs_line_breaks_and_non_breaking_spaces(spark, people):
    assert trim(spark, people) == [(1, "Ada", "Paris"), (2, "", "Oslo"), (3, None, "")]


def test_only_the_listed_columns_are_trimmed(spark, people):
    assert trim(spark, people, columns=["city"]) == [(1, "  Ada ", "Paris"), (2, "\u00a0", "Oslo"), (3, None, "")]


def test_empty_as_null_makes_values_left_empty_null(spark, people):
    assert trim(spark, people, empty_as_null=True) == [(1, "Ada", "Paris"), (2, None, "Oslo"), (3, None, None)]


def test_a_listed_column_that_is_not_text_is_refused(spark, people):
    with pytest.raises(ConfigError, match=r"column 'id' is INT, not STRING"):
        trim(spark, people, columns=["id"])


def test_a_listed_column_that_does_not_exist_is_refused_with_the_closest_name(spark, people):
    with pytest.raises(ConfigError) as raised:
        trim(spark, people, columns=["nmae"])
    assert str(raised.value) == "transform 'tidy' (trim_strings): no column 'nmae'\n  hint: did you mean 'name'?"


def test_not_blank_fails_the_rows_whose_column_is_null_empty_or_only_whitespace(spark, people):
    check = CheckSpec("named", "not_blank", "people", "warn", "error", options={"columns": ["name"]})
    failing = people.filter(NotBlank().failing(check, people))
    assert sorted(row.id for row in failing.collect()) == [2, 3]
