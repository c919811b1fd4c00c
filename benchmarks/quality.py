"""Benchmark 3 — data-quality cost, run from ``benchmarks/quality_cost.py`` when it exists.

That module belongs to the data-quality work: it exposes ``main(argv)`` and a ``--quick``
size. The runner calls it in a child process (it starts and stops its own Spark session,
which must not be the shared one) and embeds whatever ``main`` returns, when that is
JSON-serialisable, in the suite's results; the tail of its output is kept either way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODULE_FILE = Path(__file__).with_name("quality_cost.py")
NAME = "quality_cost"
TITLE = "Data-quality cost: ten row-level checks over 1M rows vs none"
_MARK = "@@benchmark-result@@"
_CALL = f"""
import json, sys
from benchmarks import quality_cost
code = 0
try:
    result = quality_cost.main(sys.argv[1:])
except SystemExit as exc:
    result, code = None, exc.code
try:
    text = json.dumps(result, default=str)
except (TypeError, ValueError):
    text = json.dumps(None)
print({_MARK!r} + text)
sys.exit(code if isinstance(code, int) else 1)
"""


def pending() -> dict[str, Any]:
    return {
        "name": NAME,
        "title": TITLE,
        "kind": "external",
        "status": "pending",
        "reason": "benchmarks/quality_cost.py (data-quality work) does not exist yet",
    }


def _arguments(profile: str) -> list[str] | None:
    """Arguments for the profile; None when quality_cost.py offers no size small enough for it."""
    if profile == "full":
        return []
    if profile == "quick":
        return ["--quick"]
    help_text = subprocess.run(
        [sys.executable, "-m", "benchmarks.quality_cost", "--help"], cwd=REPO, capture_output=True, text=True
    ).stdout
    return ["--smoke"] if "--smoke" in help_text else None


def run_quality(profile: str, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    if not MODULE_FILE.is_file():
        return pending()
    argv = _arguments(profile)
    if argv is None:
        return {**pending(), "status": "skipped", "reason": "quality_cost.py has no --smoke size; --quick runs it"}
    env = {**os.environ, "ETL_STATE_DIR": str(work / "quality" / "state")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CALL, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=3600
    )
    wall = round(time.perf_counter() - started, 3)
    output = [line for line in done.stdout.splitlines() if not line.startswith(_MARK)]
    result = next((json.loads(line[len(_MARK) :]) for line in done.stdout.splitlines() if line.startswith(_MARK)), None)
    log(f"  quality_cost {' '.join(argv)}: exit {done.returncode} after {wall} s")
    return {
        "name": NAME,
        "title": TITLE,
        "kind": "external",
        "status": "ok" if done.returncode == 0 else "error",
        "argv": ["benchmarks/quality_cost.py", *argv],
        "wall_s": wall,
        "result": result,
        "output_tail": output[-20:],
        "stderr_tail": done.stderr.strip().splitlines()[-10:] if done.returncode else [],
    }
