"""Seeded benchmark data: order rows and the customers they belong to, as CSV.

The same ``rows`` and ``seed`` always give byte-identical files, so two runs of the suite
measure the same work. Generation uses numpy and pyarrow (no JVM) and writes in chunks of
a fixed size, which keeps memory flat at 10M rows. A ``manifest.json`` written last marks a
data set as complete; a folder without one (an interrupted run) is generated again.

    python -m benchmarks.datagen --rows 1000000 [--seed 20261125] [--data-dir benchmarks/data]
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_SEED = 20261125
DATA_DIR = Path(__file__).resolve().parent / "data"
#: bump when the generated content changes, so stale folders are regenerated
GENERATOR_VERSION = 1
CHUNK_ROWS = 500_000

#: the declared schemas both variants read the files with (Spark DDL)
ORDERS_DDL = (
    "order_id BIGINT, customer_id BIGINT, order_ts TIMESTAMP, status STRING, "
    "amount DECIMAL(10,2), quantity INT, channel STRING"
)
CUSTOMERS_DDL = "customer_id BIGINT, name STRING, country STRING, segment STRING, signup_date DATE"

STATUSES = ("paid", "shipped", "cancelled", "refunded")
STATUS_WEIGHTS = (0.60, 0.25, 0.10, 0.05)
CHANNELS = ("web", "app", "store")
COUNTRIES = ("DE", "FR", "NL", "NO", "PL", "SE", "ES", "IT", "BE", "AT", "DK", "FI")
SEGMENTS = ("consumer", "business")
#: orders fall in this many days from 2026-01-01 (the complex benchmark groups per customer and day)
DAYS = 30
_EPOCH_2026 = 1_767_225_600  # 2026-01-01T00:00:00Z in seconds


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


def ensure_dataset(rows: int, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR) -> Dataset:
    """The data set for ``rows`` and ``seed``, generated unless a complete one is already there."""
    dataset = Dataset(data_dir / f"orders_{rows}_seed{seed}", rows, customer_count(rows), seed)
    manifest = dataset.folder / "manifest.json"
    expected = _manifest(dataset)
    if manifest.is_file() and json.loads(manifest.read_text()) == expected:
        return dataset
    if dataset.folder.exists():
        shutil.rmtree(dataset.folder)
    dataset.folder.mkdir(parents=True)
    _write_customers(dataset)
    _write_orders(dataset)
    manifest.write_text(json.dumps(expected, indent=2) + "\n")
    return dataset


def _manifest(dataset: Dataset) -> dict[str, object]:
    return {
        "generator_version": GENERATOR_VERSION,
        "chunk_rows": CHUNK_ROWS,
        **{k: v for k, v in asdict(dataset).items() if k != "folder"},
    }


def _rng(seed: int, stream: int):
    """An independent generator per chunk, so chunk i's rows do not depend on how others were drawn."""
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def _write_customers(dataset: Dataset) -> None:
    import numpy as np
    import pyarrow as pa

    rng = _rng(dataset.seed, 0)
    n = dataset.customers
    ids = np.arange(1, n + 1, dtype=np.int64)
    signup = np.datetime64("2024-01-01") + rng.integers(0, 700, n).astype("timedelta64[D]")
    table = pa.table(
        {
            "customer_id": ids,
            "name": pa.array([f"Customer {i:07d}" for i in ids]),
            "country": np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), n)],
            "segment": np.array(SEGMENTS)[rng.integers(0, len(SEGMENTS), n)],
            "signup_date": np.datetime_as_string(signup, unit="D"),
        }
    )
    _write_csv([table], dataset.customers_csv)


def _orders_chunk(dataset: Dataset, index: int, start_id: int, n: int):
    import numpy as np
    import pyarrow as pa

    rng = _rng(dataset.seed, index + 1)
    seconds = rng.integers(0, DAYS * 86_400, n) + _EPOCH_2026
    cents = rng.integers(100, 50_000, n)
    return pa.table(
        {
            "order_id": np.arange(start_id, start_id + n, dtype=np.int64),
            "customer_id": rng.integers(1, dataset.customers + 1, n, dtype=np.int64),
            "order_ts": np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"),
            "status": np.array(STATUSES)[rng.choice(len(STATUSES), n, p=STATUS_WEIGHTS)],
            "amount": cents / 100,
            "quantity": rng.integers(1, 11, n, dtype=np.int32),
            "channel": np.array(CHANNELS)[rng.integers(0, len(CHANNELS), n)],
        }
    )


def _write_orders(dataset: Dataset) -> None:
    chunks = (
        _orders_chunk(dataset, index, start + 1, min(CHUNK_ROWS, dataset.rows - start))
        for index, start in enumerate(range(0, dataset.rows, CHUNK_ROWS))
    )
    _write_csv(chunks, dataset.orders_csv)


def _write_csv(tables, path: Path) -> None:
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(quoting_style="none")
    writer = None
    try:
        for table in tables:
            if writer is None:
                writer = pacsv.CSVWriter(str(path), table.schema, write_options=options)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


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
