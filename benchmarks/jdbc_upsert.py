"""Benchmark 4 — JDBC upsert into PostgreSQL, compared with a plain COPY of the same rows.

The table starts each round holding half of the accounts (with old values); the CSV holds
every account with new values, so the upsert updates half of the rows and inserts the
other half. etl-cli runs ``benchmarks/pipelines/jdbc_upsert`` on the shared Spark session:
Spark inserts into a staging table, then one transaction runs ``INSERT ... ON CONFLICT``.
The ceiling is ``COPY ... FROM STDIN`` of the same CSV into an empty table with the same
definition, through psycopg. Tables are reset between rounds, outside the timing, and
checked with psycopg (row count, updated names, sum of balances) after the rounds.

Needs PostgreSQL: the ``ETL_TEST_PG_*`` settings of ``scripts/services.sh env pg`` (the
services' defaults otherwise). Without a reachable server the benchmark is skipped.
"""

from __future__ import annotations

import os
import statistics
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.batch import ETL_CLI
from benchmarks.measure import Sample, measure_call, summary

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAME = "jdbc_upsert"
TITLE = "JDBC upsert into PostgreSQL (half new, half updates) vs COPY"
PIPELINE = Path(__file__).resolve().parent / "pipelines" / "jdbc_upsert"
COPY = "copy"
_COLUMNS = "account_id, name, country, balance, updated_at"
_TABLE = (
    "(account_id BIGINT PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL, "
    "balance NUMERIC(12,2) NOT NULL, updated_at TIMESTAMP NOT NULL)"
)


@dataclass(frozen=True)
class Postgres:
    """Where the server is, from the ``ETL_TEST_PG_*`` variables of scripts/services.sh."""

    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_environment(cls) -> Postgres:
        env = os.environ
        return cls(
            env.get("ETL_TEST_PG_HOST", "127.0.0.1"),
            int(env.get("ETL_TEST_PG_PORT", "55432")),
            env.get("ETL_TEST_PG_USER", "etl"),
            env.get("ETL_TEST_PG_PASSWORD", "etl-test-pw"),
            env.get("ETL_TEST_PG_DB", "etl"),
        )

    def connect(self):
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            connect_timeout=5,
            autocommit=True,
        )

    def unreachable(self) -> str | None:
        """Why the benchmark cannot run, or None when the server answers."""
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "psycopg is not installed (pip install 'etl-cli[dev]')"
        try:
            with self.connect() as conn:
                conn.execute("SELECT 1")
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"PostgreSQL at {self.host}:{self.port} is not reachable ({first}): scripts/services.sh up pg"
        return None


def ensure_accounts(rows: int, seed: int, data_dir: Path) -> Path:
    """accounts.csv with ``rows`` accounts (ids 1..rows), generated once per size and seed."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder = data_dir / f"accounts_{rows}_seed{seed}"
    target = folder / "accounts.csv"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    seconds = rng.integers(0, 30 * 86_400, rows) + 1_767_225_600
    table = pa.table(
        {
            "account_id": np.arange(1, rows + 1, dtype=np.int64),
            "name": pa.array([f"Account {i:08d}" for i in range(1, rows + 1)]),
            "country": np.array(["DE", "FR", "NL", "PL", "SE", "ES"])[rng.integers(0, 6, rows)],
            "balance": rng.integers(0, 10_000_000, rows) / 100,
            "updated_at": np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"),
        }
    )
    partial = folder / "accounts.csv.partial"
    pacsv.write_csv(table, partial, pacsv.WriteOptions(quoting_style="none"))
    partial.rename(target)
    return target


def _csv_balance_sum(path: Path) -> Decimal:
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={"balance": "string"}))
    return sum((Decimal(v) for v in table.column("balance").to_pylist()), Decimal(0))


class UpsertCase:
    """One size: a scratch schema with the target, its initial half and the COPY table."""

    def __init__(self, pg: Postgres, spark: SparkSession, csv: Path, rows: int, work: Path):
        self.pg, self.spark, self.csv, self.rows = pg, spark, csv, rows
        self.schema = f"etl_bench_{uuid.uuid4().hex[:8]}"
        self.state = work / "run-results" / NAME
        self.csv_balance = _csv_balance_sum(csv)
        self.samples: dict[str, list[Sample]] = {ETL_CLI: [], COPY: []}
        self.checks: dict[str, bool] = {}

    def __enter__(self) -> UpsertCase:
        s = self.schema
        with self.pg.connect() as conn:
            conn.execute(f"CREATE SCHEMA {s}")
            for table in ("accounts", "accounts_copy", "accounts_initial"):
                conn.execute(f"CREATE TABLE {s}.{table} {_TABLE}")
            conn.execute(
                f"INSERT INTO {s}.accounts_initial SELECT g, 'old', 'XX', 0, TIMESTAMP '2025-01-01' "
                f"FROM generate_series(1, {self.rows // 2}) AS g"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        with self.pg.connect() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def _reset(self, variant: str) -> None:
        s = self.schema
        with self.pg.connect() as conn:
            if variant == COPY:
                conn.execute(f"TRUNCATE {s}.accounts_copy")
                return
            conn.execute(f"TRUNCATE {s}.accounts")
            conn.execute(f"INSERT INTO {s}.accounts SELECT * FROM {s}.accounts_initial")
            conn.execute(f"ANALYZE {s}.accounts")

    def _etl_cli(self) -> None:
        from etl_cli import app
        from etl_cli.events import Reporter
        from etl_cli.runtime.execution.run import execute_run

        sets = [f"vars.accounts_csv={self.csv}", f"vars.table={self.schema}.accounts"]
        _, spec = app.load_spec(PIPELINE, None, sets)
        execute_run(spec, app.registry(), Reporter(), app.new_run_id(), results_dir=self.state, session=self.spark)

    def _copy(self) -> None:
        with self.pg.connect() as conn, conn.cursor() as cursor:
            statement = f"COPY {self.schema}.accounts_copy ({_COLUMNS}) FROM STDIN (FORMAT csv, HEADER true)"
            with cursor.copy(statement) as copy, self.csv.open("rb") as source:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)

    def _round(self, order: Sequence[str], log: Callable[[str], None], label: str) -> dict[str, float]:
        walls = {}
        for variant in order:
            self._reset(variant)
            sample, _ = measure_call(self._etl_cli if variant == ETL_CLI else self._copy)
            walls[variant] = sample.wall_s
            for check, passed in self._check(variant).items():
                self.checks[check] = self.checks.get(check, True) and passed
            if label != "warm-up":
                self.samples[variant].append(sample)
            log(f"  {label} {variant}: {sample.wall_s:.3f} s")
        return walls

    def run(self, repeat: int, log: Callable[[str], None], warmup_first: bool = True) -> dict[str, Any]:
        warmup = self._round((ETL_CLI, COPY), log, "warm-up") if warmup_first else {}
        for round_no in range(repeat):
            order = (ETL_CLI, COPY) if round_no % 2 == 0 else (COPY, ETL_CLI)
            self._round(order, log, f"round {round_no + 1}/{repeat}")
        variants = {}
        for variant, samples in self.samples.items():
            wall = summary([s.wall_s for s in samples])
            assert wall is not None
            variants[variant] = {"wall_s": wall, "rows_per_s": round(self.rows / wall["median"])}
        etl, copy = (statistics.median(s.wall_s for s in self.samples[v]) for v in (ETL_CLI, COPY))
        return {
            "label": f"{self.rows:,} rows ({self.rows - self.rows // 2:,} new, {self.rows // 2:,} updated)",
            "rows": self.rows,
            "warmup_wall_s": {k: round(v, 3) for k, v in warmup.items()},
            "variants": variants,
            "ratio": {"wall": round(etl / copy, 4)},
            "checks": self.checks,
            "ok": all(self.checks.values()),
        }

    def _check(self, variant: str) -> dict[str, bool]:
        """What the variant's table holds after its run, read with psycopg (independently of etl-cli)."""
        table = f"{self.schema}.{'accounts' if variant == ETL_CLI else 'accounts_copy'}"
        with self.pg.connect() as conn:
            count, updated, total = conn.execute(
                f"SELECT count(*), count(*) FILTER (WHERE name <> 'old'), coalesce(sum(balance), 0) FROM {table}"
            ).fetchone()
        balances = Decimal(total) == self.csv_balance
        if variant == COPY:
            return {"copy_loaded_every_row": count == self.rows and balances}
        return {"upserted_every_row": count == updated == self.rows, "balances_match_the_csv": balances}


def run_jdbc_upsert(
    spark: SparkSession,
    rows: Sequence[int],
    seed: int,
    repeat: int,
    work: Path,
    log: Callable[[str], None],
    warmup: bool = True,
) -> dict[str, Any]:
    pg = Postgres.from_environment()
    os.environ.setdefault("ETL_TEST_PG_PASSWORD", pg.password)
    cases = []
    for size in rows:
        csv = ensure_accounts(size, seed, work.parent)
        log(f"{NAME}: {size:,} rows")
        with UpsertCase(pg, spark, csv, size, work) as case:
            cases.append(case.run(repeat, log, warmup))
    return {"name": NAME, "title": TITLE, "kind": "jdbc", "status": "ok", "cases": cases}


def skipped_reason() -> str | None:
    """Why benchmark 4 cannot run here (None: it can)."""
    return Postgres.from_environment().unreachable()


def packages() -> tuple[str, ...]:
    """The JVM packages the pipeline's JDBC sink needs on the shared session."""
    from etl_cli import app

    _, spec = app.load_spec(PIPELINE, None, ())
    registry = app.registry()
    found: list[str] = []
    for stage in spec.stages:
        found.extend(registry.get(stage.kind, stage.type).packages_for(stage.options))
    return tuple(found)
