"""Benchmark 8 — CLI latency: how long a person waits for ``etl-cli --help`` and ``etl-cli validate``.

    python -m benchmarks.cli_latency [--repeat N]     # alone, prints the table
    python -m benchmarks.run --only cli_latency        # in the suite's results

Each command runs ``repeat`` times as a fresh process of the installed ``etl-cli`` (as typed
in a terminal), and its wall time from launch to exit is compared with its goal (issue 25:
``--help`` under 0.15 s, ``validate`` of the quickstart under 0.3 s, medians, on the 2-core
reference machine). Nothing else runs in this process meanwhile: no memory sampler (benchmark
6 measures memory), so the figure is the latency alone. Then ``python -X importtime`` of each
command tells where the start-up goes: the milliseconds spent importing each package (for
etl-cli each sub-package, such as ``etl_cli.model``), medians over a few runs. Import times
are inflated by the measurement itself: read them as shares of the start-up, not as wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import summary

REPO = Path(__file__).resolve().parents[1]
NAME = "cli_latency"
TITLE = "CLI latency: --help and validate against their goals"
#: how many importtime runs each breakdown is the median of, how many packages it keeps and the table shows
IMPORT_RUNS = 3
IMPORT_TOP = 10
IMPORT_SHOWN = 6


@dataclass(frozen=True)
class Goal:
    """A command line and the median wall time it should stay under."""

    label: str
    args: tuple[str, ...]
    max_wall_s: float


GOALS = (
    Goal("etl-cli --help", ("--help",), 0.15),
    Goal("etl-cli validate pipelines/quickstart", ("validate", "pipelines/quickstart"), 0.30),
)


def etl_cli_script() -> list[str]:
    """The installed ``etl-cli`` script next to this Python, else ``python -m etl_cli``."""
    script = Path(sys.executable).with_name("etl-cli")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "etl_cli"]


def _environment() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1"}


def wall_time(argv: Sequence[str]) -> tuple[float, int]:
    """Wall seconds from launch to exit of one fresh process, and its exit code."""
    started = time.perf_counter()
    done = subprocess.run(
        list(argv), cwd=REPO, env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - started, done.returncode


def parse_importtime(stderr: str) -> dict[str, float]:
    """Module -> milliseconds spent importing it alone (``self`` of ``-X importtime``, its own imports not included)."""
    found: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        if own.strip().isdigit():  # not the header line
            found[name.strip()] = int(own) / 1000
    return found


def package_of(module: str) -> str:
    """What a module's time is counted under: its top-level package, or for etl-cli its sub-package (etl_cli.model)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "etl_cli" else parts[0]


def by_package(modules: dict[str, float]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for module, ms in modules.items():
        totals[package_of(module)] = totals.get(package_of(module), 0.0) + ms
    return totals


def import_breakdown(args: Sequence[str], runs: int = IMPORT_RUNS) -> dict[str, Any]:
    """Where the start-up of ``etl-cli ARGS`` goes: milliseconds of imports per package, medians of ``runs``."""
    script = etl_cli_script()
    command = [sys.executable, "-X", "importtime", *(script if len(script) == 1 else script[1:]), *args]
    samples = []
    for _ in range(runs):
        done = subprocess.run(command, cwd=REPO, env=_environment(), capture_output=True, text=True, check=False)
        samples.append(by_package(parse_importtime(done.stderr)))
    packages = {name for sample in samples for name in sample}
    median = {name: statistics.median(sample.get(name, 0.0) for sample in samples) for name in packages}
    top = sorted(packages, key=lambda name: -median[name])[:IMPORT_TOP]
    return {
        "runs": runs,
        "total_ms": round(statistics.median(sum(sample.values()) for sample in samples), 1),
        "top": [{"package": name, "ms": round(median[name], 1)} for name in top],
    }


def measure(goal: Goal, repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    """One goal: ``repeat`` timed runs, then the import breakdown."""
    runs = [wall_time([*etl_cli_script(), *goal.args]) for _ in range(repeat)]
    wall = summary([seconds for seconds, _ in runs])
    assert wall is not None
    codes = sorted({code for _, code in runs})
    case = {
        "label": goal.label,
        "argv": ["etl-cli", *goal.args],
        "exit_codes": codes,
        "ok": codes == [0],
        "wall_s": wall,
        "max_wall_s": goal.max_wall_s,
        "met": codes == [0] and wall["median"] < goal.max_wall_s,
        "imports": import_breakdown(goal.args),
    }
    log(f"  {goal.label}: median {wall['median']:.3f} s (goal < {goal.max_wall_s:g} s), exit {codes}")
    return case


def run_cli_latency(repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The benchmark's result for the suite (benchmarks/run.py)."""
    return {
        "name": NAME,
        "title": TITLE,
        "kind": "cli_latency",
        "status": "ok",
        "load_average_before": list(os.getloadavg()),
        "cases": [measure(goal, repeat, log) for goal in GOALS],
        "load_average_after": list(os.getloadavg()),
    }


def table(result: dict[str, Any]) -> list[str]:
    """The result as Markdown (benchmarks/report.py uses it too)."""
    lines = [
        "| command | median wall s [min-max] | runs | goal | met | imports: all, then the largest packages (ms, "
        f"median of {IMPORT_RUNS} `-X importtime` runs) |",
        "|---|---:|---:|---|---|---|",
    ]
    for case in result["cases"]:
        wall, imports = case["wall_s"], case["imports"]
        largest = ", ".join(f"{p['package']} {p['ms']:.0f}" for p in imports["top"][:IMPORT_SHOWN])
        lines.append(
            f"| `{' '.join(case['argv'])}` | {wall['median']:.3f} [{wall['min']:.3f}-{wall['max']:.3f}] | {wall['n']} "
            f"| < {case['max_wall_s']:g} s | {'yes' if case['met'] else '**no**'} "
            f"| all {imports['total_ms']:.0f}: {largest} |"
        )
    before, after = result.get("load_average_before"), result.get("load_average_after")
    if before and after:
        lines += ["", f"Load average (1 min) {before[0]:.2f} before, {after[0]:.2f} after."]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cli_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="fresh processes per command (default 10)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    result = run_cli_latency(args.repeat, lambda text: print(text, file=sys.stderr, flush=True))
    print("\n".join(table(result)))
    return 0 if all(case["ok"] for case in result["cases"]) else 1


if __name__ == "__main__":
    sys.exit(main())
