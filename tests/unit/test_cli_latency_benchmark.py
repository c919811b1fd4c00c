"""Benchmark 8 (benchmarks/cli_latency.py) reads ``-X importtime`` right and reports each command beside its goal.

Nothing here looks at a time: the suite's smoke run (tests/spark/test_benchmarks_quick.py) runs
the benchmark; these tests check how it reads and reports what it measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.cli_latency import by_package, parse_importtime, table

REPO = Path(__file__).resolve().parents[2]

IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       120 |        120 |     typer.colors
import time:      2000 |       2120 |   typer
import time:      1500 |       1500 |     etl_cli.model.check
import time:       500 |       2000 |   etl_cli.app
import time:       300 |       4420 | etl_cli.cli.main
some other line on stderr
"""


def test_each_module_is_read_with_its_own_milliseconds() -> None:
    assert parse_importtime(IMPORTTIME) == {
        "typer.colors": 0.12,
        "typer": 2.0,
        "etl_cli.model.check": 1.5,
        "etl_cli.app": 0.5,
        "etl_cli.cli.main": 0.3,
    }


def test_time_is_counted_per_package_and_per_etl_cli_sub_package() -> None:
    assert by_package(parse_importtime(IMPORTTIME)) == {
        "typer": 2.12,
        "etl_cli.model": 1.5,
        "etl_cli.app": 0.5,
        "etl_cli.cli": 0.3,
    }


def test_the_table_puts_each_command_beside_its_goal() -> None:
    case = {
        "argv": ["etl-cli", "--help"],
        "wall_s": {"median": 0.081, "min": 0.07, "max": 0.2, "n": 10},
        "max_wall_s": 0.15,
        "met": True,
        "imports": {"total_ms": 61.0, "top": [{"package": "typer", "ms": 24.6}, {"package": "re", "ms": 3.2}]},
    }
    lines = table({"cases": [case, {**case, "met": False}]})
    assert lines[2] == "| `etl-cli --help` | 0.081 [0.070-0.200] | 10 | < 0.15 s | yes | all 61: typer 25, re 3 |"
    assert lines[3].split(" | ")[4] == "**no**"


def test_the_benchmark_runs_alone_and_in_the_suite(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "cli_latency", "--repeat", "1", "--out", str(tmp_path),
         "--data-dir", str(tmp_path / "data")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    [bench] = json.loads((tmp_path / "latest.json").read_text())["benchmarks"]
    assert [(c["argv"], c["max_wall_s"], c["exit_codes"]) for c in bench["cases"]] == [
        (["etl-cli", "--help"], 0.15, [0]),
        (["etl-cli", "validate", "pipelines/quickstart"], 0.3, [0]),
    ]
    assert "## CLI latency: --help and validate against their goals" in (tmp_path / "latest.md").read_text()
