"""What data-quality checks cost: the same pipeline with ten row-level checks and with none.

    python -m benchmarks.quality_cost            # 1M rows, 5 repetitions
    python -m benchmarks.quality_cost --quick    # 100k rows, 3 repetitions
    python -m benchmarks.quality_cost --smoke    # 10k rows, 1 repetition (the suite's smoke profile)

A benchmark, not a test: it reports medians and never fails on time. Each variant runs the
pipeline through etl-cli's executor on one warm Spark session (its own, started here): a
Parquet source of generated rows written to a Parquet sink,

- ``none``: no checks;
- ``warn``: ten row-level checks (not_null, range, regex, accepted_values, expression) that
  only report: one extra Spark job over the source, nothing persisted;
- ``drop``: the same ten, one of them dropping rows: the flagged rows are persisted so the
  check pass, the sink and the report share one computation of the flags.

``main`` returns the figures as a dict (the suite runner embeds them in its results).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = {"full": (1_000_000, 5), "quick": (100_000, 3), "smoke": (10_000, 1)}

CHECKS: list[dict[str, Any]] = [
    {"name": "id_present", "type": "not_null", "columns": ["order_id"]},
    {"name": "customer_present", "type": "not_null", "columns": ["customer_id", "status"]},
    {"name": "amount_range", "type": "range", "column": "amount", "min": 0, "max": 10000},
    {"name": "quantity_range", "type": "range", "column": "quantity", "min": 1, "max": 50},
    {"name": "email_shape", "type": "regex", "column": "email", "pattern": "^[a-z0-9.]+@[a-z.]+$"},
    {"name": "known_status", "type": "accepted_values", "column": "status", "values": ["paid", "shipped", "new"]},
    {"name": "known_channel", "type": "accepted_values", "column": "channel", "values": ["web", "app", "store"]},
    {"name": "positive_total", "type": "expression", "expression": "amount * quantity >= 0"},
    {"name": "recent", "type": "range", "column": "order_day", "min": "2020-01-01"},
    {"name": "code_shape", "type": "regex", "column": "code", "pattern": "^C[0-9]+$"},
]


def _pipeline(data: Path, out: Path, variant: str) -> str:
    checks = []
    for i, check in enumerate(CHECKS):
        item = {**check, "stage": "orders", "action": "drop" if variant == "drop" and i == 4 else "warn"}
        checks.append("  - " + json.dumps(item))
    text = (
        f"sources:\n  - {{name: orders, type: parquet, path: '{data}'}}\n"
        f"sinks:\n  - {{name: out, type: parquet, input: orders, path: '{out}'}}\n"
    )
    if variant != "none":
        text += "checks:\n" + "\n".join(checks) + "\n"
    return text


def _generate(spark: Any, rows: int, folder: Path) -> None:
    spark.range(rows, numPartitions=8).selectExpr(
        "id AS order_id",
        "id % 50000 AS customer_id",
        "CAST((id % 997) * 1.25 AS DOUBLE) AS amount",
        "CAST(1 + id % 40 AS INT) AS quantity",
        "concat('user', CAST(id % 50000 AS STRING), '@example.com') AS email",
        "element_at(array('paid', 'shipped', 'new', 'lost'), CAST(1 + id % 4 AS INT)) AS status",
        "element_at(array('web', 'app', 'store'), CAST(1 + id % 3 AS INT)) AS channel",
        "date_add(DATE'2024-01-01', CAST(id % 700 AS INT)) AS order_day",
        "concat('C', CAST(id AS STRING)) AS code",
    ).write.mode("overwrite").parquet(str(folder))


def _run_once(spark: Any, root: Path, data: Path, variant: str, index: int) -> tuple[float, int]:
    from etl_cli import app
    from etl_cli.events import Reporter
    from etl_cli.plan.dag import compile_plan
    from etl_cli.plugins.api import RunContext
    from etl_cli.runtime.execution.executor import Executor
    from etl_cli.runtime.safeguards.quality.evaluate import quality_job_group

    out = root / f"out-{variant}-{index}"
    pipeline = root / f"{variant}.yaml"
    pipeline.write_text(_pipeline(data, out, variant))
    _, spec = app.load_spec(pipeline, None)
    executor = Executor(
        compile_plan(spec), RunContext(spark, root, f"bench-{variant}-{index}"), app.registry(), Reporter()
    )
    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup(quality_job_group("orders")))
    started = time.perf_counter()
    executor.run()
    elapsed = time.perf_counter() - started
    jobs = len(set(tracker.getJobIdsForGroup(quality_job_group("orders"))) - before)
    shutil.rmtree(out, ignore_errors=True)
    return elapsed, jobs


def measure(rows: int, repetitions: int, work: Path) -> dict[str, Any]:
    from etl_cli.runtime.spark.session import build_session

    (work / "etl-project.yaml").write_text("name: quality-cost\n")
    spark = build_session(app_name="etl-cli-quality-cost", master="local[*]", jvm_log=work / "jvm.log")
    try:
        data = work / f"orders_{rows}"
        _generate(spark, rows, data)
        names = ("none", "warn", "drop")
        for variant in names:
            _run_once(spark, work, data, variant, -1)  # warm-up: class loading, file listing caches
        runs: dict[str, list[tuple[float, int]]] = {name: [] for name in names}
        for i in range(repetitions):  # round robin, so a variant gains nothing from running later
            for variant in names:
                runs[variant].append(_run_once(spark, work, data, variant, i))
        variants: dict[str, Any] = {
            name: {
                "median_s": round(statistics.median(t for t, _ in runs[name]), 3),
                "runs_s": [round(t, 3) for t, _ in runs[name]],
                "quality_jobs_per_run": max(j for _, j in runs[name]),
            }
            for name in names
        }
    finally:
        spark.stop()
    base = variants["none"]["median_s"]
    return {
        "rows": rows,
        "repetitions": repetitions,
        "checks": len(CHECKS),
        "variants": variants,
        "overhead": {v: round(variants[v]["median_s"] / base - 1, 3) if base else None for v in ("warn", "drop")},
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"quality cost: {result['checks']} row-level checks over {result['rows']:,} rows, "
        f"median of {result['repetitions']} run(s)"
    )
    for name, figures in result["variants"].items():
        overhead = result["overhead"].get(name)
        extra = f"  (+{overhead:.0%})" if overhead is not None else ""
        jobs = figures["quality_jobs_per_run"]
        print(f"  {name:<5} {figures['median_s']:>8.3f} s{extra}   Spark jobs of the check pass: {jobs}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality_cost", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="100k rows, 3 repetitions")
    size.add_argument("--smoke", action="store_true", help="10k rows, 1 repetition")
    parser.add_argument("--rows", type=int, help="rows to generate (overrides the size)")
    parser.add_argument("--repetitions", type=int, help="runs per variant (overrides the size)")
    parser.add_argument("--work", type=Path, help="folder for data and outputs (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    rows, repetitions = SIZES["quick" if args.quick else "smoke" if args.smoke else "full"]
    rows, repetitions = args.rows or rows, args.repetitions or repetitions
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        result = measure(rows, repetitions, args.work)
    else:
        with tempfile.TemporaryDirectory(prefix="etl-quality-cost-") as folder:
            result = measure(rows, repetitions, Path(folder))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return result


if __name__ == "__main__":
    main()
