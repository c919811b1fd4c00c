"""Benchmark 6 — CLI responsiveness: cold wall time and peak memory of everyday commands.

Every run is a fresh ``etl-cli`` process (nothing cached in memory between runs, as when a
person or CI types the command), measured from launch to exit; peak memory is the RSS of
the whole process tree. Commands:

- ``etl-cli --help``
- ``etl-cli validate`` of the quickstart, and of every pipeline in the repository at once
  (the broken-pipeline test corpus included, so that run reports errors by design)
- ``etl-cli validate`` of a generated 200-stage pipeline (:mod:`benchmarks.large_pipeline`)
- ``etl-cli dry-run`` of the quickstart, once the CLI has that command
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.large_pipeline import write_large_pipeline
from benchmarks.measure import CommandRun, run_command, summary

REPO = Path(__file__).resolve().parents[1]
VALIDATE_MAX_S = 0.5
VALIDATE_MAX_MB = 100.0
DRY_RUN_MAX_S = 6.0
#: folders whose pipeline.yaml files are not the repository's pipelines (generated data, scratch output)
_NOT_PIPELINES = ("benchmarks/data", "output")


@dataclass(frozen=True)
class Command:
    """One command line to time, with what it should achieve."""

    label: str
    args: tuple[str, ...]
    max_wall_s: float | None = None
    max_rss_mb: float | None = None
    #: exit codes that mean the command did its job (validate of broken pipelines exits 1)
    ok_codes: tuple[int, ...] = (0,)
    note: str = ""


def etl_cli_executable() -> list[str]:
    """The installed ``etl-cli`` script next to this Python, else ``python -m etl_cli``."""
    script = Path(sys.executable).with_name("etl-cli")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "etl_cli"]


def repository_pipelines() -> list[Path]:
    """Every pipeline.yaml in the repository, outside hidden folders and generated data."""
    found = []
    for path in sorted(REPO.rglob("pipeline.yaml")):
        relative = path.relative_to(REPO)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if any(relative.as_posix().startswith(prefix + "/") for prefix in _NOT_PIPELINES):
            continue
        found.append(relative)
    return found


def has_dry_run(help_text: str) -> bool:
    """Whether ``etl-cli --help`` lists a ``dry-run`` command."""
    return re.search(r"^\s+dry-run\s", help_text, flags=re.MULTILINE) is not None


def commands(work: Path, dry_run: bool) -> list[Command]:
    pipelines = [str(p) for p in repository_pipelines()]
    large = write_large_pipeline(work / "cli" / "pipeline_200_stages")
    found = [
        Command("etl-cli --help", ("--help",)),
        Command(
            "validate quickstart",
            ("validate", "pipelines/quickstart"),
            max_wall_s=VALIDATE_MAX_S,
            max_rss_mb=VALIDATE_MAX_MB,
        ),
        Command(
            f"validate every pipeline in the repository ({len(pipelines)})",
            ("validate", "--format", "json", *pipelines),
            max_wall_s=VALIDATE_MAX_S,
            max_rss_mb=VALIDATE_MAX_MB,
            ok_codes=(0, 1),
            note="includes the broken-pipeline test corpus, so errors are expected",
        ),
        Command(
            "validate generated 200-stage pipeline",
            ("validate", str(large)),
            max_wall_s=VALIDATE_MAX_S,
            max_rss_mb=VALIDATE_MAX_MB,
        ),
    ]
    if dry_run:
        found.append(Command("dry-run quickstart", ("dry-run", "pipelines/quickstart"), max_wall_s=DRY_RUN_MAX_S))
    return found


def _environment(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"NO_COLOR": "1", "ETL_STATE_DIR": str(work / "cli" / "state")})
    return env


def _case(command: Command, runs: Sequence[CommandRun]) -> dict[str, Any]:
    wall = summary([r.sample.wall_s for r in runs])
    rss = summary([r.sample.peak_rss_mb for r in runs])
    assert wall is not None
    codes = sorted({r.returncode for r in runs})
    ok = all(code in command.ok_codes for code in codes)
    targets: dict[str, Any] = {}
    if command.max_wall_s is not None:
        targets["max_wall_s"] = command.max_wall_s
        targets["wall_met"] = ok and wall["median"] < command.max_wall_s
    if command.max_rss_mb is not None and rss is not None:
        targets["max_rss_mb"] = command.max_rss_mb
        targets["rss_met"] = ok and rss["max"] < command.max_rss_mb
    case: dict[str, Any] = {
        "label": command.label,
        "argv": ["etl-cli", *command.args[:3], *(["..."] if len(command.args) > 3 else [])],
        "exit_codes": codes,
        "ok": ok,
        "wall_s": wall,
        "cpu_s": summary([r.sample.cpu_s for r in runs]),
        "peak_rss_mb": rss,
        "targets": targets,
    }
    if command.note:
        case["note"] = command.note
    if not case["ok"]:
        case["stderr_tail"] = runs[-1].stderr.strip().splitlines()[-5:]
    if command.args[:3] == ("validate", "--format", "json") and runs[-1].stdout.strip():
        case["pipelines_with_errors"] = _invalid_count(runs[-1].stdout)
    return case


def _invalid_count(stdout: str) -> int | None:
    try:
        document = json.loads(stdout)
    except ValueError:
        return None
    reports = document.get("results") if isinstance(document, dict) else None
    if not isinstance(reports, list):
        return None
    return sum(1 for r in reports if isinstance(r, dict) and not r.get("ok", True))


def run_cli(work: Path, repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Time every command ``repeat`` times, each in a fresh process."""
    executable = etl_cli_executable()
    env = _environment(work)
    help_run = run_command([*executable, "--help"], REPO, env)
    dry_run = has_dry_run(help_run.stdout)
    cases = []
    for command in commands(work, dry_run):
        runs = [run_command([*executable, *command.args], REPO, env) for _ in range(repeat)]
        case = _case(command, runs)
        log(f"  {command.label}: median {case['wall_s']['median']:.3f} s, exit {case['exit_codes']}")
        cases.append(case)
    result: dict[str, Any] = {
        "name": "cli",
        "title": "CLI responsiveness (cold start, fresh process each run)",
        "kind": "cli",
        "status": "ok",
        "cases": cases,
    }
    if not dry_run:
        result["pending"] = ["dry-run quickstart: `etl-cli dry-run` is not available yet (not in `etl-cli --help`)"]
    return result
