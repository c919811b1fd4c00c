"""What a replay runs and refuses, decided offline from the pipeline (no JVM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.errors import UsageError
from etl_cli.events import Reporter
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.runtime.safeguards.dlq import Selection
from etl_cli.runtime.safeguards.replay import choose_stage, plan_replay, record_replay, replay

from .helpers import write

HEAD = """\
sources:
  - {name: orders, type: csv, path: orders.csv, on_malformed: dead_letter}
  - {name: customers, type: csv, path: customers.csv}
  - {name: refunds, type: csv, path: refunds.csv}
dead_letter: {type: parquet, path: dlq}
"""


# an aggregate between the replayed source and its sink: rows no longer map one-to-one (used by two tests)
AGGREGATE_ON_THE_WAY = """\
transforms:
  - {name: daily, type: aggregate, inputs: [orders], group_by: [day], aggregations: {n: {function: count}}}
sinks:
  - {name: out, type: parquet, input: daily, path: out}
"""


def spec(tmp_path: Path, body: str) -> PipelineSpec:
    write(tmp_path, "etl-project.yaml", "name: t\n")
    (tmp_path / "pipeline.yaml").write_text(HEAD + body, encoding="utf-8")
    _, loaded = app.load_spec(tmp_path / "pipeline.yaml", None)
    return loaded


def test_row_wise_transforms_replay_into_their_sinks_in_append_mode(tmp_path: Path) -> None:
    body = """\
transforms:
  - {name: paid, type: filter, inputs: [orders], condition: "status = 'paid'"}
  - {name: enriched, type: join, inputs: [paid, customers], on: [customer_id], how: left}
  - {name: totals, type: aggregate, inputs: [customers], group_by: [country], aggregations: {n: {function: count}}}
sinks:
  - {name: out, type: parquet, input: enriched, path: out, mode: overwrite}
  - {name: other, type: parquet, input: totals, path: other}
  - {name: refunds_out, type: parquet, input: refunds, path: refunds_out}
"""
    planned = plan_replay(spec(tmp_path, body), app.registry(), "orders")
    assert planned.problems == []
    assert planned.modes == {"out": "append"}
    assert [s.name for s in planned.plan.stages] == ["orders", "customers", "paid", "enriched", "out"]
    assert planned.plan.stage("out").option("mode") == "append"
    assert planned.affected == {"orders", "paid", "enriched", "out"}


def test_an_aggregate_on_the_way_is_refused(tmp_path: Path) -> None:
    (problem,) = plan_replay(spec(tmp_path, AGGREGATE_ON_THE_WAY), app.registry(), "orders").problems
    assert problem.startswith("transform 'daily' (aggregate) combines rows")


def test_a_join_reading_the_replayed_rows_as_its_lookup_side_is_refused(tmp_path: Path) -> None:
    body = """\
transforms:
  - {name: enriched, type: join, inputs: [customers, orders], on: [customer_id], how: left}
sinks:
  - {name: out, type: parquet, input: enriched, path: out}
"""
    (problem,) = plan_replay(spec(tmp_path, body), app.registry(), "orders").problems
    assert "transform 'enriched' (join, how left)" in problem


def test_the_other_inputs_of_a_union_are_emptied(tmp_path: Path) -> None:
    body = """\
transforms:
  - {name: all_rows, type: union, inputs: [orders, refunds]}
sinks:
  - {name: out, type: parquet, input: all_rows, path: out}
"""
    planned = plan_replay(spec(tmp_path, body), app.registry(), "orders")
    assert planned.problems == [] and planned.emptied == ("refunds",)


def test_an_emptied_input_that_something_else_reads_is_refused(tmp_path: Path) -> None:
    body = """\
transforms:
  - {name: all_rows, type: union, inputs: [orders, refunds]}
  - {name: with_refunds, type: join, inputs: [all_rows, refunds], on: [order_id], how: left}
sinks:
  - {name: out, type: parquet, input: with_refunds, path: out}
"""
    problems = plan_replay(spec(tmp_path, body), app.registry(), "orders").problems
    assert problems == ["stage 'refunds' is emptied for the replay (it feeds a union with the replayed rows) but "
                        "'with_refunds' reads it too"]  # fmt: skip


def test_a_stage_feeding_no_sink_has_nothing_to_replay_into(tmp_path: Path) -> None:
    body = "sinks:\n  - {name: out, type: parquet, input: customers, path: out}\n"
    with pytest.raises(UsageError, match="feeds no sink"):
        plan_replay(spec(tmp_path, body), app.registry(), "orders")


def test_the_stage_is_chosen_when_only_one_sends_rows_to_the_queue(tmp_path: Path) -> None:
    loaded = spec(tmp_path, "sinks:\n  - {name: out, type: parquet, input: orders, path: out}\n")
    assert choose_stage(loaded, None) == "orders"
    loaded = spec(
        tmp_path,
        "sinks:\n  - {name: out, type: parquet, input: orders, path: out}\n"
        "checks:\n  - {name: c, type: not_null, stage: customers, columns: [id], action: quarantine}\n",
    )
    with pytest.raises(UsageError, match="--stage") as caught:
        choose_stage(loaded, None)
    assert caught.value.hint == "stages that send rows to the queue: orders, customers"


def test_a_replay_needs_a_run_or_a_rows_file(tmp_path: Path) -> None:
    loaded = spec(tmp_path, "sinks:\n  - {name: out, type: parquet, input: orders, path: out}\n")
    with pytest.raises(UsageError, match="--run RUN_ID"):
        replay(loaded, app.registry(), Reporter(), "r2", selection=Selection())


def test_replaying_the_same_letters_twice_is_refused_before_spark_starts(tmp_path: Path) -> None:
    loaded = spec(tmp_path, "sinks:\n  - {name: out, type: parquet, input: orders, path: out}\n")
    record_replay(loaded, {"replay_run": "r1", "at": "2026-11-25T20:00:00+00:00", "runs": ["run-a"], "stage": "orders"})
    with pytest.raises(UsageError, match="already replayed by run r1") as caught:
        replay(loaded, app.registry(), Reporter(), "r2", selection=Selection(runs=("run-b", "run-a")))
    assert "--force" in (caught.value.hint or "")


def test_an_aggregate_on_the_way_stops_the_replay_unless_forced(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not row-for-row") as caught:
        loaded = spec(tmp_path, AGGREGATE_ON_THE_WAY)
        replay(loaded, app.registry(), Reporter(), "r2", selection=Selection(runs=("run-a",)))
    assert "transform 'daily' (aggregate)" in caught.value.message
