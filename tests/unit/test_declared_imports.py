"""etl-cli starts with only the distributions it declares: Typer's API, never a ``click`` that happens to be there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# ``None`` in sys.modules makes every ``import click`` fail, as on a machine where it is not installed
WITHOUT_CLICK = "import sys; sys.modules['click'] = None; from etl_cli.cli.main import main; main(sys.argv[1:])"


def test_the_cli_starts_where_click_is_not_installed() -> None:
    pytest.importorskip("typer._click", reason="this Typer depends on click itself, so click is always installed")
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_CLICK, "secrets", "set", "--help"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Store a secret" in result.stdout
