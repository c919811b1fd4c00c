"""Stateful streaming against the real broker: a stream-stream join (inner and left outer, with a time
range), deduplication within the watermark, session windows, sliding windows, and one sink of a
windowed aggregate in update mode beside the others in append (``output_mode`` on the sink).

One ``etl-cli run`` reads two topics; every expected row below is computed here, in plain Python, from
the records the test produced. A last pair of records an hour later moves the watermarks past
everything before it, so the left join's unmatched clicks, the sessions and the windows are final and
written.

Needs the broker of scripts/services.sh (``up kafka``, then ``eval "$(scripts/services.sh env kafka)"``).
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration.kafkahelp import (
    BackgroundRun,
    committed_json_rows,
    committed_parquet_rows,
    kafka_bootstrap,
    new_topic,
    produce_json,
    read_topic,
    wait_until,
)

DAY = datetime(2024, 5, 1, tzinfo=UTC)
GAP = timedelta(minutes=5)
WITHIN = (timedelta(minutes=-10), timedelta(0))  # a view counts for a click when it came up to 10 minutes before

PIPELINE = """
name: ad_clicks
spark: {{master: "local[2]", conf: {{spark.sql.shuffle.partitions: 2, spark.sql.session.timeZone: UTC}}}}
streaming:
  checkpoint_location: {checkpoints}
  trigger: {trigger}
sources:
  - name: clicks
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {clicks_topic}
    schema: {{click_id: BIGINT, ad_id: BIGINT, user_id: STRING, click_time: TIMESTAMP}}
    metadata: []
    watermark: {{column: click_time, delay: 5 minutes}}
  - name: views
    type: kafka
    mode: stream
    bootstrap_servers: {bootstrap}
    topic: {views_topic}
    schema: {{ad_id: BIGINT, view_time: TIMESTAMP}}
    metadata: []
    watermark: {{column: view_time, delay: 5 minutes}}
transforms:
  - name: attributed
    type: join
    inputs: [clicks, views]
    how: left
    on: [ad_id]
    within: {{left: click_time, right: view_time, lower: "-10 minutes", upper: "0 seconds"}}
  - name: viewed
    type: select
    inputs: [views]
    rename: {{ad_id: viewed_ad}}
  - name: matched
    type: join
    inputs: [clicks, viewed]
    condition: "clicks.ad_id = viewed.viewed_ad"
    within: {{left: click_time, right: view_time, lower: "-10 minutes", upper: "0 seconds"}}
  - name: unique_clicks
    type: deduplicate
    inputs: [clicks]
    keys: [click_id]
    within_watermark: true
  - name: sessions
    type: aggregate
    inputs: [clicks]
    window: {{column: click_time, gap: 5 minutes}}
    group_by: [user_id]
    aggregations: {{clicks: {{function: count}}}}
  - name: sliding
    type: aggregate
    inputs: [clicks]
    window: {{column: click_time, duration: 10 minutes, slide: 5 minutes}}
    aggregations: {{clicks: {{function: count}}}}
  - name: sliding_keyed
    type: derive
    inputs: [sliding]
    columns: {{record_key: "date_format(window_start, 'HH:mm')"}}
sinks:
  - {{name: attributed_out, type: parquet, input: attributed, path: {out}/attributed}}
  - {{name: matched_out, type: parquet, input: matched, path: {out}/matched}}
  - {{name: unique_out, type: parquet, input: unique_clicks, path: {out}/unique}}
  - {{name: sessions_out, type: json, input: sessions, path: {out}/sessions}}
  - {{name: sliding_out, type: json, input: sliding, path: {out}/sliding}}
  - name: sliding_live
    type: kafka
    input: sliding_keyed
    bootstrap_servers: {bootstrap}
    topic: {live_topic}
    key_column: record_key
    output_mode: update
"""


def at(hh_mm: str) -> datetime:
    hours, minutes = hh_mm.split(":")
    return DAY + timedelta(hours=int(hours), minutes=int(minutes))


#: (click_id, ad_id, user_id, time); clicks 1 and 4 are produced twice
CLICKS = [
    (1, 1, "u1", "10:03"),
    (2, 2, "u2", "10:20"),
    (3, 3, "u3", "09:45"),
    (4, 4, "u4", "10:10"),
    (5, 1, "u5", "10:25"),
    (6, 1, "u6", "10:05"),
    (7, 1, "u1", "10:06"),
    (8, 5, "u1", "10:20"),
    (1, 1, "u1", "10:03"),
    (4, 4, "u4", "10:10"),
]
#: (ad_id, time)
VIEWS = [(1, "10:00"), (2, "10:05"), (3, "09:40"), (1, "10:20"), (5, "10:21")]
#: an hour later: moves both watermarks past every window, session and join range above
FLUSH_CLICK, FLUSH_VIEW = (999, 999, "flush", "11:30"), (998, "11:30")


def click_record(click: tuple[int, int, str, str]) -> dict[str, Any]:
    click_id, ad_id, user, time = click
    return {"click_id": click_id, "ad_id": ad_id, "user_id": user, "click_time": at(time).isoformat()}


def view_record(view: tuple[int, str]) -> dict[str, Any]:
    return {"ad_id": view[0], "view_time": at(view[1]).isoformat()}


def utc(value: Any) -> datetime:
    """A timestamp as read back (pyarrow datetime, naive in UTC, or JSON text), as an aware UTC datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


JoinRow = tuple[int, int, str, datetime, datetime | None]


def expected_join(how: str) -> Counter[JoinRow]:
    """(ad, click, user, click time, view time) for every click and view of its ad up to 10 minutes before it."""
    rows: Counter[JoinRow] = Counter()
    for click_id, ad_id, user, time in CLICKS:
        clicked = at(time)
        views = [at(t) for ad, t in VIEWS if ad == ad_id and clicked + WITHIN[0] <= at(t) <= clicked + WITHIN[1]]
        for viewed in views:
            rows[(ad_id, click_id, user, clicked, viewed)] += 1
        if not views and how == "left":
            rows[(ad_id, click_id, user, clicked, None)] += 1
    return rows


def written_join(rows: list[dict[str, Any]]) -> Counter[JoinRow]:
    return Counter(
        (
            r["ad_id"],
            r["click_id"],
            r["user_id"],
            utc(r["click_time"]),
            utc(r["view_time"]) if r["view_time"] is not None else None,
        )
        for r in rows
        if r["ad_id"] != FLUSH_CLICK[1]
    )


def expected_sessions() -> Counter[tuple[str, datetime, datetime, int]]:
    """Per user, clicks less than GAP apart in one session: [first click, last click + GAP), with its count."""
    sessions: Counter[tuple[str, datetime, datetime, int]] = Counter()
    for user in {c[2] for c in CLICKS}:
        times = sorted(at(c[3]) for c in CLICKS if c[2] == user)
        start, last, count = times[0], times[0], 1
        for moment in times[1:]:
            if moment < last + GAP:
                last, count = moment, count + 1
                continue
            sessions[(user, start, last + GAP, count)] += 1
            start, last, count = moment, moment, 1
        sessions[(user, start, last + GAP, count)] += 1
    return sessions


def sliding_counts(clicks: list[tuple[int, int, str, str]]) -> dict[datetime, int]:
    """Clicks per 10-minute window starting every 5 minutes (each click in two windows)."""
    counts: Counter[datetime] = Counter()
    for click in clicks:
        moment = at(click[3])
        aligned = moment.replace(minute=moment.minute - moment.minute % 5)
        counts[aligned] += 1
        counts[aligned - timedelta(minutes=5)] += 1
    return dict(counts)


def live_counts(bootstrap: str, topic: str) -> dict[datetime, list[int]]:
    """Every count the update-mode sink produced per window start, in order (one key: one partition)."""
    found: dict[datetime, list[int]] = {}
    for record in read_topic(bootstrap, topic):
        assert record.value is not None
        value = json.loads(record.value)
        found.setdefault(utc(value["window_start"]), []).append(value["clicks"])
    return found


def assert_results(out: Path, bootstrap: str, live_topic: str) -> None:
    """What every sink holds once the flush records moved the watermarks past the clicks and views."""
    assert written_join(committed_parquet_rows(out / "matched")) == expected_join("inner")
    assert written_join(committed_parquet_rows(out / "attributed")) == expected_join("left")
    # click 2's view came 15 minutes before it, click 4's ad had none, click 8's view came a minute after it
    assert {row[1] for row in expected_join("left") if row[4] is None} == {2, 4, 8}

    unique = sorted(r["click_id"] for r in committed_parquet_rows(out / "unique"))
    assert unique == sorted({c[0] for c in [*CLICKS, FLUSH_CLICK]}), "each click once, the flush click too"

    sessions = Counter(
        (r["user_id"], utc(r["window_start"]), utc(r["window_end"]), r["clicks"])
        for r in committed_json_rows(out / "sessions")
    )
    assert sessions == expected_sessions()

    sliding = {utc(r["window_start"]): r["clicks"] for r in committed_json_rows(out / "sliding")}
    assert len(committed_json_rows(out / "sliding")) == len(sliding), "append: each window written once"
    assert sliding == sliding_counts(CLICKS)

    live = live_counts(bootstrap, live_topic)
    assert {k: v[-1] for k, v in live.items()} == sliding_counts([*CLICKS, FLUSH_CLICK])
    for start, counts in live.items():
        assert counts == sorted(counts), f"{start}: an update only grows a window's count"


def test_stream_joins_dedup_sessions_and_sliding_windows_with_a_sink_in_update_mode(tmp_path: Path) -> None:
    bootstrap = kafka_bootstrap()
    topics = {"clicks_topic": new_topic("clicks"), "views_topic": new_topic("views"), "live_topic": new_topic("live")}
    out = tmp_path / "out"
    pipeline = tmp_path / "ad_clicks" / "pipeline.yaml"
    pipeline.parent.mkdir()
    settings = {
        "bootstrap": bootstrap,
        "checkpoints": tmp_path / "ck",
        "out": out,
        "trigger": "{processing_time: 1 second}",
    }
    pipeline.write_text(PIPELINE.format(**settings, **topics))
    # both topics before the run starts: the first micro-batch reads them together, before any watermark
    produce_json(bootstrap, topics["views_topic"], [view_record(v) for v in VIEWS])
    produce_json(bootstrap, topics["clicks_topic"], [click_record(c) for c in CLICKS])
    run = BackgroundRun([str(pipeline)], tmp_path / "run.log", {"ETL_STATE_DIR": str(tmp_path / "state")})
    inner, left = expected_join("inner"), expected_join("left")
    try:
        run.start()
        # inner matches are written as soon as both sides are in; the windows wait for the watermark
        wait_until(
            lambda: written_join(committed_parquet_rows(out / "matched")) == inner,
            180,
            "the inner join's matches",
            run.assert_running,
        )
        wait_until(
            lambda: (
                {k: v[-1] for k, v in live_counts(bootstrap, topics["live_topic"]).items()} == sliding_counts(CLICKS)
            ),
            120,
            "the open windows' counts in the update-mode sink",
            run.assert_running,
        )
        produce_json(bootstrap, topics["views_topic"], [view_record(FLUSH_VIEW)])
        produce_json(bootstrap, topics["clicks_topic"], [click_record(FLUSH_CLICK)])
        wait_until(
            lambda: (
                written_join(committed_parquet_rows(out / "attributed")) == left
                and len(committed_json_rows(out / "sessions")) >= sum(expected_sessions().values())
                and len(committed_json_rows(out / "sliding")) >= len(sliding_counts(CLICKS))
            ),
            180,
            "the left join's unmatched clicks, the sessions and the windows, once the watermark passed them",
            run.assert_running,
        )
        assert run.stop(signal.SIGTERM) == 0, run.output()[-4000:]
    finally:
        run.cleanup()

    assert_results(out, bootstrap, topics["live_topic"])


def test_available_now_writes_joins_dedup_and_closed_windows_and_exits(tmp_path: Path) -> None:
    """Everything is in the topics before the run, the flush records too: available_now reads it all, writes
    what the final watermark closes, and exits 0."""
    bootstrap = kafka_bootstrap()
    topics = {"clicks_topic": new_topic("clicks"), "views_topic": new_topic("views"), "live_topic": new_topic("live")}
    out = tmp_path / "out"
    pipeline = tmp_path / "ad_clicks" / "pipeline.yaml"
    pipeline.parent.mkdir()
    settings = {"bootstrap": bootstrap, "checkpoints": tmp_path / "ck", "out": out, "trigger": "{available_now: true}"}
    pipeline.write_text(PIPELINE.format(**settings, **topics))
    produce_json(bootstrap, topics["views_topic"], [view_record(v) for v in [*VIEWS, FLUSH_VIEW]])
    produce_json(bootstrap, topics["clicks_topic"], [click_record(c) for c in [*CLICKS, FLUSH_CLICK]])
    run = BackgroundRun([str(pipeline)], tmp_path / "run.log", {"ETL_STATE_DIR": str(tmp_path / "state")})
    try:
        process = run.start().process
        assert process is not None
        assert process.wait(300) == 0, run.output()[-4000:]
    finally:
        run.cleanup()

    assert_results(out, bootstrap, topics["live_topic"])


def test_once_writes_the_matches_and_leaves_what_the_watermark_closes_to_the_next_run(tmp_path: Path) -> None:
    """{once: true} runs one micro-batch: rows written as they come (inner matches, first occurrences, updates)
    are there; windows, sessions and unmatched left rows need the watermark that batch moved, so they wait."""
    bootstrap = kafka_bootstrap()
    topics = {"clicks_topic": new_topic("clicks"), "views_topic": new_topic("views"), "live_topic": new_topic("live")}
    out = tmp_path / "out"
    pipeline = tmp_path / "ad_clicks" / "pipeline.yaml"
    pipeline.parent.mkdir()
    settings = {"bootstrap": bootstrap, "checkpoints": tmp_path / "ck", "out": out, "trigger": "{once: true}"}
    pipeline.write_text(PIPELINE.format(**settings, **topics))
    produce_json(bootstrap, topics["views_topic"], [view_record(v) for v in [*VIEWS, FLUSH_VIEW]])
    produce_json(bootstrap, topics["clicks_topic"], [click_record(c) for c in [*CLICKS, FLUSH_CLICK]])
    run = BackgroundRun([str(pipeline)], tmp_path / "run.log", {"ETL_STATE_DIR": str(tmp_path / "state")})
    try:
        process = run.start().process
        assert process is not None
        assert process.wait(300) == 0, run.output()[-4000:]
    finally:
        run.cleanup()

    assert written_join(committed_parquet_rows(out / "matched")) == expected_join("inner")
    matched_only = Counter({row: n for row, n in expected_join("left").items() if row[4] is not None})
    assert written_join(committed_parquet_rows(out / "attributed")) == matched_only
    assert sorted(r["click_id"] for r in committed_parquet_rows(out / "unique")) == sorted(
        {c[0] for c in [*CLICKS, FLUSH_CLICK]}
    )
    assert committed_json_rows(out / "sessions") == []
    assert committed_json_rows(out / "sliding") == []
    live = live_counts(bootstrap, topics["live_topic"])
    assert {k: v[-1] for k, v in live.items()} == sliding_counts([*CLICKS, FLUSH_CLICK])
