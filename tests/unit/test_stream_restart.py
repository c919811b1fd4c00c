"""Which changes to a streaming pipeline ``run --watch`` applies on the running queries' checkpoints.

Each case loads the same pipeline twice, the second time with one change (``--set`` or an edited
file), and compares the two plans as ``run --watch`` does. Offline: no Spark.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.app import load_spec
from etl_cli.plan.dag import compile_plan
from etl_cli.plan.stream_restart import RestartDecision, restart_decision

PIPELINE = """\
name: clicks_live
streaming:
  checkpoint_location: {root}/checkpoints
  trigger: {{processing_time: 5 seconds}}
sources:
  - name: clicks_raw
    type: kafka
    mode: stream
    bootstrap_servers: 127.0.0.1:9092
    topic: clicks
    max_offsets_per_trigger: 100
    schema: {{click_id: BIGINT, page: STRING, event_time: TIMESTAMP}}
    watermark: {{column: event_time, delay: 1 minute}}
transforms:
  - name: clicks
    type: filter
    inputs: [clicks_raw]
    condition: page IS NOT NULL
  - name: tagged
    type: derive
    inputs: [clicks]
    columns: {{section: "split(page, '/')[1]"}}
  - name: per_minute
    type: aggregate
    inputs: [clicks]
    window: {{column: event_time, duration: 1 minute}}
    group_by: [page]
    aggregations: {{clicks: {{function: count}}}}
sinks:
  - {{name: tagged_out, type: parquet, input: tagged, path: {root}/out/tagged, mode: append}}
  - {{name: per_minute_out, type: json, input: per_minute, path: {root}/out/per_minute, mode: append}}
"""


@pytest.fixture
def pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ETL_ENV", raising=False)
    path = tmp_path / "clicks_live" / "pipeline.yaml"
    path.parent.mkdir()
    path.write_text(PIPELINE.format(root=tmp_path), encoding="utf-8")
    return path


def decide(pipeline: Path, *sets: str, text: str | None = None) -> RestartDecision:
    _, old = load_spec(pipeline, None)
    if text is not None:
        pipeline.write_text(text, encoding="utf-8")
    _, new = load_spec(pipeline, None, sets)
    return restart_decision(compile_plan(old), compile_plan(new))


def test_a_new_filter_condition_is_applied(pipeline: Path) -> None:
    decision = decide(pipeline, "transforms.clicks.condition=page <> '/home'")
    assert decision.compatible and decision.blockers == []
    assert decision.changes == ["""transform 'clicks' (filter): condition: "page IS NOT NULL" -> "page <> '/home'\""""]


def test_a_new_derive_expression_no_state_reads_is_applied(pipeline: Path) -> None:
    decision = decide(pipeline, "transforms.tagged.columns.section=upper(page)")
    assert decision.compatible
    assert len(decision.changes) == 1 and decision.changes[0].startswith("transform 'tagged' (derive): columns:")


def test_sink_options_apply_but_its_path_belongs_to_the_checkpoint(pipeline: Path) -> None:
    assert decide(pipeline, "sinks.tagged_out.options.compression=gzip").compatible
    moved = decide(pipeline, f"sinks.tagged_out.path={pipeline.parent}/elsewhere")
    assert not moved.compatible
    assert moved.blockers[0].startswith("sink 'tagged_out' (parquet): path:")


def test_a_source_change_is_not_applied_except_its_rate_limit(pipeline: Path) -> None:
    topic = decide(pipeline, "sources.clicks_raw.topic=other")
    assert not topic.compatible and "source 'clicks_raw' (kafka): topic" in topic.blockers[0]
    assert decide(pipeline, "sources.clicks_raw.watermark.delay=5 minutes").compatible is False
    assert decide(pipeline, "sources.clicks_raw.max_offsets_per_trigger=500").compatible


def test_a_stateful_stage_and_what_feeds_it_keep_their_state(pipeline: Path) -> None:
    window = decide(pipeline, "transforms.per_minute.window.duration=5 minutes")
    assert not window.compatible and "its state is in the checkpoint" in window.blockers[0]
    # the filter feeds the aggregate: it may change which rows pass (the state's schema stays)
    assert decide(pipeline, "transforms.clicks.condition=page <> '/docs'").compatible


def test_a_derive_feeding_an_aggregate_is_not_applied(pipeline: Path) -> None:
    text = pipeline.read_text(encoding="utf-8").replace(
        "    inputs: [clicks]\n    window:", "    inputs: [tagged]\n    window:"
    )
    pipeline.write_text(text, encoding="utf-8")
    decision = decide(pipeline, "transforms.tagged.columns.section=upper(page)")
    assert not decision.compatible
    assert "a stateful stage reads it" in decision.blockers[0]


def test_added_stages_and_a_new_checkpoint_location_are_not_applied(pipeline: Path) -> None:
    text = pipeline.read_text(encoding="utf-8")
    added = text.replace(
        "sinks:\n", "sinks:\n  - {name: raw_out, type: parquet, input: clicks_raw, path: /tmp/raw, mode: append}\n"
    )
    decision = decide(pipeline, text=added)
    assert decision.blockers == ["sink 'raw_out' (parquet) was added"]
    pipeline.write_text(text, encoding="utf-8")
    moved = decide(pipeline, "streaming.checkpoint_location=/tmp/elsewhere")
    assert any("checkpoint_location" in b for b in moved.blockers)


def test_a_new_trigger_is_applied(pipeline: Path) -> None:
    decision = decide(pipeline, "streaming.trigger.processing_time=30 seconds")
    assert decision.compatible
    assert decision.changes == ["streaming.trigger: processing_time 5 seconds -> processing_time 30 seconds"]


def test_an_edit_that_changes_nothing_is_no_change(pipeline: Path) -> None:
    text = "# a comment\n" + pipeline.read_text(encoding="utf-8")
    decision = decide(pipeline, text=text)
    assert not decision.changed and decision.compatible
