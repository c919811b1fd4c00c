"""Reading text formats so that records which do not parse are kept apart, with their raw text.

With ``on_malformed: dead_letter`` a csv or json source reads in Spark's PERMISSIVE mode
with an extra string column, :data:`CORRUPT_COLUMN`, that holds the raw line of every
record that did not parse (and is null for the others). The run splits the frame in
two: the parsed rows flow on, the malformed ones go to the dead-letter queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, DataFrameReader

#: the column holding the raw text of a malformed record (Spark's own default name)
CORRUPT_COLUMN = "_corrupt_record"


def load_keeping_malformed(reader: DataFrameReader, paths: Any) -> DataFrame:
    """Load ``paths`` with a :data:`CORRUPT_COLUMN` column added to the declared or inferred schema."""
    from pyspark.sql.types import StringType, StructField, StructType

    reader = reader.option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT_COLUMN)
    # Without a declared schema this is Spark's usual inference pass; with one it reads nothing.
    schema = reader.load(paths).schema
    fields = [f for f in schema.fields if f.name != CORRUPT_COLUMN]
    return reader.schema(StructType([*fields, StructField(CORRUPT_COLUMN, StringType())])).load(paths)
