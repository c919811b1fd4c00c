"""Late records of a windowed aggregate go to the dead-letter queue, from the real Kafka broker through
``etl-cli run`` (docs/streaming.md, Late records).

Four bounded runs of one pipeline (10-second windows, a 5-second watermark delay) on one topic and
checkpoint: on-time clicks; a click that moves the watermark on; late clicks mixed with on-time ones;
a click far ahead that closes every window before it. What is late is computed here from the event times
(a window ending at or before the watermark of the previous micro-batch, which is at least the latest event
time of the first run minus the delay), not read back from etl-cli.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.clihelp import etl_cli
from tests.integration.kafkahelp import committed_json_rows, kafka_bootstrap, new_topic, produce_json
from tests.unit.helpers import write

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 1, 10, 0, 0)
WINDOW_S, DELAY_S = 10, 5

PIPELINE = """\
name: late_clicks
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2}}}}
streaming: {{checkpoint_location: ck, trigger: {{available_now: true}}}}
sources:
  - name: clicks
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {topic}
    starting_offsets: earliest
    schema: "click_id BIGINT, page STRING, event_time TIMESTAMP"
    watermark: {{column: event_time, delay: {delay} seconds}}
transforms:
  - name: per_window
    type: aggregate
    inputs: [clicks]
    window: {{column: event_time, duration: {window} seconds}}
    group_by: [page]
    aggregations: {{clicks: {{function: count}}}}
sinks:
  - {{name: per_window_out, type: json, input: per_window, path: out}}
dead_letter: {{type: json, path: dlq}}
"""


def clicks(first_id: int, seconds: list[int]) -> list[dict[str, Any]]:
    return [
        {"click_id": first_id + n, "page": "home", "event_time": (START + timedelta(seconds=s)).isoformat()}
        for n, s in enumerate(seconds)
    ]


def at(click: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(click["event_time"])


def window_end(moment: datetime) -> datetime:
    offset = int((moment - START).total_seconds()) // WINDOW_S * WINDOW_S
    return START + timedelta(seconds=offset + WINDOW_S)


def run(root: Path) -> dict[str, Any]:
    done = etl_cli("run", "late_clicks", cwd=root, env={"ETL_STATE_DIR": str(root / "state")}, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "state" / "runs" / "late_clicks" / "default" / "latest.json").read_text())
    results["_output"] = done.stdout + done.stderr
    return results


def dead_letters(root: Path) -> list[dict[str, Any]]:
    """Every dead letter of the file queue, with the run id of its ``run_id=<id>`` folder."""
    files = sorted((root / "dlq").rglob("*.json"))
    return [
        {**json.loads(line), "run_id": path.parent.name.removeprefix("run_id=")}
        for path in files
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def test_late_records_land_in_the_dead_letter_queue_and_the_counts_add_up(tmp_path: Path) -> None:
    bootstrap, topic = kafka_bootstrap(), new_topic("late")
    write(tmp_path, "etl-project.yaml", "name: late_clicks\n")
    write(
        tmp_path,
        "late_clicks/pipeline.yaml",
        PIPELINE.format(bootstrap=bootstrap, topic=topic, delay=DELAY_S, window=WINDOW_S),
    )

    on_time = clicks(1, [1, 4, 9, 12, 18, 25, 31, 38, 44, 47, 52, 58, 63])  # latest 63 s: watermark 58 s
    produce_json(bootstrap, topic, on_time, key="click_id")
    first = run(tmp_path)
    assert dead_letters(tmp_path) == []
    assert (first["dead_letters"] or {}).get("rows", 0) == 0

    advance = clicks(100, [70])  # the watermark moves on to 65 s (at the latest)
    produce_json(bootstrap, topic, advance, key="click_id")
    run(tmp_path)

    # one late click per closed window (each its own window: Spark's count of dropped rows is per window),
    # and on-time clicks in the same records
    late = clicks(200, [3, 12, 27, 35, 41])
    fresh = clicks(300, [71, 75])
    mixed = [late[0], fresh[0], late[1], late[2], fresh[1], late[3], late[4]]
    produce_json(bootstrap, topic, mixed, key="click_id")
    third = run(tmp_path)

    flush = clicks(400, [200])  # closes every window before 195 s
    produce_json(bootstrap, topic, flush, key="click_id")
    run(tmp_path)

    # what is late, independently: a window that ended at or before the watermark of the previous
    # micro-batch, which is between (latest of the first run - delay) and (latest of the second - delay)
    lowest_watermark = max(map(at, on_time)) - timedelta(seconds=DELAY_S)
    highest_watermark = max(map(at, on_time + advance)) - timedelta(seconds=DELAY_S)
    expected_late = {c["click_id"] for c in mixed if window_end(at(c)) <= lowest_watermark}
    assert not [c for c in mixed if lowest_watermark < window_end(at(c)) <= highest_watermark]  # unambiguous
    assert expected_late == {c["click_id"] for c in late}

    letters = dead_letters(tmp_path)
    assert sorted(json.loads(d["row"])["click_id"] for d in letters) == sorted(expected_late)
    for letter in letters:
        row = json.loads(letter["row"])
        assert (letter["stage"], letter["kind"], letter.get("check")) == ("per_window", "late", None)
        found = re.match(
            r"late record: event time (\S+), its window ended (\S+), at or before the watermark (\S+) "
            r"\(micro-batch \d+ of query 'per_window_out'\)$",
            letter["reason"],
        )
        assert found, letter["reason"]
        event_time, ended, watermark = (iso(found.group(i)) for i in (1, 2, 3))
        assert event_time == datetime.fromisoformat(row["event_time"].replace("Z", "")[:19])
        assert event_time == at(next(c for c in late if c["click_id"] == row["click_id"]))
        assert ended == window_end(event_time)
        assert lowest_watermark <= watermark <= highest_watermark and ended <= watermark
        assert letter["run_id"] == third["run_id"]

    # the run results of the third run: dead letters by stage and kind, and Spark's own count agrees
    summary = third["dead_letters"]
    assert summary["by_stage"] == {"per_window": {"late": len(expected_late)}}
    assert summary["rows"] == len(expected_late) and summary["written"] is True
    assert summary["late"]["by_stage"] == {"per_window": {"per_window_out": len(expected_late)}}
    assert summary["late"]["dropped_by_spark"] == {"per_window_out": len(expected_late)}
    assert (summary["late"]["not_written"], summary["late"]["micro_batches_missed"]) == (0, 0)
    assert "not dead-lettered" not in third["_output"] and "was not seen" not in third["_output"]
    assert f"late records: {len(expected_late)} sent to the dead-letter queue" in third["_output"]

    # on-time clicks reach the sink, each window once; input = sink-contributing + late
    produced = on_time + advance + mixed + flush
    closed = window_end(at(flush[0])) - timedelta(seconds=WINDOW_S) - timedelta(seconds=DELAY_S)
    expected_windows: Counter[str] = Counter()
    for click in produced:
        end = window_end(at(click))
        if click["click_id"] not in expected_late and end <= closed:
            expected_windows[(end - timedelta(seconds=WINDOW_S)).isoformat()] += 1
    written: Counter[str] = Counter()
    for row in committed_json_rows(tmp_path / "out"):
        written[iso(row["window_start"]).isoformat()] += row["clicks"]
    assert written == expected_windows
    still_open = [c for c in produced if window_end(at(c)) > closed]
    assert len(produced) == sum(written.values()) + len(still_open) + len(letters)
