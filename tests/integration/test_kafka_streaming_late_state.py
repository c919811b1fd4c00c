"""Late records of a session window, a deduplicate and a join of two streams go to the dead-letter queue,
from the real Kafka broker through ``etl-cli run`` (docs/streaming.md, Late records).

One pipeline with the three stages (three sink queries, each with its own watermark) and two bounded
runs on one checkpoint: on-time clicks and views; then late ones mixed with on-time ones and a pair far
ahead that closes every session. What is late is computed here, by Spark's rule, from the event times
(each query judges a micro-batch against the watermark of the one before, which is, in the second run,
the latest event time of the first run minus the delay, the minimum over both topics for the join): a
session window's row when its own session (event time + gap) ends at or before it, a deduplicate's and
each side of a join's when its event time is at or before it. Some clicks sit exactly on a boundary, and
some are late for one stage but not for another.
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
DELAY, GAP, WITHIN = timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=10)

PIPELINE = """\
name: late_state
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2, spark.sql.session.timeZone: UTC}}}}
streaming: {{checkpoint_location: ck, trigger: {{available_now: true}}}}
sources:
  - name: clicks
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {clicks}
    starting_offsets: earliest
    schema: "click_id BIGINT, ad_id BIGINT, user_id STRING, click_time TIMESTAMP"
    watermark: {{column: click_time, delay: 5 seconds}}
  - name: views
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {views}
    starting_offsets: earliest
    schema: "ad_id BIGINT, view_time TIMESTAMP"
    watermark: {{column: view_time, delay: 5 seconds}}
transforms:
  - name: sessions
    type: aggregate
    inputs: [clicks]
    window: {{column: click_time, gap: 10 seconds}}
    group_by: [user_id]
    aggregations: {{clicks: {{function: count}}}}
  - name: unique_clicks
    type: deduplicate
    inputs: [clicks]
    keys: [click_id]
    within_watermark: true
  - name: matched
    type: join
    inputs: [clicks, views]
    on: [ad_id]
    within: {{left: click_time, right: view_time, lower: "-10 seconds", upper: "0 seconds"}}
sinks:
  - {{name: sessions_out, type: json, input: sessions, path: out/sessions}}
  - {{name: unique_out, type: json, input: unique_clicks, path: out/unique}}
  - {{name: matched_out, type: json, input: matched, path: out/matched}}
dead_letter: {{type: json, path: dlq}}
"""

Click = tuple[int, int, str, int]  # click_id, ad_id, user_id, seconds after START
View = tuple[int, int]  # ad_id, seconds after START

ON_TIME_CLICKS: list[Click] = [(1, 1, "u1", 10), (2, 2, "u2", 20), (3, 1, "u3", 40), (4, 3, "u4", 60)]
ON_TIME_VIEWS: list[View] = [(1, 5), (2, 15), (1, 35), (3, 50)]
# second run: clicks 10..13 late for some stages (45 and 55 on a boundary), 14 (twice) and 15 on time;
# views at 40 and 45 late for the join, 65 on time; the pair at 300 closes every session before it
MIXED_CLICKS: list[Click] = [
    (10, 9, "u10", 30),
    (14, 9, "u14", 56),
    (11, 9, "u11", 45),
    (12, 9, "u12", 50),
    (15, 4, "u1", 70),
    (13, 9, "u13", 55),
    (14, 9, "u14", 56),
    (99, 99, "u99", 300),
]
MIXED_VIEWS: list[View] = [(4, 40), (9, 45), (4, 65), (99, 300)]


def at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def click_record(click: Click) -> dict[str, Any]:
    return {"click_id": click[0], "ad_id": click[1], "user_id": click[2], "click_time": at(click[3]).isoformat()}


def view_record(view: View) -> dict[str, Any]:
    return {"ad_id": view[0], "view_time": at(view[1]).isoformat()}


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def run(root: Path) -> dict[str, Any]:
    done = etl_cli("run", "late_state", cwd=root, env={"ETL_STATE_DIR": str(root / "state")}, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "state" / "runs" / "late_state" / "default" / "latest.json").read_text())
    results["_output"] = done.stdout + done.stderr
    return results


def dead_letters(root: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((root / "dlq").rglob("*.json"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def test_late_records_of_sessions_deduplicates_and_stream_joins_land_in_the_dead_letter_queue(
    tmp_path: Path,
) -> None:
    bootstrap, clicks_topic, views_topic = kafka_bootstrap(), new_topic("late-clicks"), new_topic("late-views")
    write(tmp_path, "etl-project.yaml", "name: late_state\n")
    write(
        tmp_path,
        "late_state/pipeline.yaml",
        PIPELINE.format(bootstrap=bootstrap, clicks=clicks_topic, views=views_topic),
    )

    produce_json(bootstrap, clicks_topic, [click_record(c) for c in ON_TIME_CLICKS], key="click_id")
    produce_json(bootstrap, views_topic, [view_record(v) for v in ON_TIME_VIEWS], key="ad_id")
    first = run(tmp_path)
    assert dead_letters(tmp_path) == []
    assert (first["dead_letters"] or {}).get("rows", 0) == 0

    produce_json(bootstrap, clicks_topic, [click_record(c) for c in MIXED_CLICKS], key="click_id")
    produce_json(bootstrap, views_topic, [view_record(v) for v in MIXED_VIEWS], key="ad_id")
    second = run(tmp_path)

    # the watermark the second run's micro-batch is judged against, per query
    clicks_mark = at(max(c[3] for c in ON_TIME_CLICKS)) - DELAY
    join_mark = min(clicks_mark, at(max(v[1] for v in ON_TIME_VIEWS)) - DELAY)
    late_session = [c for c in MIXED_CLICKS if at(c[3]) + GAP <= clicks_mark]
    late_unique = [c for c in MIXED_CLICKS if at(c[3]) <= clicks_mark]
    late_join_clicks = [c for c in MIXED_CLICKS if at(c[3]) <= join_mark]
    late_views = [v for v in MIXED_VIEWS if at(v[1]) <= join_mark]
    assert ([c[0] for c in late_session], [c[0] for c in late_unique]) == ([10, 11], [10, 11, 12, 13])
    assert ([c[0] for c in late_join_clicks], late_views) == ([10, 11], [(4, 40), (9, 45)])

    letters = dead_letters(tmp_path)
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for letter in letters:
        assert (letter["kind"], letter.get("check")) == ("late", None)
        by_stage.setdefault(letter["stage"], []).append(letter)

    def identity(record: dict[str, Any]) -> tuple[Any, ...]:
        """(click id or None, ad, seconds after START) of a produced record or a dead letter's row."""
        moment = record[_time_key(record)]
        moment = iso(moment) if moment.endswith("Z") or "+" in moment else datetime.fromisoformat(moment)
        return (record.get("click_id"), record["ad_id"], int((moment - START).total_seconds()))

    found_rows = {
        stage: sorted((identity(json.loads(d["row"])) for d in found), key=str) for stage, found in by_stage.items()
    }
    assert found_rows == {
        "sessions": sorted((identity(click_record(c)) for c in late_session), key=str),
        "unique_clicks": sorted((identity(click_record(c)) for c in late_unique), key=str),
        "matched": sorted(
            [identity(click_record(c)) for c in late_join_clicks] + [identity(view_record(v)) for v in late_views],
            key=str,
        ),
    }

    # each reason: the event time, a session's end, the watermark the row was judged against
    marks = {"sessions": clicks_mark, "unique_clicks": clicks_mark, "matched": join_mark}
    sinks = {"sessions": "sessions_out", "unique_clicks": "unique_out", "matched": "matched_out"}
    for stage, found in by_stage.items():
        for letter in found:
            row = json.loads(letter["row"])
            event_time = iso(row[_time_key(row)])
            session = r"its session \(gap 10 seconds\) ended (\S+), " if stage == "sessions" else ""
            match = re.match(
                rf"late record: event time (\S+), {session}at or before the watermark (\S+) "
                rf"\(micro-batch \d+ of query '{sinks[stage]}'\)$",
                letter["reason"],
            )
            assert match, letter["reason"]
            assert iso(match.group(1)) == event_time
            assert iso(match.group(match.lastindex or 0)) == marks[stage]
            if stage == "sessions":
                assert iso(match.group(2)) == event_time + GAP

    # run results: by stage and kind, per query; Spark's own count of dropped rows agrees
    summary = second["dead_letters"]
    counts = {"sessions": 2, "unique_clicks": 4, "matched": 4}
    assert summary["by_stage"] == {stage: {"late": n} for stage, n in counts.items()}
    assert summary["rows"] == sum(counts.values()) and summary["written"] is True
    assert summary["late"]["by_stage"] == {stage: {sinks[stage]: n} for stage, n in counts.items()}
    assert summary["late"]["dropped_by_spark"] == {sinks[stage]: n for stage, n in counts.items()}
    assert (summary["late"]["not_written"], summary["late"]["micro_batches_missed"]) == (0, 0)
    assert "not dead-lettered" not in second["_output"] and "was not seen" not in second["_output"]
    assert "late records: 10 sent to the dead-letter queue" in second["_output"]

    # on-time records reach the sinks; every produced click is in a sink or the queue, per stage
    clicks = ON_TIME_CLICKS + MIXED_CLICKS
    kept_sessions = [c for c in clicks if c not in late_session and c[0] != 99]
    expected_sessions = Counter((c[2], at(c[3]), at(c[3]) + GAP) for c in kept_sessions)  # users' clicks > GAP apart
    written_sessions: Counter[tuple[str, datetime, datetime]] = Counter()
    for row in committed_json_rows(tmp_path / "out" / "sessions"):
        written_sessions[(row["user_id"], iso(row["window_start"]), iso(row["window_end"]))] += row["clicks"]
    assert written_sessions == expected_sessions
    assert sum(written_sessions.values()) + len(late_session) + 1 == len(clicks)  # + the session still open

    unique = sorted(r["click_id"] for r in committed_json_rows(tmp_path / "out" / "unique"))
    assert unique == sorted({c[0] for c in clicks if c not in late_unique})
    assert len(unique) + len(late_unique) + 1 == len(clicks)  # + click 14's duplicate

    views = ON_TIME_VIEWS + MIXED_VIEWS
    expected_matches = Counter(
        (c[0], v[1])
        for c in clicks
        if c not in late_join_clicks
        for v in views
        if v not in late_views and v[0] == c[1] and at(c[3]) - WITHIN <= at(v[1]) <= at(c[3])
    )
    written_matches = Counter(
        (r["click_id"], int((iso(r["view_time"]) - START).total_seconds()))
        for r in committed_json_rows(tmp_path / "out" / "matched")
    )
    assert written_matches == expected_matches and len(expected_matches) == 6


def _time_key(record: dict[str, Any]) -> str:
    return "click_time" if "click_time" in record else "view_time"
