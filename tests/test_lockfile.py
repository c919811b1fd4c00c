"""scripts/lockfile.py check: a lock that no longer matches pyproject.toml fails scripts/test.sh."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]

PYPROJECT = """
    [project]
    name = "etl-cli"
    requires-python = ">=3.11"
    dependencies = ["typer>=0.16,<0.30"]

    [project.optional-dependencies]
    vault = ["hvac>=2,<3"]
    dev = ["etl-cli[vault]", "pytest>=8,<10"]
"""
BASE_PINS = ["typer==0.29.2", "rich==15.0.0"]
DEV_PINS = [*BASE_PINS, "hvac==2.4.0", "pytest==9.2.0"]


@pytest.fixture(scope="module")
def lockfile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lockfile", REPO / "scripts" / "lockfile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["lockfile"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def write_project(root: Path, lockfile: ModuleType, base: list[str], dev: list[str]) -> None:
    """A project whose locks were written from PYPROJECT, holding these pins (each with a made-up hash)."""
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT), encoding="utf-8")
    (root / "requirements").mkdir()
    project = lockfile.load_project(root)
    for flavour, pins in zip(lockfile.FLAVOURS, (base, dev), strict=True):
        body = "".join(f"{pin} \\\n    --hash=sha256:{'0' * 64}\n    # via etl-cli (pyproject.toml)\n" for pin in pins)
        (root / flavour.lock).write_text(lockfile.header(project, flavour, "uv 0.0.0") + body, encoding="utf-8")


def test_locks_written_from_the_current_pyproject_pass(tmp_path: Path, lockfile: ModuleType) -> None:
    write_project(tmp_path, lockfile, BASE_PINS, DEV_PINS)
    assert lockfile.check(tmp_path, inputs_only=False) == []


def test_a_bound_changed_after_locking_fails_the_check(tmp_path: Path, lockfile: ModuleType) -> None:
    write_project(tmp_path, lockfile, BASE_PINS, DEV_PINS)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("typer>=0.16,<0.30", "typer>=0.16,<0.29"))
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "lockfile.py"), "check", "--root", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "error: requirements/base.txt was compiled from other inputs" in result.stderr
    assert "error: requirements/base.txt pins typer==0.29.2, outside pyproject.toml's typer<0.29,>=0.16" in (
        result.stderr
    )
    assert "run scripts/lock.sh" in result.stderr


def test_an_added_dependency_fails_the_inputs_check(tmp_path: Path, lockfile: ModuleType) -> None:
    write_project(tmp_path, lockfile, BASE_PINS, DEV_PINS)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pytest>=8,<10"', '"pytest>=8,<10", "hypothesis>=6,<7"'))
    problems = lockfile.check(tmp_path, inputs_only=True)
    assert problems == [
        "requirements/base.txt was compiled from other inputs: pyproject.toml's dependencies, optional dependencies "
        "or requires-python, or the compile options, changed since",
        "requirements/dev.txt was compiled from other inputs: pyproject.toml's dependencies, optional dependencies "
        "or requires-python, or the compile options, changed since",
    ]


def test_a_pin_outside_the_specifier_fails(tmp_path: Path, lockfile: ModuleType) -> None:
    write_project(tmp_path, lockfile, ["typer==0.30.0"], ["typer==0.30.0", "hvac==2.4.0", "pytest==9.2.0"])
    problems = lockfile.check(tmp_path, inputs_only=False)
    assert problems == [
        "requirements/base.txt pins typer==0.30.0, outside pyproject.toml's typer<0.30,>=0.16",
        "requirements/dev.txt pins typer==0.30.0, outside pyproject.toml's typer<0.30,>=0.16",
    ]


def test_a_requirement_of_an_included_extra_missing_from_the_lock_fails(tmp_path: Path, lockfile: ModuleType) -> None:
    write_project(tmp_path, lockfile, BASE_PINS, [*BASE_PINS, "pytest==9.2.0"])
    problems = lockfile.check(tmp_path, inputs_only=False)
    assert problems == ["requirements/dev.txt has no pin for hvac<3,>=2, which pyproject.toml requires"]


def test_dev_must_pin_what_it_shares_with_base_at_the_same_version(tmp_path: Path, lockfile: ModuleType) -> None:
    write_project(tmp_path, lockfile, BASE_PINS, ["typer==0.29.1", "rich==15.0.0", "hvac==2.4.0", "pytest==9.2.0"])
    problems = lockfile.check(tmp_path, inputs_only=False)
    assert problems == ["requirements/dev.txt pins typer==0.29.1, requirements/base.txt 0.29.2"]
