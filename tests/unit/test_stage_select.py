"""``run --select`` and ``run --resume`` without Spark: selectors, the stages chosen, fingerprints.

The pipeline below (written by hand) has two checkpointed sources and one checkpointed transform:

    orders* -> paid -> agg* -> joined -> ranked -> out
                  \\-> paid_out      /
    customers* ---------------------/          (* checkpoint: true)

Checkpoints are handed over as a dict of ``CheckpointRef``; the expected stage sets are worked out
from the drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.errors import UsageError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import compile_plan
from etl_cli.plan.stage_select import (
    CheckpointRef,
    FailedRun,
    Lookup,
    StageSelector,
    choose_for_resume,
    choose_for_select,
    parse_selector,
    selected_stages,
    stage_fingerprint,
)
from tests.unit.helpers import write

PIPELINE = """
    name: shop
    sources:
      - {name: orders, type: csv, path: orders.csv, checkpoint: true}
      - {name: customers, type: csv, path: customers.csv, checkpoint: true}
    transforms:
      - {name: paid, type: filter, inputs: [orders], condition: "status = 'paid'"}
      - name: agg
        type: aggregate
        inputs: [paid]
        group_by: [customer_id]
        aggregations: {n: {function: count}}
        checkpoint: true
      - {name: joined, type: join, inputs: [agg, customers], on: [customer_id]}
      - {name: ranked, type: sql, inputs: [joined], query: "SELECT * FROM joined"}
    sinks:
      - {name: paid_out, type: parquet, input: paid, path: out/paid}
      - {name: out, type: parquet, input: ranked, path: out/ranked}
    checks:
      - {name: positive, type: expression, stage: paid, expression: "amount > 0", action: warn}
"""


def load(tmp_path: Path, sets: Sequence[str] = ()) -> PipelineSpec:
    write(tmp_path, "pipeline.yaml", PIPELINE)
    return app.load_spec(tmp_path / "pipeline.yaml", None, sets)[1]


@pytest.fixture
def spec(tmp_path: Path) -> PipelineSpec:
    return load(tmp_path)


def current(spec: PipelineSpec, run_id: str, *stages: str) -> dict[str, CheckpointRef]:
    """Checkpoints of ``stages`` written by ``run_id`` for the stages' current definitions."""
    return {name: CheckpointRef(run_id, stage_fingerprint(spec, name)) for name in stages}


def lookup(found: Mapping[str, CheckpointRef]) -> Lookup:
    return found.get


# ----------------------------------------------------------------- selectors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agg", StageSelector("agg")),
        ("agg+", StageSelector("agg", downstream=True)),
        ("+agg", StageSelector("agg", upstream=True)),
        ("+agg+", StageSelector("agg", upstream=True, downstream=True)),
    ],
)
def test_a_selector_is_a_stage_name_with_optional_plus_signs(text: str, expected: StageSelector) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize("text", ["", "+", "++", "agg++", "a+b", "1agg", "agg,paid", "tag:x"])
def test_anything_else_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="is not a stage selector"):
        parse_selector(text)


def test_stage_plus_selects_everything_that_reads_it_sinks_included(spec: PipelineSpec) -> None:
    assert selected_stages(compile_plan(spec), ["agg+"]) == {"agg", "joined", "ranked", "out"}


def test_plus_stage_selects_everything_it_reads(spec: PipelineSpec) -> None:
    assert selected_stages(compile_plan(spec), ["+joined"]) == {"joined", "agg", "paid", "orders", "customers"}


def test_a_bare_name_selects_only_that_stage_and_selectors_add_up(spec: PipelineSpec) -> None:
    assert selected_stages(compile_plan(spec), ["agg", "paid_out"]) == {"agg", "paid_out"}


def test_an_unknown_stage_is_a_usage_error_with_a_suggestion(spec: PipelineSpec) -> None:
    with pytest.raises(UsageError, match="no stage named 'agy'") as caught:
        selected_stages(compile_plan(spec), ["agy+"])
    assert caught.value.hint == "did you mean 'agg'?"


# ----------------------------------------------------------------- choosing the stages of --select


def test_an_input_outside_the_selection_is_read_from_its_checkpoint(spec: PipelineSpec) -> None:
    found = current(spec, "r1", "agg", "customers", "orders")
    choice = choose_for_select(compile_plan(spec), ["joined+"], lookup(found))
    assert choice.from_checkpoint == {"agg": "r1", "customers": "r1"}
    assert choice.computed == ("joined", "ranked", "out")
    assert {s.name for s in choice.plan.stages} == {"agg", "customers", "joined", "ranked", "out"}


def test_the_sub_plan_cuts_the_inputs_of_a_stage_read_from_a_checkpoint(spec: PipelineSpec) -> None:
    found = current(spec, "r1", "agg", "customers")
    plan = choose_for_select(compile_plan(spec), ["joined+"], lookup(found)).plan
    assert plan.upstream["agg"] == ()
    assert plan.upstream["joined"] == ("agg", "customers")
    assert [s.name for s in plan.sinks] == ["out"]


def test_a_stale_checkpoint_is_passed_over_for_the_nearest_usable_one_above(spec: PipelineSpec) -> None:
    found = {**current(spec, "r1", "orders", "customers"), "agg": CheckpointRef("r2", "another definition")}
    choice = choose_for_select(compile_plan(spec), ["joined+"], lookup(found))
    assert choice.from_checkpoint == {"orders": "r1", "customers": "r1"}
    assert set(choice.computed) == {"paid", "agg", "joined", "ranked", "out"}


def test_selected_sources_are_read_and_nothing_is_looked_up(spec: PipelineSpec) -> None:
    choice = choose_for_select(compile_plan(spec), ["+agg"], lookup({}))
    assert choice.from_checkpoint == {}
    assert choice.computed == ("orders", "paid", "agg")


def test_without_a_checkpoint_to_start_from_the_run_is_refused_at_the_input(spec: PipelineSpec) -> None:
    with pytest.raises(UsageError) as caught:
        choose_for_select(compile_plan(spec), ["ranked+"], lookup({}))
    error = caught.value
    assert error.location == spec.stage("joined").location
    assert error.message.startswith(
        "--select: transform 'ranked' reads transform 'joined', which is not selected, and no checkpoint can stand in "
        "for it: 'joined' has no 'checkpoint: true', and computing it would read source 'orders', source 'customers'"
    )
    assert "no successful run of pipeline 'shop' (env default) wrote a checkpoint of source 'orders'" in error.message
    assert error.hint is not None and error.hint.startswith("run the whole pipeline once (without --select)")


def test_the_hint_names_the_stage_that_needs_checkpoint_true(tmp_path: Path) -> None:
    spec = load(tmp_path, ["sources.0.checkpoint=false", "sources.1.checkpoint=false"])
    with pytest.raises(UsageError) as caught:
        choose_for_select(compile_plan(spec), ["ranked+"], lookup({}))
    assert caught.value.hint == (
        "set 'checkpoint: true' on transform 'joined' and run the whole pipeline once; "
        "or select what 'ranked' reads too (--select +ranked+)"
    )


def test_the_selection_is_recorded_as_asked(spec: PipelineSpec) -> None:
    choice = choose_for_select(compile_plan(spec), ["joined+"], lookup(current(spec, "r1", "agg", "customers")))
    assert choice.to_json() == {
        "select": ["joined+"],
        "resume": None,
        "stages": ["joined", "ranked", "out"],
        "from_checkpoint": {"agg": "r1", "customers": "r1"},
    }


# ----------------------------------------------------------------- fingerprints


def test_a_change_above_a_stage_changes_its_fingerprint(tmp_path: Path, spec: PipelineSpec) -> None:
    changed = load(tmp_path / "b", ["transforms.0.condition=status = 'shipped'"])
    assert stage_fingerprint(changed, "agg") != stage_fingerprint(spec, "agg")
    assert stage_fingerprint(changed, "orders") == stage_fingerprint(spec, "orders")


def test_a_change_below_a_stage_keeps_its_fingerprint(tmp_path: Path, spec: PipelineSpec) -> None:
    changed = load(tmp_path / "b", ["transforms.3.query=SELECT 1 AS one FROM joined"])
    assert stage_fingerprint(changed, "agg") == stage_fingerprint(spec, "agg")


@pytest.mark.parametrize(
    "change", ["transforms.1.description=counts", "sources.0.count_rows=false", "transforms.1.checkpoint=false"]
)
def test_keys_that_do_not_change_rows_keep_the_fingerprint(tmp_path: Path, spec: PipelineSpec, change: str) -> None:
    assert stage_fingerprint(load(tmp_path / "b", [change]), "agg") == stage_fingerprint(spec, "agg")


def test_a_check_that_drops_rows_above_a_stage_changes_its_fingerprint(tmp_path: Path, spec: PipelineSpec) -> None:
    assert stage_fingerprint(load(tmp_path / "b", ["checks.0.action=drop"]), "agg") != stage_fingerprint(spec, "agg")


# ----------------------------------------------------------------- --resume


def test_a_resumed_run_computes_what_the_uncommitted_sinks_need_from_the_failed_runs_checkpoints(
    spec: PipelineSpec,
) -> None:
    failed = FailedRun("f1", {"orders": "ok", "customers": "ok", "paid": "ok", "agg": "ok", "joined": "ok",
                              "ranked": "failed", "paid_out": "not_run", "out": "not_run"})  # fmt: skip
    choice = choose_for_resume(compile_plan(spec), failed, lookup(current(spec, "f1", "orders", "customers", "agg")))
    assert choice.from_checkpoint == {"orders": "f1", "customers": "f1", "agg": "f1"}
    assert set(choice.computed) == {"paid", "paid_out", "joined", "ranked", "out"}
    assert choice.resumed == "f1" and choice.committed == frozenset()


def test_sinks_the_failed_run_committed_are_left_alone(spec: PipelineSpec) -> None:
    failed = FailedRun("f1", {"orders": "ok", "customers": "ok", "agg": "ok", "paid_out": "ok", "out": "failed"})
    choice = choose_for_resume(compile_plan(spec), failed, lookup(current(spec, "f1", "orders", "customers", "agg")))
    assert choice.committed == {"paid_out"}
    assert set(choice.computed) == {"joined", "ranked", "out"}


def test_a_checkpointed_stage_the_failed_run_never_reached_is_computed(spec: PipelineSpec) -> None:
    failed = FailedRun("f1", {"orders": "ok", "customers": "ok", "paid": "failed", "agg": "not_run"})
    choice = choose_for_resume(compile_plan(spec), failed, lookup(current(spec, "f1", "orders", "customers")))
    assert set(choice.computed) == {"paid", "agg", "joined", "ranked", "paid_out", "out"}


def test_resuming_is_refused_when_a_checkpoint_it_needs_is_gone(spec: PipelineSpec) -> None:
    failed = FailedRun("f1", {"orders": "ok", "customers": "ok", "agg": "ok", "ranked": "failed"})
    with pytest.raises(UsageError, match="the checkpoint run f1 wrote of transform 'agg' is gone"):
        choose_for_resume(compile_plan(spec), failed, lookup(current(spec, "f1", "orders", "customers")))


def test_resuming_is_refused_when_the_definition_changed(tmp_path: Path, spec: PipelineSpec) -> None:
    changed = load(tmp_path / "b", ["transforms.0.condition=status = 'shipped'"])
    failed = FailedRun("f1", {"orders": "ok", "customers": "ok", "agg": "ok", "ranked": "failed"})
    with pytest.raises(UsageError, match="transform 'agg' or a stage it reads changed since run f1"):
        choose_for_resume(compile_plan(changed), failed, lookup(current(spec, "f1", "orders", "customers", "agg")))


def test_resuming_a_run_whose_sinks_all_committed_is_refused(spec: PipelineSpec) -> None:
    failed = FailedRun("f1", {"paid_out": "ok", "out": "skipped"})
    with pytest.raises(UsageError, match="every sink of run f1 committed: there is nothing to resume"):
        choose_for_resume(compile_plan(spec), failed, lookup({}))
