"""Joins and deduplications of streams, checked offline by ``validate`` (etl_cli/model/streaming_state.py):
which join steps are checked (each step of a join of three inputs, a batch input on the left, a ``joins`` list
shorter than the inputs or with an entry that is not a mapping), the default join type, where a time range
given in a ``joins`` entry is refused, and the exact text, hint and place of each deduplication refusal. Called
directly (``join_problems``, ``session_update_problem``): a time range's column qualified by its stage
(``clicks.click_time``, ``clicks.ev.time`` for the column ``ev.time``) is the watermarked one, a wrong left column
of a later step names every stream on the left and all their watermark columns, and session windows written in
update mode are refused with their hint. No JVM, no broker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from etl_cli import app
from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.model.streaming_state import join_problems, session_update_problem
from tests.unit.helpers import column, make_project

HEAD = """\
name: p
streaming: {checkpoint_location: ck}
sources:
  - name: clicks
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: clicks
    schema: {click_id: BIGINT, ad_id: BIGINT, user_id: STRING, click_time: TIMESTAMP}
    metadata: []
    watermark: {column: click_time, delay: 5 minutes}
  - name: views
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: views
    schema: {ad_id: BIGINT, view_time: TIMESTAMP}
    metadata: []
    watermark: {column: view_time, delay: 5 minutes}
  - name: shows
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: shows
    schema: {ad_id: BIGINT, show_time: TIMESTAMP}
    metadata: []
    watermark: {column: show_time, delay: 5 minutes}
  - {name: ads, type: csv, path: ads.csv, schema: "ad_id BIGINT, title STRING"}
"""
WITHIN = '{left: click_time, right: view_time, lower: "-10 minutes", upper: "0 seconds"}'
FOREVER = (
    "without a time range (within:): Spark would keep every row of both streams in its state for ever, waiting for "
    "a match"
)
CODES = ("streaming-state", "streaming-join", "streaming-watermark")


def validated(tmp_path: Path, text: str) -> list[Diagnostic]:
    """Every diagnostic ``validate`` reports for the pipeline ``text``."""
    make_project(tmp_path, {"p/pipeline.yaml": text})
    [report] = app.validate([tmp_path / "p"])
    return list(report.diagnostics)


def refusals(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    """(code, message) of the stateful-streaming refusals of the pipeline ``text``."""
    return [(d.code, d.message) for d in validated(tmp_path, text) if d.code in CODES]


def join(options: str) -> str:
    """The pipeline joining in transform ``attributed`` with ``options`` (lines indented as its keys)."""
    return (
        HEAD
        + "transforms:\n  - name: attributed\n    type: join\n"
        + "".join(f"    {line}\n" for line in options.splitlines())
        + "sinks:\n  - {name: out, type: parquet, input: attributed, path: out}\n"
    )


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if fragment in line)


# --------------------------------------------------------------------------- which join steps are checked


def test_a_join_of_two_streams_without_how_is_an_inner_join_and_valid(tmp_path: Path) -> None:
    assert refusals(tmp_path, join(f"inputs: [clicks, views]\non: [ad_id]\nwithin: {WITHIN}")) == []


def test_each_step_of_a_join_of_three_streams_is_refused_with_every_stream_on_its_left(tmp_path: Path) -> None:
    text = join("inputs: [clicks, views, shows]\non: [ad_id]")
    assert refusals(tmp_path, text) == [
        ("streaming-state", f"transform 'attributed' joins the streams clicks and views {FOREVER}"),
        ("streaming-state", f"transform 'attributed' joins the streams clicks, views and shows {FOREVER}"),
    ]


def test_a_step_after_a_refused_join_type_is_still_checked(tmp_path: Path) -> None:
    text = join("inputs: [clicks, views, shows]\non: [ad_id]\njoins:\n  - {how: full}\n  - {how: inner}")
    assert refusals(tmp_path, text) == [
        (
            "streaming-join",
            "transform 'attributed' joins the streams clicks and views with how: full; etl-cli joins two streams "
            "inner or left outer",
        ),
        ("streaming-state", f"transform 'attributed' joins the streams clicks, views and shows {FOREVER}"),
    ]


def test_a_batch_input_on_the_left_is_no_stream_join_but_the_next_step_is(tmp_path: Path) -> None:
    # ads (batch) joined with clicks keeps no state; the next step joins the streams clicks and views
    text = join("inputs: [ads, clicks, views]\non: [ad_id]")
    assert refusals(tmp_path, text) == [
        ("streaming-state", f"transform 'attributed' joins the streams clicks and views {FOREVER}")
    ]


def test_steps_beyond_a_short_joins_list_are_left_to_the_joins_count_error(tmp_path: Path) -> None:
    # one entry for three inputs: the first step is checked (and fine), the second has no entry to check
    text = join(f"inputs: [clicks, views, shows]\non: [ad_id]\njoins:\n  - {{within: {WITHIN}}}")
    found = validated(tmp_path, text)
    assert [(d.code, d.message) for d in found if d.severity == "error"] == [
        ("invalid-option", "transforms.attributed.joins: joins has 1 entries for 3 inputs")
    ]
    found = validated(tmp_path, join("inputs: [clicks, views]\non: [ad_id]\njoins: []"))
    assert [d for d in found if d.code in CODES] == []


def test_a_joins_entry_that_is_not_a_mapping_takes_the_transform_s_settings(tmp_path: Path) -> None:
    text = join(f"inputs: [clicks, views]\non: [ad_id]\nhow: left\nwithin: {WITHIN}\njoins: [inner]")
    found = validated(tmp_path, text)
    assert [(d.code, d.message) for d in found if d.severity == "error"] == [
        ("wrong-type", "transforms.attributed.joins.[0] must be a mapping (key: value), got 'inner'")
    ]


def test_a_time_range_of_a_joins_entry_is_refused_at_that_entry(tmp_path: Path) -> None:
    text = join(
        "inputs: [clicks, views]\non: [ad_id]\njoins:\n  - how: inner\n"
        '    within: {left: click_time, right: ad_seen, lower: "-10 minutes", upper: "0 seconds"}'
    )
    [found] = [d for d in validated(tmp_path, text) if d.code in CODES]
    line = line_of(text, "right: ad_seen")
    assert found.location is not None
    assert (found.code, found.location.line, found.location.column) == (
        "streaming-state",
        line,
        column(text.splitlines()[line - 1], "ad_seen"),
    )
    assert found.message == (
        "transform 'attributed': within.right is ad_seen, but the watermark of views is on view_time: Spark could "
        "not tell when a row can no longer match"
    )
    assert found.hint == "within.right: view_time (the event time the watermark is on)"


# --------------------------------------------------------------------------- deduplication


def dedup(options: str, head: str = HEAD) -> str:
    """The pipeline deduplicating the clicks in transform ``unique`` (flow style: one line) with ``options``."""
    more = f", {options}" if options else ""
    return (
        head
        + f"transforms:\n  - {{name: unique, type: deduplicate, inputs: [clicks]{more}}}\n"
        + "sinks:\n  - {name: out, type: parquet, input: unique, path: out}\n"
    )


def test_dropping_duplicates_within_a_missing_watermark_is_refused_at_within_watermark(tmp_path: Path) -> None:
    head = HEAD.replace("    watermark: {column: click_time, delay: 5 minutes}\n", "")
    text = dedup("keys: [click_id], within_watermark: true", head)
    [found] = [d for d in validated(tmp_path, text) if d.code in CODES]
    line = line_of(text, "name: unique")
    assert (found.severity, found.code) == ("error", "streaming-watermark")
    assert found.message == (
        "transform 'unique' drops duplicates within the watermark, but a stream it reads has no watermark"
    )
    assert found.hint == (
        'add watermark: {column: <event time>, delay: "10 minutes"} to the streaming source: a key\'s first row is '
        "remembered for that long"
    )
    assert found.location is not None
    assert (found.location.line, found.location.column) == (line, column(text.splitlines()[line - 1], "true"))


def test_a_deduplication_on_keys_without_the_event_time_names_every_key_and_hints_the_fix(tmp_path: Path) -> None:
    text = dedup("keys: [click_id, user_id]")
    [found] = [d for d in validated(tmp_path, text) if d.code in CODES]
    assert found.location is not None
    assert (found.code, found.location.line, found.location.column) == (
        "streaming-state",
        line_of(text, "name: unique"),
        5,
    )
    assert found.message == (
        "transform 'unique' deduplicates a stream on click_id, user_id: Spark would remember every key ever seen, "
        "and its state would grow for ever"
    )
    assert found.hint == (
        "set within_watermark: true (a duplicate arriving within the source's watermark delay of the first row is "
        "dropped), or add the watermark's event-time column to keys"
    )


def test_a_deduplication_of_a_stream_without_keys_is_refused_not_crashed_on(tmp_path: Path) -> None:
    found = [d for d in validated(tmp_path, dedup("")) if d.severity == "error"]
    assert [d.code for d in found] == ["missing-key", "streaming-state"]
    assert found[1].message.startswith("transform 'unique' deduplicates a stream on ")


# --------------------------------------------------------------------------- the checks called directly


@dataclass(frozen=True)
class Item:
    """A stage as the checks read it (``StageItem``)."""

    name: str
    kind: str
    data: dict[str, Any]
    path: tuple[str | int, ...]
    inputs: list[str]


def stream_source(name: str, event_time: str) -> Item:
    return Item(name, "source", {"watermark": {"column": event_time, "delay": "5 minutes"}}, ("sources", 0), [])


def join_refusals(data: dict[str, Any], inputs: list[str], clicks_time: str = "click_time") -> list[Diagnostic]:
    """``join_problems`` of transform ``attributed`` joining ``inputs`` of the streams clicks, views and shows."""
    sources = [stream_source("clicks", clicks_time), stream_source("views", "view_time")]
    by_name = {s.name: s for s in [*sources, stream_source("shows", "show_time")]}
    item = Item("attributed", "transform", {"type": "join", **data}, ("transforms", 0), inputs)
    return join_problems(Provenance(), item, lambda _: [], by_name, set(by_name))


def within(left: str, right: str) -> dict[str, str]:
    return {"left": left, "right": right, "lower": "-10 minutes", "upper": "0 seconds"}


@pytest.mark.parametrize(
    ("left", "right", "clicks_time"),
    [
        pytest.param("clicks.click_time", "views.view_time", "click_time", id="each-side-qualified-by-its-stage"),
        pytest.param("clicks.ev.time", "view_time", "ev.time", id="a-column-with-a-dot-qualified-by-its-stage"),
    ],
)
def test_a_time_range_column_qualified_by_its_stage_is_the_watermarked_column(
    left: str, right: str, clicks_time: str
) -> None:
    assert join_refusals({"within": within(left, right)}, ["clicks", "views"], clicks_time) == []


def test_a_left_time_range_column_of_a_later_step_names_every_left_stream_and_their_watermarks() -> None:
    joins = [{"within": within("click_time", "view_time")}, {"within": within("ad_time", "show_time")}]
    assert join_refusals({"joins": joins}, ["clicks", "views", "shows"]) == [
        error(
            "streaming-state",
            "transform 'attributed': within.left is ad_time, but the watermark of clicks, views is on click_time, "
            "view_time: Spark could not tell when a row can no longer match",
            None,
            "within.left: click_time (the event time the watermark is on)",
        )
    ]


def test_session_windows_written_in_update_mode_are_refused_with_the_append_hint() -> None:
    sessions = Item("sessions", "transform", {"type": "aggregate", "window": {"gap": "5 minutes"}}, ("t", 0), [])
    sink = Item("out", "sink", {"output_mode": "update"}, ("sinks", 0), ["sessions"])
    assert session_update_problem(Provenance(), sink, [sessions], "its output_mode", "output_mode") == [
        error(
            "streaming-output-mode",
            "sink 'out' writes the session windows of 'sessions', which Spark writes in append mode only, but its "
            "output_mode is update",
            None,
            "set output_mode: append on the sink (each session written once, when the watermark passes its end)",
        )
    ]
