"""Measuring one run of something: wall time, CPU time and peak memory of a process tree.

In-process jobs are measured on this process and its children (the Spark driver JVM is a
child of the Python process that started it), so CPU time and RSS cover Python + JVM.
Commands are measured as fresh child processes (cold start), with peak RSS sampled over
their whole process tree and, where GNU time is installed, checked against its figure for
the largest single process.

psutil (the ``bench`` extra) supplies the process-tree figures; without it they are None
and the wall times are still measured.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1024 * 1024
SAMPLE_INTERVAL_S = 0.02
GNU_TIME = "/usr/bin/time"


def _psutil():
    try:
        import psutil
    except ImportError:
        return None
    return psutil


def _tree(pid: int) -> list[Any]:
    psutil = _psutil()
    if psutil is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_rss_bytes(pid: int) -> int | None:
    """Resident memory of ``pid`` and all its descendants, summed (None without psutil)."""
    if _psutil() is None:
        return None
    total = 0
    for process in _tree(pid):
        try:
            total += process.memory_info().rss
        except Exception:  # a process may end between listing and reading it
            continue
    return total


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by ``pid`` and its live descendants (None without psutil)."""
    if _psutil() is None:
        return None
    total = 0.0
    for process in _tree(pid):
        try:
            times = process.cpu_times()
        except Exception:
            continue
        total += times.user + times.system
    return total


class PeakSampler:
    """Samples the RSS of a process tree in a background thread and keeps the peak."""

    def __init__(self, pid: int, interval_s: float = SAMPLE_INTERVAL_S):
        self.pid = pid
        self.interval_s = interval_s
        self.peak: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        rss = tree_rss_bytes(self.pid)
        if rss is not None and (self.peak is None or rss > self.peak):
            self.peak = rss

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


@dataclass
class Sample:
    """One measured run."""

    wall_s: float
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def measured_in_process() -> Iterator[Sample]:
    """Measure the enclosed block on this process and its children (Python + the Spark JVM)."""
    pid = os.getpid()
    sample = Sample(wall_s=0.0)
    cpu_before = tree_cpu_seconds(pid)
    with PeakSampler(pid) as sampler:
        started = time.perf_counter()
        yield sample
        sample.wall_s = time.perf_counter() - started
    cpu_after = tree_cpu_seconds(pid)
    if cpu_before is not None and cpu_after is not None:
        sample.cpu_s = cpu_after - cpu_before
    sample.peak_rss_mb = None if sampler.peak is None else sampler.peak / MB


def measure_call(call: Callable[[], Any]) -> tuple[Sample, Any]:
    """Run ``call`` once, measured in process; return the sample and what ``call`` returned."""
    with measured_in_process() as sample:
        value = call()
    return sample, value


@dataclass(frozen=True)
class CommandRun:
    """One cold run of a command in a fresh process."""

    sample: Sample
    returncode: int
    stdout: str
    stderr: str


_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
_USER = re.compile(r"User time \(seconds\): ([\d.]+)")
_SYSTEM = re.compile(r"System time \(seconds\): ([\d.]+)")


def run_command(argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout_s: float = 300) -> CommandRun:
    """Run ``argv`` as a fresh process; wall time, CPU time and peak RSS of its whole tree.

    Peak RSS is the larger of the sampled tree total and GNU time's largest single process
    (short-lived processes can end between two samples; GNU time never misses a peak).
    """
    use_time = Path(GNU_TIME).is_file() and os.access(GNU_TIME, os.X_OK)
    time_file = None
    command = list(argv)
    if use_time:
        import tempfile

        handle, time_file = tempfile.mkstemp(prefix="bench-time-", suffix=".txt")
        os.close(handle)
        command = [GNU_TIME, "-v", "-o", time_file, *command]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with PeakSampler(process.pid, interval_s=0.005) as sampler:
        stdout, stderr = process.communicate(timeout=timeout_s)
    wall = time.perf_counter() - started
    sample = Sample(wall_s=wall, peak_rss_mb=None if sampler.peak is None else sampler.peak / MB)
    if time_file is not None:
        _merge_gnu_time(sample, Path(time_file))
    return CommandRun(sample, process.returncode, stdout, stderr)


def _merge_gnu_time(sample: Sample, report: Path) -> None:
    text = report.read_text(errors="replace")
    report.unlink(missing_ok=True)
    if match := _MAX_RSS.search(text):
        largest_mb = int(match.group(1)) / 1024
        sample.extra["largest_process_rss_mb"] = round(largest_mb, 1)
        sample.peak_rss_mb = max(sample.peak_rss_mb or 0.0, largest_mb)
    user, system = _USER.search(text), _SYSTEM.search(text)
    if user and system:
        sample.cpu_s = float(user.group(1)) + float(system.group(1))


def summary(values: Sequence[float | None]) -> dict[str, Any] | None:
    """Median, min, max and the raw values (None when nothing was measured)."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    return {
        "median": round(statistics.median(known), 4),
        "min": round(min(known), 4),
        "max": round(max(known), 4),
        "n": len(known),
        "values": [round(v, 4) for v in known],
    }


def gnu_time_available() -> bool:
    return shutil.which(GNU_TIME) is not None
