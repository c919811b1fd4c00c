"""Which stateful stages send their late records to the dead-letter queue (etl_cli/model/late.py: ``_rule`` and
``_stateful_before``, through ``late_splits`` and ``late_problems``): the rule of a fixed window, a deduplicate
keyed on the event time, an aggregate without a window, and which upstream stages count as stateful (an
aggregate or a join of two streams do; a batch aggregate, a union of streams or a stream's own source do not).
Then what ``validate`` says (``late_problems``, ``_uncovered``), word for word with its hint and place: the
error of ``late: dead_letter`` without a queue (only a source's watermark is read), the warning of records
dropped without a queue (at the window, or at the stage), and why a stage's late records are not covered (a
window on a column without a watermark, a join of three streams, a deduplicate after a join; a window with
neither duration nor gap is not called a session window); and the stages ``document_stages`` reads of a
document (named items only, a sink's one input, each item's place); a deduplicate's split whole (the watermark's
column, no duration, no slide), and ``late_action`` (the watermark's own ``late``, else the queue's presence).
No JVM."""

from __future__ import annotations

from typing import Any

import pytest

from etl_cli.config.nodes import Provenance, to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.model.late import LateSplit, Stage, document_stages, late_action, late_problems, late_splits
from tests.unit.helpers import column

WATERMARK = {"column": "ts", "delay": "5 seconds"}
QUEUE = {"type": "json", "path": "dlq"}


def stream(name: str) -> dict[str, Any]:
    return {"name": name, "type": "kafka", "mode": "stream", "watermark": dict(WATERMARK)}


def pipeline(*transforms: dict[str, Any], sources: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """A document reading the stream ``s`` (watermark on ``ts``) and ``sources``, with a dead-letter queue; each
    transform is also written by a sink."""
    return {
        "sources": [stream("s"), *sources],
        "transforms": list(transforms),
        "sinks": [{"name": f"to_{t['name']}", "type": "json", "input": t["name"]} for t in transforms],
        "dead_letter": QUEUE,
    }


def rules(document: dict[str, Any]) -> dict[str, str]:
    """Stage → the rule its late records are judged by, for each stage whose late records are dead-lettered."""
    return {split.stage: split.rule for split in late_splits(document_stages(document), True)}


def warned(document: dict[str, Any]) -> list[str]:
    """The messages of ``late_problems`` (all warnings here)."""
    found = late_problems(document, Provenance())
    assert all(d.severity == "warning" for d in found)
    return [d.message for d in found]


def dropped(stage: str, what: str) -> str:
    return f"transform '{stage}': the late records of {what} are dropped by Spark, not sent to the dead-letter queue"


# --------------------------------------------------------------------------- the rule of each stage


def test_a_fixed_window_on_the_watermark_s_column_is_judged_by_the_window_s_end() -> None:
    per_minute = {"name": "agg", "type": "aggregate", "inputs": ["s"], "window": {"column": "ts", "duration": "1m"}}
    assert rules(pipeline(per_minute)) == {"agg": "window"}


def test_a_deduplicate_keyed_on_the_event_time_is_judged_by_the_event_time() -> None:
    keyed = {"name": "d", "type": "deduplicate", "inputs": ["s"], "keys": ["id", "ts"]}
    assert rules(pipeline(keyed)) == {"d": "event"}
    assert warned(pipeline(keyed)) == []


def test_a_deduplicate_that_keeps_every_key_for_ever_has_no_late_records() -> None:
    # neither within the watermark nor keyed on its column: Spark drops nothing as late (validate refuses it)
    unbounded = {"name": "d", "type": "deduplicate", "inputs": ["s"], "keys": ["id"]}
    assert rules(pipeline(unbounded)) == {}
    assert warned(pipeline(unbounded)) == []


def test_an_aggregate_without_a_window_has_no_late_records_to_route() -> None:
    totals = {"name": "totals", "type": "aggregate", "inputs": ["s"], "group_by": ["id"]}
    assert rules(pipeline(totals)) == {}
    assert warned(pipeline(totals)) == []


# --------------------------------------------------------------------------- what counts as stateful before


def test_a_join_of_a_stream_and_an_aggregate_of_it_comes_after_a_stateful_stage() -> None:
    # the join reads s itself first (a source: not stateful), then the windowed aggregate of s (stateful)
    per_minute = {"name": "agg", "type": "aggregate", "inputs": ["s"], "window": {"column": "ts", "duration": "1m"}}
    joined = {"name": "j", "type": "join", "inputs": ["s", "agg"], "on": ["id"]}
    document = pipeline(per_minute, joined)
    assert rules(document) == {"agg": "window"}
    assert warned(document) == [dropped("j", "a join of streams after the stateful stage 'agg'")]


def test_a_deduplicate_after_a_join_of_two_streams_comes_after_a_stateful_stage() -> None:
    joined = {"name": "j", "type": "join", "inputs": ["s", "t"], "on": ["id"]}
    unique = {"name": "d", "type": "deduplicate", "inputs": ["j"], "keys": ["id"], "within_watermark": True}
    document = pipeline(joined, unique, sources=(stream("t"),))
    assert rules(document) == {"j": "event"}
    assert warned(document) == [dropped("d", "a deduplicate of a stream after the stateful stage 'j'")]


def test_a_session_window_after_a_deduplicate_comes_after_a_stateful_stage() -> None:
    unique = {"name": "d", "type": "deduplicate", "inputs": ["s"], "keys": ["id"], "within_watermark": True}
    sessions = {"name": "sess", "type": "aggregate", "inputs": ["d"], "window": {"column": "ts", "gap": "5m"}}
    document = pipeline(unique, sessions)
    assert rules(document) == {"d": "event"}
    assert warned(document) == [dropped("sess", "a session window after the stateful stage 'd'")]


def test_a_union_of_two_streams_keeps_no_state() -> None:
    both = {"name": "u", "type": "union", "inputs": ["s", "t"]}
    unique = {"name": "d", "type": "deduplicate", "inputs": ["u"], "keys": ["id"], "within_watermark": True}
    document = pipeline(both, unique, sources=(stream("t"),))
    assert rules(document) == {"d": "event"}
    assert warned(document) == []


def test_an_aggregate_of_batch_data_joined_to_the_stream_keeps_no_state_of_the_stream() -> None:
    totals = {"name": "totals", "type": "aggregate", "inputs": ["b"], "group_by": ["id"]}
    joined = {"name": "j", "type": "join", "inputs": ["s", "totals"], "on": ["id"]}
    unique = {"name": "d", "type": "deduplicate", "inputs": ["j"], "keys": ["id"], "within_watermark": True}
    document = pipeline(totals, joined, unique, sources=({"name": "b", "type": "jdbc"},))
    assert rules(document) == {"d": "event"}
    assert warned(document) == []


def test_a_window_with_neither_duration_nor_gap_is_no_session_window_to_warn_about() -> None:
    # validate refuses the window itself ("give either duration or gap"); calling it a session window was wrong
    undecided = {"name": "agg", "type": "aggregate", "inputs": ["s"], "window": {"column": "ts"}}
    assert rules(pipeline(undecided)) == {}
    assert warned(pipeline(undecided)) == []
    # and the stages after it are still looked at
    unique = {"name": "d", "type": "deduplicate", "inputs": ["s"], "keys": ["id"], "within_watermark": True}
    sessions = {"name": "sess", "type": "aggregate", "inputs": ["d"], "window": {"column": "ts", "gap": "5m"}}
    document = pipeline(undecided, unique, sessions)
    assert warned(document) == [dropped("sess", "a session window after the stateful stage 'd'")]


# --------------------------------------------------------------------------- what is not covered, word for word


def quiet(name: str) -> dict[str, Any]:
    """A stream whose watermark says its late records may be dropped."""
    return stream(name) | {"watermark": WATERMARK | {"late": "drop"}}


@pytest.mark.parametrize(
    ("transforms", "sources", "routed", "expected"),
    [
        pytest.param(
            ({"name": "j", "type": "join", "inputs": ["s", "t", "u"], "on": ["id"]},),
            (stream("t"), stream("u")),
            {},
            [dropped("j", "a join of more than two inputs")],
            id="join-of-three-streams",
        ),
        pytest.param(
            (
                {"name": "j", "type": "join", "inputs": ["s", "t"], "on": ["id"]},
                {"name": "d", "type": "deduplicate", "inputs": ["j"], "keys": ["id", "ts"]},
            ),
            (stream("t"),),
            {"j": "event"},
            [dropped("d", "a deduplicate of a stream after the stateful stage 'j'")],
            id="deduplicate-keyed-on-the-event-time-after-a-join",
        ),
        pytest.param(
            (
                {"name": "calm", "type": "filter", "inputs": ["q"], "condition": "id > 0"},
                {"name": "valid", "type": "filter", "inputs": ["s"], "condition": "id > 0"},
                {"name": "agg", "type": "aggregate", "inputs": ["valid"], "window": {"column": "at", "duration": "1m"}},
            ),
            (quiet("q"),),
            {},
            [dropped("agg", "a window on a column without a watermark")],
            id="after-a-stage-of-a-dropping-stream-and-a-stateless-stage",
        ),
    ],
)
def test_a_stateful_stage_whose_late_records_spark_drops_is_named_with_the_reason(
    transforms: tuple[dict[str, Any], ...],
    sources: tuple[dict[str, Any], ...],
    routed: dict[str, str],
    expected: list[str],
) -> None:
    document = pipeline(*transforms, sources=sources)
    assert rules(document) == routed
    assert warned(document) == expected


def test_a_watermark_written_on_a_transform_is_not_read_as_a_source_s() -> None:
    # only a kafka source has a watermark (the schema refuses it elsewhere): no "source 'valid'" error either
    valid = {"name": "valid", "type": "filter", "inputs": ["s"], "watermark": {"column": "ts", "late": "dead_letter"}}
    document = {
        "sources": [quiet("s")],
        "transforms": [valid],
        "sinks": [{"name": "o", "type": "json", "input": "valid"}],
    }
    assert late_problems(document, Provenance()) == []


# --------------------------------------------------------------------------- each diagnostic in full, at its place


def diagnosed(text: str) -> list[tuple[str, str, tuple[int, int] | None, str | None]]:
    """Severity, message, (line, column) and hint of each diagnostic ``late_problems`` gives for the YAML ``text``."""
    document, provenance = to_plain(load_yaml_text(text, "p.yaml"))
    return [
        (d.severity, d.message, (d.location.line, d.location.column) if d.location else None, d.hint)
        for d in late_problems(document, provenance)
    ]


def at(text: str, fragment: str, token: str) -> tuple[int, int]:
    """(line, column) of ``token`` on the first line of ``text`` holding ``fragment``."""
    number, line = next((n, line) for n, line in enumerate(text.splitlines(), start=1) if fragment in line)
    return number, column(line, token)


NO_QUEUE = """\
sources:
  - name: s
    type: kafka
    watermark: {column: ts, delay: 5 seconds, late: dead_letter}
  - name: t
    type: kafka
    watermark: {column: ts, delay: 5 seconds}
transforms:
  - name: agg
    type: aggregate
    inputs: [t]
    window: {column: ts, duration: 1 minute}
  - {name: d, type: deduplicate, inputs: [t], keys: [id, ts]}
"""


def test_without_a_queue_late_dead_letter_is_an_error_and_dropped_records_a_warning_at_their_lines() -> None:
    assert diagnosed(NO_QUEUE) == [
        (
            "error",
            "source 's': watermark late: dead_letter, but the pipeline has no dead_letter queue",
            at(NO_QUEUE, "late: dead_letter", "dead_letter}"),
            "add dead_letter: {type: parquet, path: dead_letters/<pipeline>}, or set late: drop",
        ),
        *(
            (
                "warning",
                f"transform '{stage}': records later than the watermark will be dropped (the pipeline has no "
                "dead_letter queue to send them to)",
                place,
                "add a dead_letter: queue to keep them, or set late: drop on the source's watermark to say that "
                "dropping them is intended",
            )
            # a window is pointed at by its window, a deduplicate by the stage itself
            for stage, place in (("agg", at(NO_QUEUE, "window:", "{")), ("d", at(NO_QUEUE, "name: d", "{")))
        ),
    ]


def test_a_stage_not_covered_is_warned_about_at_the_stage_with_what_is_covered() -> None:
    text = NO_QUEUE.replace(", late: dead_letter", "").replace("column: ts, duration", "column: at, duration")
    text += "dead_letter: {type: json, path: dlq}\n"
    assert diagnosed(text) == [
        (
            "warning",
            dropped("agg", "a window on a column without a watermark"),
            at(text, "name: agg", "name"),
            "late records go to the queue from windows on the watermark's column, and from session windows, "
            "deduplicates and joins of two streams that are the first stateful stage on the stream "
            "(docs/streaming.md, Late records)",
        )
    ]


# --------------------------------------------------------------------------- the stages of a document


def test_the_stages_of_a_document_are_its_named_items_with_their_inputs_and_places() -> None:
    source, batch = {"name": "s", "type": "kafka"}, {"name": "b", "type": "csv"}
    valid = {"name": "valid", "type": "filter", "inputs": ["s", 7]}
    out = {"name": "out", "type": "json", "input": "valid"}
    document = {
        "sources": [source, "not a mapping", {"type": "csv"}, batch],
        "transforms": [{"name": 3, "type": "filter"}, valid],
        "sinks": [out],
    }
    assert document_stages(document) == [
        Stage("source", "s", "kafka", (), source, ("sources", 0)),
        Stage("source", "b", "csv", (), batch, ("sources", 3)),
        Stage("transform", "valid", "filter", ("s",), valid, ("transforms", 1)),
        Stage("sink", "out", "json", ("valid",), out, ("sinks", 0)),
    ]


# --------------------------------------------------------------------------- the split and the action, whole


def test_a_deduplicate_s_split_has_the_watermark_s_column_and_no_window() -> None:
    keyed = {"name": "d", "type": "deduplicate", "inputs": ["s"], "keys": ["id", "ts"]}
    assert late_splits(document_stages(pipeline(keyed)), True) == [
        LateSplit("d", "ts", "", None, (("s", "5 seconds"),), "event")
    ]


@pytest.mark.parametrize(
    ("watermark", "has_queue", "action"),
    [
        pytest.param({"column": "ts"}, False, "drop", id="no-late-no-queue-drops"),
        pytest.param({"column": "ts"}, True, "dead_letter", id="no-late-with-a-queue-dead-letters"),
        pytest.param({"column": "ts", "late": "drop"}, True, "drop", id="late-drop-over-a-queue"),
        pytest.param({"column": "ts", "late": "dead_letter"}, False, "dead_letter", id="late-dead-letter-as-written"),
    ],
)
def test_a_watermark_s_late_action_is_its_own_else_the_queue_s(
    watermark: dict[str, str], has_queue: bool, action: str
) -> None:
    assert late_action(watermark, has_queue) == action
