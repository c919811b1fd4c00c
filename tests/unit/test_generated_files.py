"""The published JSON Schema and docs/reference.md are regenerated whenever a plug-in changes."""

from __future__ import annotations

import subprocess
import sys

from tests.clihelp import REPO


def test_published_schema_and_reference_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_reference.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
