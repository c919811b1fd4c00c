"""Run the installed ``etl-cli`` as a user would: a subprocess without a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def etl_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m etl_cli ARGS`` (the same entry point as the ``etl-cli`` script)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "etl_cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
