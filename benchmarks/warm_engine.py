"""Benchmark 9 — cold vs warm engine: the same commands with Spark started in-process, and on ``etl-cli engine``.

    python -m benchmarks.warm_engine [--repeat N] [--rows N]

A scratch project (``benchmarks/data/work/warm_engine``) holds the quickstart and benchmark 2's
join/aggregate/window pipeline (``benchmarks/pipelines/batch_complex``, over the generated orders
data set). Each case runs ``repeat`` times as a fresh process of the installed ``etl-cli``, cold
(``ETL_ENGINE=off``: Spark starts inside the command, as without an engine) and warm (the project's
engine is up) alternately, so both see the same machine. The goals (issue 19, medians on the
2-core reference machine): the quickstart ``run`` under 3 s wall, ``dry-run`` under 2 s, ``etl-debug``
to its first stage under 2 s, and the join/aggregate job warm no slower than cold minus Spark's
start-up (the run results' ``spark_startup_s``). The engine's own start is reported beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.datagen import ensure_dataset
from benchmarks.measure import summary

REPO = Path(__file__).resolve().parents[1]
NAME = "warm_engine"
TITLE = "Cold vs warm engine: run, dry-run, etl-debug and a join/aggregate job"
WORK = REPO / "benchmarks" / "data" / "work" / NAME
RESULTS = REPO / "benchmarks" / "results" / f"{NAME}.json"
#: goals: the median warm wall time to stay under (None: judged against cold minus start-up)
GOALS: dict[str, float | None] = {"run": 3.0, "dry-run": 2.0, "debug": 2.0, "join/aggregate": None}


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("etl-cli")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "etl_cli"]


def _env(warm: bool) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1"}
    if not warm:
        env["ETL_ENGINE"] = "off"
    return env


def prepare(rows: int) -> tuple[Path, list[str]]:
    """The scratch project, and the ``--set`` overrides pointing the join/aggregate job at its data set."""
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "pipelines").mkdir(parents=True)
    (WORK / "etl-project.yaml").write_text("name: warm-engine-benchmark\n")
    shutil.copytree(REPO / "pipelines" / "quickstart", WORK / "pipelines" / "quickstart")
    shutil.copytree(REPO / "benchmarks" / "pipelines" / "batch_complex", WORK / "pipelines" / "batch_complex")
    dataset = ensure_dataset(rows)
    sets = [
        f"vars.orders_csv={dataset.orders_csv}",
        f"vars.customers_csv={dataset.customers_csv}",
        f"vars.output_dir={WORK / 'output' / 'batch_complex'}",
    ]
    return WORK, sets


def timed(argv: Sequence[str], warm: bool) -> float:
    """Wall seconds of one command, which must succeed."""
    started = time.perf_counter()
    done = subprocess.run(list(argv), cwd=WORK, env=_env(warm), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    if warm != ("using the warm engine" in done.stderr):
        raise RuntimeError(f"{' '.join(argv)}: the engine was {'not ' if warm else ''}used: {done.stderr[-500:]}")
    return elapsed


def to_first_stage(warm: bool) -> float:
    """Seconds from launching ``etl-debug`` until it shows its first stage (then it is stopped)."""
    argv = [*_cli(), "debug", "pipelines/quickstart", "--non-interactive"]
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=WORK, env=_env(warm), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.startswith("1/"):
                return time.perf_counter() - started
        raise RuntimeError("etl-debug ended without showing a stage")
    finally:
        process.kill()
        process.wait()


def startup_of_last_run(pipeline: str) -> float:
    """Spark's start-up in the newest run results of ``pipeline`` (the cold run just made)."""
    folder = WORK / ".etl" / "runs" / pipeline / "default"
    newest = max(folder.glob("2*.json"), key=lambda p: p.stat().st_mtime)
    return float(json.loads(newest.read_text())["spark_startup_s"])


def run_warm_engine(repeat: int, rows: int, log: Callable[[str], None]) -> dict[str, Any]:
    project, sets = prepare(rows)
    cli = _cli()
    log("starting the engine")
    started = time.perf_counter()
    subprocess.run([*cli, "engine", "start", str(project)], cwd=project, check=True, capture_output=True)
    engine_start_s = time.perf_counter() - started
    set_args = [arg for value in sets for arg in ("--set", value)]
    cases: dict[str, Callable[[bool], float]] = {
        "run": lambda warm: timed([*cli, "run", "pipelines/quickstart"], warm),
        "dry-run": lambda warm: timed([*cli, "dry-run", "pipelines/quickstart"], warm),
        "debug": to_first_stage,
        "join/aggregate": lambda warm: timed([*cli, "run", "pipelines/batch_complex", *set_args], warm),
    }
    measured: dict[str, dict[str, list[float]]] = {name: {"cold": [], "warm": [], "startup": []} for name in cases}
    try:
        for case, measure in cases.items():
            measure(True)  # a first warm run: the engine's JIT has not seen this job yet
            for index in range(repeat):
                for warm in (False, True) if index % 2 == 0 else (True, False):
                    seconds = measure(warm)
                    measured[case]["warm" if warm else "cold"].append(seconds)
                    if not warm and case in ("run", "join/aggregate"):
                        name = "quickstart" if case == "run" else "bench_batch_complex"
                        measured[case]["startup"].append(startup_of_last_run(name))
                    log(f"{case}: {'warm' if warm else 'cold'} {seconds:.2f} s")
    finally:
        subprocess.run([*cli, "engine", "stop", str(project)], cwd=project, check=False, capture_output=True)
    report: dict[str, Any] = {"name": NAME, "title": TITLE, "repeat": repeat, "rows": rows}
    report["engine_start_s"] = round(engine_start_s, 2)
    report["cases"] = {}
    for case, values in measured.items():
        cold, hot = summary(values["cold"]), summary(values["warm"])
        assert cold is not None and hot is not None
        entry: dict[str, Any] = {"cold": cold, "warm": hot, "goal_s": GOALS[case]}
        startup = summary(values["startup"])
        if startup is not None:
            entry["cold_spark_startup"] = startup
            entry["cold_minus_startup_median"] = round(cold["median"] - startup["median"], 3)
        goal = GOALS[case]
        limit = goal if goal is not None else entry.get("cold_minus_startup_median")
        entry["ok"] = limit is not None and hot["median"] <= limit
        report["cases"][case] = entry
    return report


def table(report: dict[str, Any]) -> str:
    lines = [
        "| case | cold: median [min-max] | warm: median [min-max] | goal | met |",
        "|---|---|---|---|---|",
    ]
    for case, entry in report["cases"].items():
        cold, warm = entry["cold"], entry["warm"]
        goal = (
            f"< {entry['goal_s']} s"
            if entry["goal_s"] is not None
            else f"≤ cold - start-up = {entry['cold']['median']:.2f} - {entry['cold_spark_startup']['median']:.2f} s"
        )
        met = "yes" if entry["ok"] else "no"
        lines.append(
            f"| {case} | {cold['median']:.2f} [{cold['min']:.2f}-{cold['max']:.2f}] s "
            f"| {warm['median']:.2f} [{warm['min']:.2f}-{warm['max']:.2f}] s | {goal} | {met} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.warm_engine", description=TITLE)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each case, cold and warm (default 5)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="orders in the join/aggregate job's data set")
    args = parser.parse_args(argv)
    report = run_warm_engine(args.repeat, args.rows, lambda text: print(text, file=sys.stderr, flush=True))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"engine start: {report['engine_start_s']:.2f} s")
    print(table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
