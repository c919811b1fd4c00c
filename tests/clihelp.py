"""Run ``etl-cli`` as a user would: a subprocess without a terminal, or the same in the test process.

``run``, ``dry-run``, ``test``, ``dlq``, ``generate`` and ``lineage`` run in the test process on its shared Spark
session (tests/sparkhelp.py) unless the test is marked ``pytest.mark.own_jvm`` or passes ``in_process=False``; every
other command is a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import sparkhelp

REPO = Path(__file__).resolve().parents[1]
#: whether the current test's Spark commands may run in-process (set by tests/conftest.py before each test)
IN_PROCESS = False


def etl_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: int = 300, in_process: bool | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m etl_cli ARGS`` (the same entry point as the ``etl-cli`` script), or its like in-process."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    if (IN_PROCESS if in_process is None else in_process) and args and args[0] in sparkhelp.SPARK_COMMANDS:
        try:
            return sparkhelp.in_process(args, full_env, cwd)
        except sparkhelp.OwnJvmNeeded as exc:
            pytest.fail(f"etl-cli {' '.join(args)}: {exc}: mark the test pytest.mark.own_jvm", pytrace=False)
    return subprocess.run(
        [sys.executable, "-m", "etl_cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
