"""Benchmark 9 — merge (upsert) of changed rows into a Delta table and an Iceberg table, etl-cli vs hand-written.

The table holds ``base`` accounts; a batch of ``changes`` rows (half updates of existing accounts, a
tenth of them older than the table's row, half new accounts) is merged into it by ``account_id``: a
newer update replaces its row, an older one is ignored, a new account is inserted. Both formats run
two ways on the shared Spark session:

- ``etl_cli``: ``benchmarks/pipelines/table_merge/{delta,iceberg}`` (Parquet source → sink with
  ``mode: merge``, ``keys: [account_id]`` and the newer-wins condition), loaded and run by etl-cli's
  runtime in process, as the batch benchmarks do: the rows are computed, counted and kept, the keys
  checked unique, then one ``MERGE`` commit;
- ``handwritten``: the same merge written directly: ``DeltaTable.forPath(...).merge(...)`` with
  ``whenMatched(condition).updateAll()`` and ``whenNotMatched().insertAll()`` (through the JVM API,
  which the ``delta-spark`` Python package only wraps), and Iceberg's ``MERGE INTO`` SQL.

Each variant has its own table, reset to the base rows before every run, outside the timing (Delta:
the folder removed and written again; Iceberg: ``DROP TABLE ... PURGE`` and created again). After the
rounds each table is read back with Spark and compared, row for row, with the result computed here
with pyarrow and numpy from the generated files (no Spark), and the two variants with each other.

The Iceberg catalog is a Hadoop catalog in a folder: the project ``benchmarks/pipelines/table_merge``
declares it, and is copied into the work folder so that the warehouse lands there. The session needs
both formats' jars and SQL extensions (Delta's and Iceberg's, together in one session), which
:func:`packages` and :func:`session_settings` take from the pipelines as etl-cli would.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.batch import ETL_CLI, HANDWRITTEN, _ratios
from benchmarks.measure import Sample, measure_call, summary

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import SparkSession

NAME = "table_merge"
TITLE = "Merge of changed rows into Delta and Iceberg tables vs hand-written PySpark"
PROJECT = Path(__file__).resolve().parent / "pipelines" / "table_merge"
FORMATS = ("delta", "iceberg")
VARIANTS = (ETL_CLI, HANDWRITTEN)
#: the Iceberg catalog and database the project declares, and the etl-cli pipeline's table
CATALOG, DATABASE, ICEBERG_TABLE = "bench", "bench", "accounts_etl_cli"
#: why the smoke profile leaves it out unless named (``--smoke --only table_merge`` runs it)
NOT_IN_SMOKE = (
    "not in the smoke profile unless named (--smoke --only table_merge): loading and warming Delta's and "
    "Iceberg's merge code would add about 45 s to the CI smoke test"
)
#: the share of the updates older than the table's row (the merge must leave those rows alone)
STALE_SHARE = 0.1
#: the merge's matched condition, the same text in both pipelines and both hand-written jobs
NEWER = "s.updated_at > t.updated_at"
#: what the tables are compared on: every column, the timestamp as microseconds (no time zone involved)
CHECK_COLUMNS = ("account_id", "name", "country", "balance_cents", "updated_at_us")
_COUNTRIES = ("DE", "FR", "NL", "PL", "SE", "ES")
_START_US = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class MergeData:
    """The base rows and the changes of one size, as Parquet files."""

    folder: Path
    base_rows: int
    changes: int

    @property
    def base(self) -> Path:
        return self.folder / "base.parquet"

    @property
    def changes_file(self) -> Path:
        return self.folder / "changes.parquet"

    @property
    def updates(self) -> int:
        return self.changes // 2

    @property
    def inserts(self) -> int:
        return self.changes - self.updates


def ensure_merge_data(base_rows: int, changes: int, seed: int, data_dir: Path) -> MergeData:
    """base.parquet (accounts 1..base_rows) and changes.parquet, generated once per size and seed."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not 0 < changes <= base_rows:
        raise ValueError(f"changes ({changes}) must be between 1 and the base rows ({base_rows})")
    data = MergeData(data_dir / f"merge_{base_rows}_{changes}_seed{seed}", base_rows, changes)
    done = data.folder / "complete"
    if done.is_file():
        return data
    data.folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 9]))
    countries = np.array(_COUNTRIES)
    base_updated = _START_US + rng.integers(0, 30 * 86_400, base_rows) * 1_000_000
    base = _accounts(
        np.arange(1, base_rows + 1, dtype=np.int64),
        "",
        countries[rng.integers(0, len(countries), base_rows)],
        rng.integers(0, 10_000_000, base_rows),
        base_updated,
    )
    updated = rng.choice(base_rows, data.updates, replace=False).astype(np.int64) + 1
    shift_s = rng.integers(1, 10 * 86_400, data.updates)
    shift_s[rng.random(data.updates) < STALE_SHARE] *= -1  # older than the table's row: to be ignored
    ids = np.concatenate([updated, np.arange(base_rows + 1, base_rows + data.inserts + 1, dtype=np.int64)])
    stamps = np.concatenate(
        [
            base_updated[updated - 1] + shift_s * 1_000_000,
            _START_US + rng.integers(30 * 86_400, 40 * 86_400, data.inserts) * 1_000_000,
        ]
    )
    order = rng.permutation(changes)
    changed = _accounts(
        ids[order],
        " v2",
        countries[rng.integers(0, len(countries), changes)],
        rng.integers(0, 10_000_000, changes),
        stamps[order],
    )
    pq.write_table(base, data.base)
    pq.write_table(changed, data.changes_file)
    done.write_text(pa.__version__)
    return data


def _accounts(ids: Any, suffix: str, countries: Any, cents: Any, updated_us: Any) -> pa.Table:
    import pyarrow as pa

    return pa.table(
        {
            "account_id": pa.array(ids, pa.int64()),
            "name": pa.array([f"Account {i:08d}{suffix}" for i in ids.tolist()]),
            "country": pa.array(countries, pa.string()),
            "balance_cents": pa.array(cents, pa.int64()),
            "updated_at": pa.array(updated_us, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        }
    )


def expected_table(data: MergeData) -> pa.Table:
    """The table after the merge, computed from the two files with pyarrow and numpy, sorted by account_id."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    base, changes = (_comparable(pq.read_table(path)) for path in (data.base, data.changes_file))
    base_ids = base.column("account_id").to_numpy()
    change_ids = changes.column("account_id").to_numpy()
    position = {int(i): n for n, i in enumerate(base_ids.tolist())}
    at = np.array([position.get(int(i), -1) for i in change_ids.tolist()], dtype=np.int64)
    matched = at >= 0
    base_stamps = base.column("updated_at_us").to_numpy()
    change_stamps = changes.column("updated_at_us").to_numpy()
    newer = np.zeros(len(at), dtype=bool)
    newer[matched] = change_stamps[matched] > base_stamps[at[matched]]
    replaced = np.zeros(len(base_ids), dtype=bool)
    replaced[at[newer]] = True
    kept = base.filter(pa.array(~replaced))
    taken = changes.filter(pa.array(newer | ~matched))
    merged = pa.concat_tables([kept, taken])
    return merged.take(pc.sort_indices(merged, [("account_id", "ascending")]))


def _comparable(table: pa.Table) -> pa.Table:
    """The columns the check compares: the timestamp as microseconds since the epoch."""
    import pyarrow as pa

    micros = table.column("updated_at").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    columns = {name: table.column(name) for name in CHECK_COLUMNS[:-1]}
    return pa.table({**columns, "updated_at_us": micros}).cast(
        pa.schema(
            [
                ("account_id", pa.int64()),
                ("name", pa.string()),
                ("country", pa.string()),
                ("balance_cents", pa.int64()),
                ("updated_at_us", pa.int64()),
            ]
        )
    )


def prepare_project(work: Path) -> Path:
    """A copy of the benchmark's project in the work folder (its Iceberg warehouse goes there)."""
    target = work / NAME / "project"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("warehouse", "tables", "data"))
    return target


def _specs(project: Path) -> list[Any]:
    from etl_cli import app

    return [app.load_spec(project / fmt, None, ())[1] for fmt in FORMATS]


def packages(project: Path) -> tuple[str, ...]:
    """The JVM packages the two sinks need on the shared session (Delta's and Iceberg's runtime)."""
    from etl_cli import app

    registry = app.registry()
    found: list[str] = []
    for spec in _specs(project):
        for stage in spec.stages:
            found.extend(p for p in registry.get(stage.kind, stage.type).packages_for(stage.options) if p not in found)
    return tuple(found)


def session_settings(project: Path) -> dict[str, str]:
    """What the two sinks need at session start (both SQL extensions, Delta's catalog, the Iceberg catalog)."""
    from etl_cli import app
    from etl_cli.runtime.execution.workspace import merge_session_settings

    registry = app.registry()
    return merge_session_settings(
        [registry.get(s.kind, s.type).session_settings_for(s.options) for spec in _specs(project) for s in spec.stages]
    )


def handwritten_delta(spark: SparkSession, changes: str, path: str) -> None:
    """The Delta merge as a PySpark developer writes it (``DeltaTable.merge``; the JVM API the Python one wraps)."""
    jvm = spark._jvm
    assert jvm is not None
    table = jvm.io.delta.tables.DeltaTable.forPath(spark._jsparkSession, path)
    rows = spark.read.parquet(changes)
    (
        table.alias("t")
        .merge(rows.alias("s")._jdf, "t.account_id = s.account_id")
        .whenMatched(NEWER)
        .updateAll()
        .whenNotMatched()
        .insertAll()
        .execute()
    )


def handwritten_iceberg(spark: SparkSession, changes: str, table: str) -> None:
    """The Iceberg merge as a PySpark developer writes it: ``MERGE INTO`` over a temporary view."""
    spark.read.parquet(changes).createOrReplaceTempView("bench_changes")
    try:
        spark.sql(
            f"MERGE INTO {table} t USING bench_changes s ON t.account_id = s.account_id "
            f"WHEN MATCHED AND {NEWER} THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )
    finally:
        spark.catalog.dropTempView("bench_changes")


class MergeCase:
    """One format at one size: each variant's table reset before each run, alternating rounds, checks."""

    def __init__(self, spark: SparkSession, fmt: str, data: MergeData, project: Path, work: Path):
        self.spark, self.fmt, self.data, self.project = spark, fmt, data, project
        folder = work / NAME / str(data.base_rows)
        self.delta_paths = {variant: str(folder / "delta" / variant) for variant in VARIANTS}
        self.iceberg_tables = {variant: f"{CATALOG}.{DATABASE}.accounts_{variant}" for variant in VARIANTS}
        self.state = work / "run-results" / NAME
        self.samples: dict[str, list[Sample]] = {variant: [] for variant in VARIANTS}

    def _reset(self, variant: str) -> None:
        base = self.spark.read.parquet(str(self.data.base))
        if self.fmt == "delta":
            path = Path(self.delta_paths[variant])
            if path.exists():
                shutil.rmtree(path)
            base.write.format("delta").save(str(path))
        else:
            table = self.iceberg_tables[variant]
            self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {CATALOG}.{DATABASE}")
            self.spark.sql(f"DROP TABLE IF EXISTS {table} PURGE")
            base.writeTo(table).using("iceberg").create()

    def _etl_cli(self) -> None:
        from etl_cli import app
        from etl_cli.events import Reporter
        from etl_cli.runtime.execution.run import execute_run

        sets = [f"vars.changes={self.data.changes_file}"]
        if self.fmt == "delta":
            sets.append(f"vars.table_path={self.delta_paths[ETL_CLI]}")
        _, spec = app.load_spec(self.project / self.fmt, None, sets)
        execute_run(spec, app.registry(), Reporter(), app.new_run_id(), results_dir=self.state, session=self.spark)

    def _handwritten(self) -> None:
        changes = str(self.data.changes_file)
        if self.fmt == "delta":
            handwritten_delta(self.spark, changes, self.delta_paths[HANDWRITTEN])
        else:
            handwritten_iceberg(self.spark, changes, self.iceberg_tables[HANDWRITTEN])

    def _round(self, order: Sequence[str], log: Callable[[str], None], label: str) -> dict[str, float]:
        walls = {}
        for variant in order:
            self._reset(variant)
            sample, _ = measure_call(self._etl_cli if variant == ETL_CLI else self._handwritten)
            walls[variant] = round(sample.wall_s, 3)
            if label != "warm-up":
                self.samples[variant].append(sample)
            log(f"  {self.fmt} {label} {variant}: {sample.wall_s:.3f} s")
        return walls

    def run(self, repeat: int, log: Callable[[str], None], warmup_first: bool = True) -> dict[str, Any]:
        warmup = self._round(VARIANTS, log, "warm-up") if warmup_first else {}
        for round_no in range(repeat):
            order = VARIANTS if round_no % 2 == 0 else VARIANTS[::-1]
            self._round(order, log, f"round {round_no + 1}/{repeat}")
        variants = {}
        for variant, samples in self.samples.items():
            wall = summary([s.wall_s for s in samples])
            assert wall is not None
            variants[variant] = {
                "wall_s": wall,
                "cpu_s": summary([s.cpu_s for s in samples]),
                "peak_rss_mb": summary([s.peak_rss_mb for s in samples]),
                "rows_per_s": round(self.data.changes / wall["median"]),
            }
        checks, rows_after = self._check()
        return {
            "label": f"{self.fmt} {self.data.base_rows:,} rows + {self.data.changes:,} changes",
            "format": self.fmt,
            "base_rows": self.data.base_rows,
            "changes": self.data.changes,
            "updates": self.data.updates,
            "inserts": self.data.inserts,
            "rows_after": rows_after,
            "data_folder": str(self.data.folder),
            "tables": self.delta_paths if self.fmt == "delta" else self.iceberg_tables,
            "warmup_wall_s": warmup,
            "variants": variants,
            "ratio": _ratios(self.samples[ETL_CLI], self.samples[HANDWRITTEN]),
            "checks": checks,
            "ok": all(checks.values()),
        }

    def _read(self, variant: str) -> pa.Table:
        """The variant's table as it is now, read with Spark, in the columns and order of :func:`expected_table`."""
        import pyarrow.compute as pc

        if self.fmt == "delta":
            df = self.spark.read.format("delta").load(self.delta_paths[variant])
        else:
            df = self.spark.table(self.iceberg_tables[variant])
        table = df.selectExpr(*CHECK_COLUMNS[:-1], "unix_micros(updated_at) AS updated_at_us").toArrow()
        return table.take(pc.sort_indices(table, [("account_id", "ascending")]))

    def _check(self) -> tuple[dict[str, bool], dict[str, int]]:
        expected = expected_table(self.data)
        read = {variant: _comparable_read(self._read(variant)) for variant in VARIANTS}
        checks = {f"{variant}_as_computed_from_the_files": read[variant].equals(expected) for variant in VARIANTS}
        checks["variants_identical"] = read[ETL_CLI].equals(read[HANDWRITTEN])
        return checks, {"expected": expected.num_rows, **{v: t.num_rows for v, t in read.items()}}


def _comparable_read(table: pa.Table) -> pa.Table:
    import pyarrow as pa

    return table.cast(
        pa.schema([(name, pa.string() if name in ("name", "country") else pa.int64()) for name in CHECK_COLUMNS])
    )


def run_table_merge(
    spark: SparkSession,
    sizes: Sequence[tuple[int, int]],
    seed: int,
    repeat: int,
    project: Path,
    work: Path,
    log: Callable[[str], None],
    warmup: bool = True,
) -> dict[str, Any]:
    """Every (base rows, changes) size, for each format."""
    cases = []
    for base_rows, changes in sizes:
        data = ensure_merge_data(base_rows, changes, seed, work.parent)
        for fmt in FORMATS:
            log(f"{NAME}: {fmt}, {base_rows:,} rows + {changes:,} changes")
            cases.append(MergeCase(spark, fmt, data, project, work).run(repeat, log, warmup))
    return {"name": NAME, "title": TITLE, "kind": "table_merge", "status": "ok", "cases": cases}
