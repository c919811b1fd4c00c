"""Where a test run's time goes: the slowest modules (setup, call and teardown summed), after the slowest tests.

pytest's ``--durations`` names single phases of single tests; the CI time budget is spent module by module
(a module's fixtures start services and run pipelines once for all its tests), so the summary adds them up.
Every test's phases are also written to ``.pytest-durations.json`` (the repository root; ignored by git) for a
closer look: ``python -m tests.timing`` prints the modules and directories from it.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / ".pytest-durations.json"
#: how many modules the terminal summary lists
SHOWN = 20


class Timing:
    """Collects the duration of every phase of every test of this session."""

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, float]] = defaultdict(dict)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.phases[report.nodeid][report.when] = round(report.duration, 3)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.phases:
            return
        REPORT.write_text(json.dumps(self.phases, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        modules = by_module(self.phases)
        total = sum(modules.values())
        terminalreporter.write_sep("=", f"slowest {min(SHOWN, len(modules))} modules (of {total / 60:.1f} min)")
        for module, seconds in sorted(modules.items(), key=lambda item: -item[1])[:SHOWN]:
            share = 100 * seconds / total if total else 0.0
            terminalreporter.write_line(f"{seconds:8.1f}s {share:5.1f}%  {module}")
        terminalreporter.write_line(f"every test's phases: {REPORT.relative_to(REPO)} (python -m tests.timing)")


def by_module(phases: dict[str, dict[str, float]]) -> dict[str, float]:
    """Seconds per test module, every phase of every test of it."""
    modules: dict[str, float] = defaultdict(float)
    for nodeid, times in phases.items():
        modules[nodeid.split("::", 1)[0]] += sum(times.values())
    return dict(modules)


def by_directory(phases: dict[str, dict[str, float]]) -> dict[str, float]:
    """Seconds per test directory."""
    directories: dict[str, float] = defaultdict(float)
    for module, seconds in by_module(phases).items():
        directories[str(Path(module).parent)] += seconds
    return dict(directories)


def main() -> int:
    if not REPORT.is_file():
        print(f"no {REPORT.name}: run pytest first", file=sys.stderr)
        return 1
    phases = json.loads(REPORT.read_text(encoding="utf-8"))
    for title, table in (("directories", by_directory(phases)), ("modules", by_module(phases))):
        print(f"{title}:")
        for name, seconds in sorted(table.items(), key=lambda item: -item[1]):
            print(f"{seconds:8.1f}s  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
