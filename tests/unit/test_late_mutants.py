"""Which stateful stages send their late records to the dead-letter queue (etl_cli/model/late.py: ``_rule`` and
``_stateful_before``, through ``late_splits`` and ``late_problems``): the rule of a fixed window, a deduplicate
keyed on the event time, an aggregate without a window, and which upstream stages count as stateful (an
aggregate or a join of two streams do; a batch aggregate, a union of streams or a stream's own source do not).
No JVM."""

from __future__ import annotations

from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.model.late import document_stages, late_problems, late_splits

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
