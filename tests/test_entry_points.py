"""Every way to start etl-cli answers ``--version`` with its own name and the installed version."""

from __future__ import annotations

import subprocess
import sys

import pytest

from etl_cli import __version__
from tests.ptyhelp import script


@pytest.mark.parametrize(
    ("command", "name"),
    [
        ([script("etl-cli")], "etl-cli"),
        ([script("etl-debug")], "etl-debug"),
        ([sys.executable, "-m", "etl_cli"], "etl-cli"),
    ],
)
def test_version_names_the_program_and_the_version(command: list[str], name: str) -> None:
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"{name} {__version__}\n", "")


def test_etl_debug_lists_version_in_its_help() -> None:
    result = subprocess.run([script("etl-debug"), "--help"], capture_output=True, text=True, timeout=60)
    assert "--version  " in result.stdout and "Print the version and exit." in result.stdout
