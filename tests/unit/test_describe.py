"""How debug and dry-run show values, mask them, and word Spark's progress."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from etl_cli.cli.reporters import spark_progress_text
from etl_cli.events import SparkProgress
from etl_cli.runtime.execution.coercions import family
from etl_cli.runtime.execution.describe import Masker, cell_text


def test_values_are_shown_as_plain_text() -> None:
    assert cell_text(None) == "null"
    assert cell_text(dt.datetime(2026, 3, 1, 10, 30)) == "2026-03-01 10:30:00"
    assert cell_text(Decimal("12.50")) == "12.50"
    assert cell_text([1, {"a": dt.date(2026, 1, 2)}]) == '[1, {"a": "2026-01-02"}]'


def test_sensitive_columns_and_secret_values_are_masked_but_nulls_stay_visible() -> None:
    masker = Masker(["Email"], mask_text=lambda text: text.replace("hunter2", "********"))
    assert masker.cells(("email", "note", "other"), ("a@b.c", "pw hunter2", None)) == (
        "********",
        "pw ********",
        "null",
    )
    assert masker.cells(("EMAIL",), (None,)) == ("null",)


def test_type_families_decide_what_counts_as_a_silent_conversion() -> None:
    assert family("decimal(10,2)") == family("bigint") == "numeric"
    assert family("string") == "text" and family("timestamp_ntz") == "datetime" and family("boolean") == "boolean"


def test_spark_progress_is_worded_with_tasks_and_rows() -> None:
    assert spark_progress_text(None) == ""
    assert spark_progress_text(SparkProgress((3,), 8, 5, 2, 0, 1204)) == "Spark job 3: 5/8 tasks · 1,204 rows written"
    assert spark_progress_text(SparkProgress((3, 4), 8, 1, 1, 900, 0)) == "Spark jobs 3, 4: 1/8 tasks · 900 rows read"
    assert spark_progress_text(SparkProgress((5,), 0, 0, 0)) == "", "a job whose stages were all skipped shows nothing"
