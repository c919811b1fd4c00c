"""The benchmark data's Spark path (above 100k rows) writes the very bytes of its Python path.

Checked at a small size by lowering the threshold: the shared session (two cores) splits each
source into several partitions, whose part files benchmarks/datagen.py joins in row order.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from benchmarks import datagen


def test_the_spark_path_writes_the_files_the_python_path_writes(
    tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, seed = 5_000, 11
    by_python = datagen.ensure_dataset(rows, seed, tmp_path / "python")
    monkeypatch.setattr(datagen, "SPARK_ABOVE", 0)
    by_spark = datagen.ensure_dataset(rows, seed, tmp_path / "spark", spark)
    assert sorted(p.name for p in by_spark.folder.iterdir()) == ["customers.csv", "manifest.json", "orders.csv"]
    for name in ("orders.csv", "customers.csv", "manifest.json"):
        assert (by_spark.folder / name).read_bytes() == (by_python.folder / name).read_bytes(), name
