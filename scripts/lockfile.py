"""Write and check the lock files in requirements/ against pyproject.toml.

    python scripts/lockfile.py refresh [uv pip compile options]   rewrite every lock (scripts/lock.sh)
    python scripts/lockfile.py check [--root DIR] [--inputs-only]  exit 1 when a lock no longer matches pyproject.toml

A lock is what `uv pip compile` resolves for one install flavour (base: no extras; dev: the dev extra, which
includes every other extra), for every platform (--universal) and Python 3.11+, with hashes. dev.txt is compiled
with base.txt as constraints, so both pin a shared distribution at the same version.

Each lock starts with the sha256 of its inputs: pyproject's requires-python, dependencies and optional
dependencies, and the compile options. `check` is offline and fast: the recorded inputs must equal today's, every
direct requirement of the flavour must be pinned at a version its specifier allows, and base and dev must agree.
`--inputs-only` needs nothing but the standard library (scripts/bootstrap.sh runs it before installing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON_VERSION = "3.11"
REFRESH_HINT = "run scripts/lock.sh to refresh the locks (docs/development.md)"
INPUTS_PREFIX = "# inputs sha256: "
COMMAND_PREFIX = "# uv pip compile "
# a pin starts its line: `name==version`, then maybe `; marker` and the --hash lines (comments and hashes are indented)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


@dataclass(frozen=True)
class Flavour:
    """One way to install etl-cli, and the lock that pins it."""

    name: str
    extras: tuple[str, ...]
    constrained_by: str | None = None

    @property
    def lock(self) -> str:
        return f"requirements/{self.name}.txt"

    def compile_options(self) -> list[str]:
        """The `uv pip compile` arguments; part of the recorded inputs, so changing them means re-locking."""
        options = ["pyproject.toml", "--universal", "--python-version", PYTHON_VERSION, "--generate-hashes"]
        for extra in self.extras:
            options += ["--extra", extra]
        if self.constrained_by:
            options += ["--constraint", f"requirements/{self.constrained_by}.txt"]
        return [*options, "--output-file", self.lock]


FLAVOURS = (Flavour("base", ()), Flavour("dev", ("dev",), constrained_by="base"))


@dataclass(frozen=True)
class Pin:
    """One `name==version` line of a lock (a universal lock may pin a name twice, under different markers)."""

    name: str
    version: str


def canonical(name: str) -> str:
    """PEP 503 normalisation: `PyYAML`, `pyyaml` and `py_yaml` name one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def load_project(root: Path) -> dict[str, Any]:
    with (root / "pyproject.toml").open("rb") as handle:
        project: dict[str, Any] = tomllib.load(handle)["project"]
    return project


def inputs_digest(project: dict[str, Any], flavour: Flavour) -> str:
    """The sha256 of everything a lock is compiled from, as recorded in its header."""
    inputs = {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "compile": flavour.compile_options(),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def header(project: dict[str, Any], flavour: Flavour, uv_version: str) -> str:
    """The comment lines a lock starts with: what it is for, its inputs digest, and how it was compiled."""
    what = "etl-cli with no extras" if not flavour.extras else f"etl-cli[{','.join(flavour.extras)}]"
    return (
        f"# {flavour.lock}: every distribution of {what}, at exact versions with hashes.\n"
        "# Written by scripts/lock.sh; scripts/test.sh fails when it no longer matches pyproject.toml.\n"
        f"{INPUTS_PREFIX}{inputs_digest(project, flavour)}\n"
        f"{COMMAND_PREFIX}{' '.join(flavour.compile_options())}  ({uv_version})\n"
    )


def read_pins(lock: Path) -> list[Pin]:
    """Every `name==version` of a lock, names canonical."""
    pins = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            pins.append(Pin(canonical(match.group(1)), match.group(2)))
    return pins


def recorded_digest(lock: Path) -> str | None:
    """The inputs digest written into the lock's header, if it has one."""
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(INPUTS_PREFIX):
            return line.removeprefix(INPUTS_PREFIX).strip()
    return None


def check_inputs(root: Path, project: dict[str, Any], flavour: Flavour) -> list[str]:
    """Problems with the lock file itself: missing, or compiled from other inputs than pyproject.toml has now."""
    lock = root / flavour.lock
    if not lock.is_file():
        return [f"{flavour.lock} is missing"]
    recorded = recorded_digest(lock)
    if recorded is None:
        return [f"{flavour.lock} has no '{INPUTS_PREFIX.strip()}' line: it was not written by scripts/lock.sh"]
    if recorded != inputs_digest(project, flavour):
        return [
            f"{flavour.lock} was compiled from other inputs: pyproject.toml's dependencies, optional dependencies "
            "or requires-python, or the compile options, changed since"
        ]
    return []


def direct_requirements(project: dict[str, Any], extras: tuple[str, ...]) -> list[Any]:
    """The requirements pyproject.toml lists for an install with these extras (self-references expanded)."""
    from packaging.requirements import Requirement  # the dev extra has it; --inputs-only runs without it

    found = [Requirement(text) for text in project.get("dependencies", [])]
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in project.get("optional-dependencies", {}).get(extra, []):
            requirement = Requirement(text)
            if canonical(requirement.name) == canonical(project["name"]):
                pending.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


def check_pins(root: Path, project: dict[str, Any], flavour: Flavour) -> list[str]:
    """Every direct requirement is in the lock, and every pin of it satisfies pyproject's specifier."""
    pins = read_pins(root / flavour.lock)
    problems = []
    for requirement in direct_requirements(project, flavour.extras):
        versions = [pin.version for pin in pins if pin.name == canonical(requirement.name)]
        if not versions:
            problems.append(f"{flavour.lock} has no pin for {requirement}, which pyproject.toml requires")
        for version in versions:
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(
                    f"{flavour.lock} pins {requirement.name}=={version}, outside pyproject.toml's {requirement}"
                )
    return problems


def check_agreement(root: Path, flavour: Flavour) -> list[str]:
    """A flavour compiled with another lock as constraints pins every shared distribution at the same version."""
    if flavour.constrained_by is None:
        return []
    other = next(f for f in FLAVOURS if f.name == flavour.constrained_by)
    if not (root / other.lock).is_file():
        return []  # reported as missing already
    allowed: dict[str, set[str]] = {}
    for pin in read_pins(root / other.lock):
        allowed.setdefault(pin.name, set()).add(pin.version)
    return [
        f"{flavour.lock} pins {pin.name}=={pin.version}, {other.lock} {' or '.join(sorted(allowed[pin.name]))}"
        for pin in read_pins(root / flavour.lock)
        if pin.name in allowed and pin.version not in allowed[pin.name]
    ]


def check(root: Path, inputs_only: bool) -> list[str]:
    """Every problem of every lock of the project in ``root``; an empty list when they all match."""
    project = load_project(root)
    problems = []
    for flavour in FLAVOURS:
        problems += check_inputs(root, project, flavour)
        if not inputs_only and (root / flavour.lock).is_file():
            problems += check_pins(root, project, flavour) + check_agreement(root, flavour)
    return problems


def find_uv() -> str:
    """The uv next to this Python (the one the dev lock pins), else the first on PATH."""
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if not found:
        sys.exit("error: uv is not installed: run scripts/bootstrap.sh dev (or pip install uv)")
    return found


def refresh(root: Path, uv_options: list[str]) -> None:
    """Compile every flavour in order (base first: it constrains dev), then stamp each lock with its inputs."""
    uv = find_uv()
    uv_version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True).stdout.split(" (")[0]
    project = load_project(root)
    (root / "requirements").mkdir(exist_ok=True)
    for flavour in FLAVOURS:
        command = [uv, "pip", "compile", "--quiet", "--no-header", *flavour.compile_options(), *uv_options]
        subprocess.run(command, cwd=root, check=True)
        lock = root / flavour.lock
        lock.write_text(header(project, flavour, uv_version) + lock.read_text(encoding="utf-8"), encoding="utf-8")
        print(f"wrote {flavour.lock} ({len(read_pins(lock))} pins)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    refresh_parser = commands.add_parser("refresh", help="rewrite every lock (needs uv and the network)")
    refresh_parser.add_argument("uv_options", nargs=argparse.REMAINDER, help="e.g. --upgrade, --upgrade-package X")
    check_parser = commands.add_parser("check", help="exit 1 when a lock no longer matches pyproject.toml")
    check_parser.add_argument("--root", type=Path, default=ROOT, help="the project folder (default: this clone)")
    check_parser.add_argument("--inputs-only", action="store_true", help="compare only the recorded inputs")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        refresh(ROOT, args.uv_options)
        return 0
    problems = check(args.root, args.inputs_only)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"  {REFRESH_HINT}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
