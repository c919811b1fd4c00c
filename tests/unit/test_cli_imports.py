"""A command imports what it uses, and only that: ``--help`` and ``validate`` stay fast.

Each test runs the real entry point (``python -m etl_cli``) under ``python -X importtime``,
which lists every module the process imported on stderr, and checks that modules a command
does not need were never imported. Wall time is measured by benchmarks/cli_latency.py;
these tests pin down the import structure that makes it short, without timing anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: the modules of the commands that are imported only when run (etl_cli.cli.main._LAZY_COMMANDS)
COMMAND_MODULES = (
    "etl_cli.cli.dryrun_cmd",
    "etl_cli.cli.debug",
    "etl_cli.cli.wizard",
    "etl_cli.cli.secrets_cmd",
    "etl_cli.cli.dlq_cmd",
)


def imported_modules(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules ``etl-cli ARGS`` imports, read from ``-X importtime`` (one line per module on stderr)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "etl_cli", *args],
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line: "self [us] | cumulative | imported package"
                modules.add(name)
    return modules, result


def under(modules: set[str], *packages: str) -> list[str]:
    """The modules of ``modules`` that are one of ``packages`` or inside one."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_help_imports_no_command_module_and_no_library_a_command_uses() -> None:
    modules, result = imported_modules("--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "validate" in result.stdout and "secrets" in result.stdout
    heavy = ("etl_cli.app", "etl_cli.usecases", "etl_cli.config", "jsonschema", "yaml", "rich", "pydantic")
    assert under(modules, *COMMAND_MODULES, *heavy) == []


def test_validate_does_not_import_the_other_commands() -> None:
    modules, result = imported_modules("validate", "pipelines/quickstart")
    assert result.returncode == 0, result.stderr[-2000:]
    assert under(modules, *COMMAND_MODULES) == []


def test_validate_imports_neither_spark_nor_the_runtime_nor_the_wizard() -> None:
    modules, result = imported_modules("validate", "pipelines/quickstart")
    assert result.returncode == 0, result.stderr[-2000:]
    unused = ("pyspark", "py4j", "etl_cli.runtime", "etl_cli.usecases", "etl_cli.authoring", "questionary")
    assert under(modules, *unused) == []


def test_validate_converts_its_options_without_pydantic() -> None:
    """Typer would import pydantic to convert them (etl_cli/cli/coercion.py does it without)."""
    modules, result = imported_modules("validate", "pipelines/quickstart")
    assert result.returncode == 0, result.stderr[-2000:]
    assert under(modules, "pydantic", "pydantic_core", "typer._adapters") == []


def test_version_imports_no_command() -> None:
    modules, result = imported_modules("--version")
    assert result.returncode == 0
    assert under(modules, "etl_cli.app", *COMMAND_MODULES) == []
