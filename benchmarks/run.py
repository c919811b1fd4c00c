"""Run the benchmark suite and write benchmarks/results/latest.{json,md,png}.

    python -m benchmarks.run [--quick | --smoke] [--only NAME...] [--repeat N] [--out DIR] [--data-dir DIR]

Profiles: the default (full) runs 1M and 10M rows, ``--quick`` 100k and 1M, ``--smoke``
10k rows once (what CI runs, so the suite cannot rot; it proves nothing about speed).
Benchmarks never fail on a time: the exit code is 1 only when a benchmark broke, the
variants of a batch job wrote different data, the counting hand-written job counted
other rows than etl-cli reported, or a table of the JDBC upsert or the table merge holds
other rows than it should. The table merge runs in the smoke profile only when named.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import (
    batch_complex,
    batch_simple,
    cli_latency,
    jdbc_upsert,
    kafka_passthrough,
    kafka_streaming,
    table_merge,
)
from benchmarks.batch import BatchBenchmark, run_batch
from benchmarks.cli_responsiveness import run_cli
from benchmarks.datagen import DATA_DIR, DEFAULT_SEED, ensure_dataset
from benchmarks.machine import load_average, machine_info
from benchmarks.quality import run_quality
from benchmarks.report import write_results

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Profile:
    """Data sizes and repetitions of one way of running the suite."""

    name: str
    rows: tuple[int, ...]
    repeat: int
    cli_repeat: int
    #: rows upserted by benchmark 4 (the issue asks for 1M)
    jdbc_rows: int
    #: one unmeasured run of each variant first (JIT, caches); the smoke profile skips it to stay fast
    warmup: bool = True
    #: seconds of steady streaming in benchmark 5 (the issue asks for at least two minutes)
    stream_seconds: float = 120
    #: benchmark 9: rows in the table, and changed rows merged into it (half updates, half new)
    merge_rows: tuple[int, int] = (1_000_000, 100_000)


PROFILES = {
    "full": Profile("full", (1_000_000, 10_000_000), repeat=5, cli_repeat=10, jdbc_rows=1_000_000),
    "quick": Profile(
        "quick",
        (100_000, 1_000_000),
        repeat=3,
        cli_repeat=5,
        jdbc_rows=100_000,
        stream_seconds=30,
        merge_rows=(100_000, 10_000),
    ),
    "smoke": Profile(
        "smoke", (10_000,), repeat=1, cli_repeat=1, jdbc_rows=10_000, warmup=False, merge_rows=(10_000, 1_000)
    ),
}
#: rounds of benchmark 4 at most (a 1M-row upsert round takes minutes on a small machine)
JDBC_MAX_REPEAT = 3
#: rounds of benchmark 9 at most (each run of each variant first rewrites its table)
MERGE_MAX_REPEAT = 3
BATCH: dict[str, BatchBenchmark] = {b.name: b for b in (batch_simple.BENCHMARK, batch_complex.BENCHMARK)}
NAMES = (
    *BATCH,
    jdbc_upsert.NAME,
    table_merge.NAME,
    kafka_streaming.NAME,
    kafka_passthrough.NAME,
    "cli",
    cli_latency.NAME,
    "quality_cost",
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="100k and 1M rows, 3 rounds")
    size.add_argument("--smoke", action="store_true", help="10k rows, 1 round (CI: proves the suite runs)")
    parser.add_argument("--only", nargs="+", choices=NAMES, metavar="NAME", help=f"run only these: {', '.join(NAMES)}")
    parser.add_argument("--repeat", type=int, help="measured rounds per case (default: from the profile)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where latest.{json,md,png} go")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="generated data and scratch outputs")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="data generator seed")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _guarded(name: str, title: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one benchmark; a crash is recorded as its result, and the suite goes on."""
    try:
        return run()
    except Exception as exc:
        _log(f"{name} failed: {type(exc).__name__}: {exc}")
        return {"name": name, "title": title, "status": "error", "error": f"{type(exc).__name__}: {exc}"}


def _spark_benchmarks(
    selected: list[str], profile: Profile, repeat: int, args: argparse.Namespace, work: Path
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    chosen = [BATCH[name] for name in selected if name in BATCH]
    results: list[dict[str, Any]] = []
    upsert = jdbc_upsert.NAME in selected
    if upsert and (reason := jdbc_upsert.skipped_reason()):
        results.append({"name": jdbc_upsert.NAME, "title": jdbc_upsert.TITLE, "status": "skipped", "reason": reason})
        upsert = False
    merge = table_merge.NAME in selected
    if merge and profile.name == "smoke" and not args.only:
        results.append(
            {
                "name": table_merge.NAME,
                "title": table_merge.TITLE,
                "status": "skipped",
                "reason": table_merge.NOT_IN_SMOKE,
            }
        )
        merge = False
    if not chosen and not upsert and not merge:
        return results, None
    from benchmarks.session import start_session

    packages = jdbc_upsert.packages() if upsert else ()
    settings: dict[str, str] = {}
    if merge:  # Delta's and Iceberg's jars and SQL extensions, in the session every benchmark shares
        project = table_merge.prepare_project(work)
        packages += table_merge.packages(project)
        settings = table_merge.session_settings(project)
    spark, session_info = start_session(work, packages, settings)
    _log(f"Spark session started in {session_info['start_s']} s (first job {session_info['first_job_s']} s)")
    try:
        # generated before any job is measured; above 100k rows by Spark, in this session
        started = time.perf_counter()
        datasets = [ensure_dataset(rows, args.seed, args.data_dir, spark) for rows in profile.rows] if chosen else []
        if datasets:
            _log(f"data ready in {time.perf_counter() - started:.1f} s: {', '.join(str(d.folder) for d in datasets)}")
        for bench in chosen:
            run = partial(run_batch, bench, spark, datasets, repeat, work, _log, profile.warmup)
            results.append(_guarded(bench.name, bench.title, run))
        if upsert:
            rounds = min(repeat, JDBC_MAX_REPEAT)
            sizes = [profile.jdbc_rows]
            run = partial(jdbc_upsert.run_jdbc_upsert, spark, sizes, args.seed, rounds, work, _log, profile.warmup)
            results.append(_guarded(jdbc_upsert.NAME, jdbc_upsert.TITLE, run))
        if merge:
            rounds, sizes_merge = min(repeat, MERGE_MAX_REPEAT), [profile.merge_rows]
            run = partial(
                table_merge.run_table_merge, spark, sizes_merge, args.seed, rounds, project, work, _log, profile.warmup
            )
            results.append(_guarded(table_merge.NAME, table_merge.TITLE, run))
    finally:
        spark.stop()
    return results, session_info


def _streaming(profile: Profile, work: Path) -> dict[str, Any]:
    name, title = kafka_streaming.NAME, kafka_streaming.TITLE
    if reason := kafka_streaming.skipped_reason(profile.name):
        return {"name": name, "title": title, "status": "skipped", "reason": reason}
    run = partial(kafka_streaming.run_streaming, kafka_streaming.RATE, profile.stream_seconds, work, _log)
    return _guarded(name, title, run)


def _real_time(profile: Profile, work: Path) -> dict[str, Any]:
    name, title = kafka_passthrough.NAME, kafka_passthrough.TITLE
    if reason := kafka_passthrough.skipped_reason(profile.name):
        return {"name": name, "title": title, "status": "skipped", "reason": reason}
    run = partial(kafka_passthrough.run_real_time, kafka_passthrough.RATE, profile.stream_seconds, work, _log)
    return _guarded(name, title, run)


def run_suite(args: argparse.Namespace, argv: Sequence[str]) -> dict[str, Any]:
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    repeat = args.repeat or profile.repeat
    selected = list(args.only or NAMES)
    work = args.data_dir / "work"
    os.environ.setdefault("ETL_STATE_DIR", str(work / "state"))
    machine = machine_info()
    started = time.perf_counter()
    benchmarks: list[dict[str, Any]] = []
    if "cli" in selected:  # before Spark starts, so no JVM competes with the cold starts
        _log("cli: cold starts")
        cli_repeat = args.repeat or profile.cli_repeat
        benchmarks.append(_guarded("cli", "CLI responsiveness", lambda: run_cli(work, cli_repeat, _log)))
    if cli_latency.NAME in selected:  # before Spark too: a JVM on the other core would slow the cold starts
        _log("cli_latency: --help and validate against their goals")
        latency_repeat = args.repeat or profile.cli_repeat
        run = partial(cli_latency.run_cli_latency, latency_repeat, _log)
        benchmarks.append(_guarded(cli_latency.NAME, cli_latency.TITLE, run))
    spark_results, session = _spark_benchmarks(selected, profile, repeat, args, work)
    benchmarks += spark_results
    if kafka_streaming.NAME in selected:
        benchmarks.append(_streaming(profile, work))
    if kafka_passthrough.NAME in selected:
        benchmarks.append(_real_time(profile, work))
    if "quality_cost" in selected:
        benchmarks.append(_guarded("quality_cost", "Data-quality cost", lambda: run_quality(profile.name, work, _log)))
    return {
        "suite": {
            "command": "python -m benchmarks.run " + shlex.join(argv),
            "profile": profile.name,
            "rows": list(profile.rows),
            "repeat": repeat,
            "warmup": profile.warmup,
            "seed": args.seed,
            "duration_s": round(time.perf_counter() - started, 1),
            "load_average_at_end": load_average(),
        },
        "machine": machine,
        "session": session,
        "benchmarks": benchmarks,
    }


def broken(results: dict[str, Any]) -> list[str]:
    """Why this run cannot be trusted (not: which targets were missed)."""
    problems = [f"{b['name']}: {b['error']}" for b in results["benchmarks"] if b["status"] == "error"]
    for bench in results["benchmarks"]:
        for case in bench.get("cases", []):
            if bench.get("kind") == "batch" and not case["outputs_identical"]:
                problems.append(f"{bench['name']} {case['label']}: the variants wrote different data")
            if bench.get("kind") == "batch" and not case.get("counts_match", True):
                problems.append(f"{bench['name']} {case['label']}: etl-cli reported other row counts than observed")
            if bench.get("kind") in ("cli", "cli_latency") and not case["ok"]:
                problems.append(f"cli {case['label']}: unexpected exit codes {case['exit_codes']}")
            if bench.get("kind") in ("jdbc", "table_merge") and not case["ok"]:
                problems.append(f"{bench['name']} {case['label']}: wrong table contents {case['checks']}")
        for name, run in (bench.get("variants") or {}).items():
            if bench.get("kind") == "streaming_latency" and not run.get("counted_once"):
                missing, twice = run.get("missing"), run.get("duplicates")
                problems.append(f"{bench['name']} {name}: events not counted once ({missing} missing, {twice} twice)")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    results = run_suite(args, argv)
    paths = write_results(results, args.out)
    _log("results: " + ", ".join(str(p) for p in paths.values()))
    if problems := broken(results):
        _log("the run is not trustworthy:\n  " + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
