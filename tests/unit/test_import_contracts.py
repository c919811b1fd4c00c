"""The import contracts in pyproject.toml hold, and catch a plug-in or a secrets module importing the runtime.

Each test runs ``lint-imports`` on a copy of ``etl_cli`` and ``pyproject.toml`` in a temporary folder, so
a probe import can be added without touching the tree. ``lint-imports`` puts its working directory first
on ``sys.path``, so the copy is the package analysed; the probe's line number in the report proves it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = "import etl_cli.runtime.execution.executor"
LAYERS = "Layers point downward"
PLUGINS_RULE = "Plug-ins never import the runtime, the use cases or the CLI"
SECRETS_RULE = "Secrets never import the runtime, the use cases or the CLI"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, without byte code."""
    shutil.copytree(REPO / "etl_cli", tmp_path / "etl_cli", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` in ``root``: it reads ``root/pyproject.toml``; no cache, so the copy is read afresh."""
    command = Path(sys.executable).with_name("lint-imports")
    assert command.exists(), f"{command} is missing: install the dev extra"
    env = {**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1"}
    return subprocess.run(
        [str(command), "--no-cache", "--no-logo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def add_probe(root: Path, module: str) -> str:
    """Append the probe import to ``module`` in the copy; return how lint-imports names that import."""
    path = root / (module.replace(".", "/") + ".py")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, PROBE]) + "\n")
    return f"{module} -> etl_cli.runtime.execution.executor (l.{len(lines) + 1})"


def broken_contracts(output: str) -> dict[str, str]:
    """Each broken contract's name, with the text of its report (the import chains that break it)."""
    _, _, report = output.partition("Broken contracts")
    lines = report.splitlines()
    found: dict[str, str] = {}
    name = None
    for line, underline in zip(lines, [*lines[1:], ""], strict=True):
        if line.strip() and underline == "-" * len(line):
            name = line
            found[name] = ""
        elif name is not None and set(line) != {"-"}:
            found[name] += line + "\n"
    return found


def test_the_package_as_it_is_keeps_every_contract(copy: Path) -> None:
    result = lint_imports(copy)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "rule"),
    [("etl_cli.plugins.sinks.files", PLUGINS_RULE), ("etl_cli.secrets.redaction", SECRETS_RULE)],
    ids=["a sink breaks the plugin rule", "redaction breaks the secrets rule"],
)
def test_importing_the_runtime_breaks_the_layers_and_the_module_rule(copy: Path, module: str, rule: str) -> None:
    probe = add_probe(copy, module)

    result = lint_imports(copy)

    assert result.returncode == 1, result.stdout + result.stderr
    broken = broken_contracts(result.stdout)
    assert probe in broken[rule]
    assert probe in broken[LAYERS]
