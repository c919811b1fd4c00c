"""Batch benchmarks: one job run two ways on one warm Spark session, and the ratio between them.

- ``etl_cli``: the pipeline YAML loaded, validated and planned by etl-cli, then executed by
  its runtime (lock, executor, row counts, atomic publish, run-results JSON) on the shared
  session: :func:`etl_cli.app.load_spec` + :func:`etl_cli.runtime.execution.run.execute_run`.
- ``etl_cli_uncounted_sources``: the same, with ``count_rows: false`` on every source, so
  Spark pushes the filter that reads a source into its reader, as in the hand-written job
  (etl-cli still counts every other stage and what the sink writes).
- ``handwritten``: a PySpark script doing the identical work: the same reads with the same
  declared schema and parser mode, the same transformations, the same Parquet write.
- ``handwritten_counted``: that script counting the rows etl-cli counts, at the same places,
  the way a PySpark developer would (``DataFrame.observe``, no extra job). etl-cli ÷ this is
  etl-cli's own overhead; this ÷ ``handwritten`` is what Spark charges for the counts.

Each case first runs every variant once unmeasured (JIT, caches), then ``repeat`` measured
rounds whose order rotates (each variant goes first in turn), so no variant always profits
from another's warm page cache. After timing, every output is fingerprinted (row count and
an order-independent hash of every row) to show the variants produced the same data.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.datagen import Dataset
from benchmarks.measure import Sample, measure_call, summary

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ETL_CLI = "etl_cli"
ETL_CLI_UNCOUNTED = "etl_cli_uncounted_sources"
HANDWRITTEN = "handwritten"
HANDWRITTEN_COUNTED = "handwritten_counted"
VARIANTS = (ETL_CLI, ETL_CLI_UNCOUNTED, HANDWRITTEN, HANDWRITTEN_COUNTED)
ETL_VARIANTS = (ETL_CLI, ETL_CLI_UNCOUNTED)
#: etl-cli may take at most this much longer than the hand-written job (the issue's 5% target)
MAX_OVERHEAD = 1.05

#: ``count(df, stage_name)``: ``df``, counting its rows under that name (or not counting at all)
Count = Callable[["DataFrame", str], "DataFrame"]
Handwritten = Callable[["SparkSession", Dataset, str, Count], None]


def no_count(df: DataFrame, name: str) -> DataFrame:
    """The hand-written job as most are written: no row counts."""
    return df


class ObservedCounts:
    """Counts rows where a hand-written job asks, as etl-cli does: one observed ``count(1)`` each."""

    def __init__(self) -> None:
        self._observations: dict[str, Any] = {}

    def __call__(self, df: DataFrame, name: str) -> DataFrame:
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        observation = self._observations[name] = Observation(f"bench_rows_{name}")
        return df.observe(observation, F.count(F.lit(1)).alias("rows"))

    def rows(self) -> dict[str, int]:
        return {name: int(observation.get["rows"]) for name, observation in self._observations.items()}


@dataclass(frozen=True)
class BatchBenchmark:
    """A batch job both ways: the pipeline etl-cli runs and the equivalent hand-written script."""

    name: str
    title: str
    pipeline: Path
    #: ``--set`` overrides pointing the pipeline at a data set and an output folder
    sets: Callable[[Dataset, str], list[str]]
    handwritten: Handwritten
    #: the pipeline's sources (``count_rows: false`` is set on each for :data:`ETL_CLI_UNCOUNTED`)
    sources: tuple[str, ...]
    #: records per second the etl-cli variant should reach once warm (None: no throughput target)
    target_records_per_s: float | None = None


def run_etl_cli(
    bench: BatchBenchmark, spark: SparkSession, dataset: Dataset, output: str, state: Path, count_sources: bool = True
) -> dict:
    """YAML → load/validate → plan → execute on ``spark``; returns the run results' rows per stage."""
    import json

    from etl_cli import app
    from etl_cli.events import Reporter
    from etl_cli.runtime.execution.run import execute_run

    sets = bench.sets(dataset, output)
    if not count_sources:
        sets += [f"sources.{name}.count_rows=false" for name in bench.sources]
    _, spec = app.load_spec(bench.pipeline, None, sets)
    _, results_file = execute_run(
        spec, app.registry(), Reporter(), run_id=app.new_run_id(), results_dir=state, session=spark
    )
    results = json.loads(Path(results_file).read_text())
    return {stage["name"]: stage["rows_out"] for stage in results["stages"]}


def fingerprint(spark: SparkSession, path: str) -> dict[str, Any]:
    """Row count and the sum of a 64-bit hash of every row: equal for equal data in any order."""
    from pyspark.sql import functions as F

    df = spark.read.parquet(path)
    row_hash = F.xxhash64(*[F.col(f"`{name}`") for name in sorted(df.columns)]).cast("decimal(38,0)")
    row = df.agg(F.count(F.lit(1)).alias("rows"), F.sum(row_hash).alias("hash")).first()
    assert row is not None
    return {"rows": int(row["rows"]), "hash": str(row["hash"]), "columns": sorted(df.columns)}


class BatchCase:
    """One benchmark at one data size: warm-up, alternating measured rounds, output check."""

    def __init__(self, bench: BatchBenchmark, spark: SparkSession, dataset: Dataset, work: Path):
        self.bench = bench
        self.spark = spark
        self.dataset = dataset
        folder = work / "outputs" / bench.name / str(dataset.rows)
        self.outputs = {variant: str(folder / variant) for variant in VARIANTS}
        self.state = work / "run-results" / bench.name
        self.samples: dict[str, list[Sample]] = {variant: [] for variant in VARIANTS}
        self.stage_rows: dict[str, Any] = {}
        self.counted_rows: dict[str, int] = {}

    def _run(self, variant: str) -> Sample:
        if variant in ETL_VARIANTS:
            output, counted = self.outputs[variant], variant == ETL_CLI
            sample, rows = measure_call(
                lambda: run_etl_cli(self.bench, self.spark, self.dataset, output, self.state, counted)
            )
            self.stage_rows[variant] = rows
        elif variant == HANDWRITTEN_COUNTED:
            counts = ObservedCounts()
            sample, _ = measure_call(
                lambda: self.bench.handwritten(self.spark, self.dataset, self.outputs[variant], counts)
            )
            self.counted_rows = counts.rows()
        else:
            sample, _ = measure_call(
                lambda: self.bench.handwritten(self.spark, self.dataset, self.outputs[variant], no_count)
            )
        return sample

    def run(self, repeat: int, log: Callable[[str], None], warmup_first: bool = True) -> dict[str, Any]:
        warmup = {variant: round(self._run(variant).wall_s, 3) for variant in VARIANTS} if warmup_first else {}
        if warmup:
            log(f"  warm-up: {warmup}")
        for round_no in range(repeat):
            first = round_no % len(VARIANTS)
            order = VARIANTS[first:] + VARIANTS[:first]
            for variant in order:
                sample = self._run(variant)
                self.samples[variant].append(sample)
                log(f"  round {round_no + 1}/{repeat} {variant}: {sample.wall_s:.3f} s")
        return self._report(warmup)

    def _report(self, warmup: dict[str, float]) -> dict[str, Any]:
        rows = self.dataset.rows
        variants = {variant: self._variant_report(variant, rows) for variant in VARIANTS}
        prints = {variant: fingerprint(self.spark, self.outputs[variant]) for variant in VARIANTS}
        for variant in VARIANTS:
            variants[variant]["output"] = {"path": self.outputs[variant], **prints[variant]}
        for variant in ETL_VARIANTS:
            variants[variant]["stage_rows"] = self.stage_rows.get(variant, {})
        variants[HANDWRITTEN_COUNTED]["counted_rows"] = self.counted_rows
        etl_rows = self.stage_rows.get(ETL_CLI, {})
        ratio = _ratios(self.samples[ETL_CLI], self.samples[HANDWRITTEN])
        ratio_uncounted = _ratios(self.samples[ETL_CLI_UNCOUNTED], self.samples[HANDWRITTEN])
        ratio_same_counts = _ratios(self.samples[ETL_CLI], self.samples[HANDWRITTEN_COUNTED])
        cost_of_counts = _ratios(self.samples[HANDWRITTEN_COUNTED], self.samples[HANDWRITTEN])
        etl_rate = variants[ETL_CLI]["records_per_s"]
        targets: dict[str, Any] = {
            "max_overhead_ratio": MAX_OVERHEAD,
            "overhead_met": ratio["wall"] <= MAX_OVERHEAD,
            "overhead_met_uncounted_sources": ratio_uncounted["wall"] <= MAX_OVERHEAD,
            "overhead_met_same_counts": ratio_same_counts["wall"] <= MAX_OVERHEAD,
        }
        if self.bench.target_records_per_s is not None:
            targets["min_records_per_s"] = self.bench.target_records_per_s
            targets["throughput_met"] = etl_rate >= self.bench.target_records_per_s
        return {
            "label": f"{_rows_label(rows)} rows",
            "rows": rows,
            "customers": self.dataset.customers,
            "data_folder": str(self.dataset.folder),
            "input_bytes": self.dataset.orders_csv.stat().st_size,
            "warmup_wall_s": warmup,
            "variants": variants,
            "ratio": ratio,
            "ratio_uncounted_sources": ratio_uncounted,
            "ratio_same_counts": ratio_same_counts,
            "cost_of_counts": cost_of_counts,
            "outputs_identical": all(prints[variant] == prints[HANDWRITTEN] for variant in VARIANTS),
            # the hand-written job counted the same rows etl-cli reports, at the same places
            "counts_match": bool(self.counted_rows)
            and all(etl_rows.get(name) == rows for name, rows in self.counted_rows.items()),
            "targets": targets,
        }

    def _variant_report(self, variant: str, rows: int) -> dict[str, Any]:
        samples = self.samples[variant]
        wall = summary([s.wall_s for s in samples])
        assert wall is not None
        return {
            "wall_s": wall,
            "cpu_s": summary([s.cpu_s for s in samples]),
            "peak_rss_mb": summary([s.peak_rss_mb for s in samples]),
            "records_per_s": round(rows / wall["median"]),
        }


def _ratios(etl: Sequence[Sample], hand: Sequence[Sample]) -> dict[str, Any]:
    """etl-cli over hand-written: of the medians, and the median of each round's own ratio.

    The per-round ratio compares two runs made seconds apart, so it is the steadier figure
    when other work on the machine makes whole rounds slower or faster.
    """
    paired = [e.wall_s / h.wall_s for e, h in zip(etl, hand, strict=True)]
    cpu_etl = [s.cpu_s for s in etl if s.cpu_s is not None]
    cpu_hand = [s.cpu_s for s in hand if s.cpu_s is not None]
    return {
        "wall": round(statistics.median(s.wall_s for s in etl) / statistics.median(s.wall_s for s in hand), 4),
        "wall_paired_median": round(statistics.median(paired), 4),
        "cpu": round(statistics.median(cpu_etl) / statistics.median(cpu_hand), 4) if cpu_etl and cpu_hand else None,
    }


def _rows_label(rows: int) -> str:
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows >= 1_000 and rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def run_batch(
    bench: BatchBenchmark,
    spark: SparkSession,
    datasets: Sequence[Dataset],
    repeat: int,
    work: Path,
    log: Callable[[str], None],
    warmup: bool = True,
) -> dict[str, Any]:
    """Every size of one batch benchmark."""
    cases = []
    for dataset in datasets:
        log(f"{bench.name}: {dataset.rows:,} rows")
        cases.append(BatchCase(bench, spark, dataset, work).run(repeat, log, warmup))
    return {"name": bench.name, "title": bench.title, "kind": "batch", "status": "ok", "cases": cases}
