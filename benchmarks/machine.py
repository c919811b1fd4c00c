"""What the numbers were measured on: cores, memory, CPU, Python, Java, Spark, load, commit, date."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _memory_gib() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file() and (match := re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text())):
        return round(int(match.group(1)) / 2**20, 1)
    return None


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file() and (match := re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())):
        return match.group(1).strip()
    return platform.processor() or platform.machine()


def _java_version() -> str | None:
    from etl_cli.runtime.spark.java import find_java

    try:
        out = subprocess.run([str(find_java()), "-version"], capture_output=True, text=True, timeout=30)
    except Exception:
        return None
    lines = (out.stderr or out.stdout).strip().splitlines()
    return lines[0].strip() if lines else None


def _git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
    except OSError:
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+uncommitted" if dirty.stdout.strip() else "")


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: other work competing for the cores skews timings."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    """The machine and software versions, recorded with every result."""
    import pyspark

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "java": _java_version(),
        "spark": pyspark.__version__,
        "etl_cli_commit": _git_commit(),
        "load_average_at_start": load_average(),
    }
