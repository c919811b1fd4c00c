"""``etl-cli backfill`` end to end: real child runs (one JVM each) of pipelines/daily_partitioned, copied.

The example's CSV has events on 2026-01-01..08; the backfill builds 02..05, one partition ``ds=<day>``
each (the 2nd ends with an event at 23:59:59, the 3rd starts with one at 00:00:00). First the day
2026-01-04 has not "arrived" (its one event is taken out of the CSV): its run fails the pipeline's
row_count check (exit 3) and the other three publish. With the event back, ``--resume`` runs that day
alone. A second backfill of two of the days then leaves every partition's rows as they were. Every child
run starts a JVM, so the intervals are few.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.unit.helpers import make_project

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "pipelines/daily_partitioned"
OUTPUT = Path("output/daily_partitioned/daily_counts")
#: the only event of 2026-01-04 in the example's data/events.csv
DAY_4_EVENT = "9,2026-01-04T06:00:00,NO,102,15.00\n"

#: (country, events, buyers, amount) per day, counted by hand from pipelines/daily_partitioned/data/events.csv
EXPECTED = {
    "2026-01-02": {("SE", 2, 2, Decimal("10.00"))},  # 23:59:59 is still the 2nd
    "2026-01-03": {("NO", 2, 2, Decimal("30.10")), ("DK", 1, 1, Decimal("9.90"))},  # 00:00:00 is the 3rd
    "2026-01-04": {("NO", 1, 1, Decimal("15.00"))},
    "2026-01-05": {("SE", 2, 1, Decimal("12.00")), ("DK", 1, 1, Decimal("40.00"))},
}


def backfill(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "etl_cli", "backfill", EXAMPLE, *args],
        cwd=root,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )


def record_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    (path,) = re.findall(r"^backfill record: (.+)$", result.stderr, re.MULTILINE)
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def partitions(root: Path) -> dict[str, set[tuple[str, int, int, Decimal]]]:
    """The rows of each ``ds=`` partition, as a set (file names change with each run, rows must not)."""
    found = {}
    for folder in sorted((root / OUTPUT).glob("ds=*")):
        table = pq.read_table(folder).to_pylist()
        found[folder.name[3:]] = {(r["country"], r["events"], r["buyers"], r["amount"]) for r in table}
    return found


def leftovers(root: Path) -> list[str]:
    """Staging or replaced folders a publish left next to the output (there must be none)."""
    return sorted(p.name for p in (root / OUTPUT).parent.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A copy of the example without 2026-01-04's event, backfilled 2026-01-02..05."""
    root = make_project(tmp_path_factory.mktemp("backfill"), project="name: backfill-test\n")
    shutil.copytree(REPO / EXAMPLE, root / EXAMPLE)
    events = root / EXAMPLE / "data" / "events.csv"
    text = events.read_text()
    assert DAY_4_EVENT in text
    events.write_text(text.replace(DAY_4_EVENT, ""))
    return root, backfill(root, "--from", "2026-01-02", "--to", "2026-01-05")


def test_a_day_without_data_fails_alone_and_the_three_others_publish(
    week: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = week
    assert result.returncode == 3, result.stderr
    record = record_of(result)
    assert [(i["start"], i["status"], i["exit_code"]) for i in record["intervals"]] == [
        (f"2026-01-0{day}", "failed" if day == 4 else "succeeded", 3 if day == 4 else 0) for day in range(2, 6)
    ]
    assert partitions(root) == {day: rows for day, rows in EXPECTED.items() if day != "2026-01-04"}
    assert "done 3, failed 1, remaining 0" in result.stderr
    assert f"--resume {record['backfill_id']}" in result.stderr


def test_each_run_got_its_day_and_says_so_in_its_results(week: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, result = week
    for interval in record_of(result)["intervals"]:
        results = json.loads(Path(interval["results_file"]).read_text())
        assert results["run_id"] == interval["run_id"]
        assert results["params"] == {"ds": {"value": interval["start"], "type": "date", "source": "--param"}}


def test_resume_runs_only_the_failed_day_then_every_day_is_complete(
    week: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = week
    first = record_of(result)
    events = root / EXAMPLE / "data" / "events.csv"
    events.write_text(events.read_text() + DAY_4_EVENT)  # the late day arrives
    resumed = backfill(root, "--resume", first["backfill_id"])
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.count("started   ") == 1
    record = record_of(resumed)
    assert record["backfill_id"] == first["backfill_id"]
    before = {i["start"]: i["run_id"] for i in first["intervals"]}
    after = {i["start"]: i for i in record["intervals"]}
    assert [day for day in before if after[day]["run_id"] != before[day]] == ["2026-01-04"]
    assert after["2026-01-04"]["earlier_run_ids"] == [before["2026-01-04"]]
    assert (record["status"], record["exit_code"]) == ("succeeded", 0)
    assert partitions(root) == EXPECTED


def test_backfilling_days_again_changes_no_row(week: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = week
    before = partitions(root)
    assert before == EXPECTED, "runs after the resume test"
    again = backfill(root, "--from", "2026-01-03", "--to", "2026-01-04")
    assert again.returncode == 0, again.stderr
    assert [(i["start"], i["status"]) for i in record_of(again)["intervals"]] == [
        ("2026-01-03", "succeeded"),
        ("2026-01-04", "succeeded"),
    ]
    assert partitions(root) == before
    assert (root / OUTPUT / "_ETL_CLI").is_file()
    assert leftovers(root) == []
