"""Seeded benchmark data: order rows and the customers they belong to, as CSV, made by etl-cli's generator.

What the data holds is declared in ``benchmarks/pipelines/datagen/pipeline.yaml`` as a user declares
data for ``etl-cli generate``: the sources' schemas and their checks (ranges, weighted accepted
values, unique order ids, every order's customer among the customers). This module calls the
generator API on those declarations (:mod:`etl_cli.testing.generate`), in this process up to
:data:`SPARK_ABOVE` rows and with Spark above (:mod:`etl_cli.testing.generate_spark`, in the
session the benchmarks share when one is given), and writes one CSV file per source.

The same ``rows`` and ``seed`` always give byte-identical files, with either engine and however
Spark splits the rows: every cell is a function of the seed, its column and its row index, and
Spark's part files are joined in row order into the one file. Memory stays flat at any size (one
row at a time in this process; Spark's tasks stream their rows). A ``manifest.json`` written last
marks a data set as complete; a folder without one (an interrupted run), or with one for other
declarations or another generator version, is generated again.

    python -m benchmarks.datagen --rows 1000000 [--seed 20261125] [--data-dir benchmarks/data]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from etl_cli.testing.generate import GenSource

DEFAULT_SEED = 20261125
DATA_DIR = Path(__file__).resolve().parent / "data"
#: the declarations the data is generated from (schemas and checks of the two sources)
PIPELINE = Path(__file__).resolve().parent / "pipelines" / "datagen"
#: bump when the generated content changes, so stale folders are regenerated
GENERATOR_VERSION = 2
#: above this many rows the data is made by Spark (``etl-cli generate --engine auto`` uses the same limit)
SPARK_ABOVE = 100_000

#: the declared schemas both variants read the files with (Spark DDL; the same text as in the pipelines)
ORDERS_DDL = (
    "order_id BIGINT, customer_id BIGINT, order_ts TIMESTAMP, status STRING, "
    "amount DECIMAL(10,2), quantity INT, channel STRING"
)
CUSTOMERS_DDL = "customer_id BIGINT, name STRING, country STRING, segment STRING, signup_date DATE"


@dataclass(frozen=True)
class Dataset:
    """One generated data set: where its files are and what they hold."""

    folder: Path
    rows: int
    customers: int
    seed: int

    @property
    def orders_csv(self) -> Path:
        return self.folder / "orders.csv"

    @property
    def customers_csv(self) -> Path:
        return self.folder / "customers.csv"


def customer_count(rows: int) -> int:
    """Customers for ``rows`` orders: about a hundred orders each, at least a hundred customers."""
    return max(100, rows // 100)


def ensure_dataset(
    rows: int, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR, spark: SparkSession | None = None
) -> Dataset:
    """The data set for ``rows`` and ``seed``, generated unless a complete one is already there.

    ``spark``: the session to generate more than :data:`SPARK_ABOVE` rows with (without one, a
    session is started for them and stopped after).
    """
    dataset = Dataset(data_dir / f"orders_{rows}_seed{seed}", rows, customer_count(rows), seed)
    manifest = dataset.folder / "manifest.json"
    expected = _manifest(dataset)
    if manifest.is_file() and json.loads(manifest.read_text()) == expected:
        return dataset
    if dataset.folder.exists():
        shutil.rmtree(dataset.folder)
    dataset.folder.mkdir(parents=True)
    sources = declared_sources(dataset)
    parents = {"customers": sources["customers"]}
    if max(source.count for source in sources.values()) <= SPARK_ABOVE:
        for name, source in sources.items():
            _write_python(source, parents, dataset.folder / f"{name}.csv")
    elif spark is not None:
        _write_all_spark(spark, sources, parents, dataset.folder)
    else:
        own = _own_session()
        try:
            _write_all_spark(own, sources, parents, dataset.folder)
        finally:
            own.stop()
    manifest.write_text(json.dumps(expected, indent=2) + "\n")
    return dataset


def declared_sources(dataset: Dataset) -> dict[str, GenSource]:
    """How each source is generated: its declared columns (schema and checks), row count and seed."""
    from etl_cli import app
    from etl_cli.testing.generate import GenSource, columns_for_source

    _, spec = app.load_spec(PIPELINE, None)
    counts = {"customers": dataset.customers, "orders": dataset.rows}
    return {name: GenSource(columns_for_source(spec, name), count, dataset.seed) for name, count in counts.items()}


def _manifest(dataset: Dataset) -> dict[str, object]:
    declarations = (PIPELINE / "pipeline.yaml").read_bytes()
    return {
        "generator_version": GENERATOR_VERSION,
        "declarations_sha256": hashlib.sha256(declarations).hexdigest(),
        **{k: v for k, v in asdict(dataset).items() if k != "folder"},
    }


def _write_python(source: GenSource, parents: Mapping[str, GenSource], path: Path) -> None:
    """One row at a time in this process (the path ``etl-cli generate`` takes for small CSV outputs)."""
    from etl_cli.testing.generate import row_generator
    from etl_cli.testing.generate_files import write_csv

    row_at = row_generator(source.columns, source.count, source.seed, parents)
    names = [c.name for c in source.columns]
    write_csv(path, names, (row_at(index) for index in range(source.count)), header=True, sep=",")


def _write_all_spark(
    spark: SparkSession, sources: Mapping[str, GenSource], parents: Mapping[str, GenSource], folder: Path
) -> None:
    for name, source in sources.items():
        _write_spark(spark, source, parents, folder / f"{name}.csv")


def _write_spark(spark: SparkSession, source: GenSource, parents: Mapping[str, GenSource], path: Path) -> None:
    """Spark's tasks make the rows; their part files, joined in row order under one header, are the file.

    Dates and timestamps are written as the Python path writes them (the session's time zone is
    UTC, as in every etl-cli session), so both paths give the same bytes.
    """
    from etl_cli.testing.generate_spark import generated_frame

    parts = path.with_name(f".{path.name}.parts")
    shutil.rmtree(parts, ignore_errors=True)
    frame = generated_frame(spark, source.columns, source.count, source.seed, parents)
    (
        frame.write.option("header", False)
        .option("timestampFormat", "yyyy-MM-dd HH:mm:ss")
        .option("dateFormat", "yyyy-MM-dd")
        .csv(str(parts))
    )
    # part-00000-<uuid>.csv...: the partition number orders them, and partitions hold consecutive row indexes
    files = sorted(parts.glob("part-*.csv"), key=lambda p: int(p.name.split("-")[1]))
    with path.open("wb") as out:
        out.write((",".join(c.name for c in source.columns) + "\n").encode())
        for part in files:
            with part.open("rb") as chunk:
                shutil.copyfileobj(chunk, out, 1 << 20)
    shutil.rmtree(parts)


def _own_session() -> SparkSession:
    """A session for this process alone (``python -m benchmarks.datagen`` above :data:`SPARK_ABOVE` rows).

    Its Python workers, which make the rows, run this interpreter (etl-cli's session factory sees to it).
    """
    from benchmarks.session import MASTER
    from etl_cli.runtime.spark.session import build_session

    return build_session(app_name="etl-cli-benchmarks-datagen", master=MASTER)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    dataset = ensure_dataset(args.rows, args.seed, args.data_dir)
    print(dataset.folder)


if __name__ == "__main__":
    main()
