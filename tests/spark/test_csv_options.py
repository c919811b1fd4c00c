"""The csv source passes its ``options`` to Spark's CSV reader, as docs/connectors/files.md says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from pyspark.sql import SparkSession

from tests.spark.test_sources import read

# a Latin-1 export: ';' between fields, "'" around text, '\' before a quote inside text, NA for
# missing values, dates as dd.MM.yyyy, a decimal comma (German locale) and a comment line
EXPORT = (
    "# export of 2026-11-08\n"
    "id;name;city;joined;balance\n"
    "1;'Zoë';'Köln';03.11.2026;12,50\n"
    "2;'O\\'Brien; Pat';NA;NA;NA\n"
)


def test_separator_quote_escape_encoding_null_value_date_format_and_comments_reach_the_reader(
    spark: SparkSession, tmp_path: Path
) -> None:
    (tmp_path / "export.csv").write_bytes(EXPORT.encode("latin-1"))
    options = {"sep": ";", "quote": "'", "escape": "\\", "encoding": "ISO-8859-1", "nullValue": "NA",
               "dateFormat": "dd.MM.yyyy", "comment": "#", "locale": "de-DE"}  # fmt: skip
    schema = "id INT, name STRING, city STRING, joined DATE, balance DECIMAL(10,2)"

    df = read(spark, tmp_path, "csv", path="export.csv", schema=schema, options=options)

    assert [tuple(r) for r in df.orderBy("id").collect()] == [
        (1, "Zoë", "Köln", date(2026, 11, 3), Decimal("12.50")),
        (2, "O'Brien; Pat", None, None, None),
    ]
