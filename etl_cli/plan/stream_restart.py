"""Whether a changed streaming pipeline may restart from the checkpoints of the running one (``run --watch``).

A streaming query's checkpoint holds the offsets it has read and the state of its stateful
operators (windowed aggregates, deduplication, joins of two streams). Spark resumes a query from a
checkpoint only when the query reads the same sources and keeps the same state: what it does to each
row on the way (filters, derived columns) and how the sink writes may change. The decision is made
on the typed model, comparing the old and the new plan stage by stage:

- the stages, their kinds, types and inputs, and the sinks (one query and checkpoint each) are the same;
- each source's options are the same, except its rate limits (``max_offsets_per_trigger``...);
- a row-by-row transform (``filter``, ``derive``, ``select``...) may change, but above a stateful
  stage only a ``filter`` may (the others change the columns the state is kept on);
- every other transform (aggregate, deduplicate, join, window, sql...) is unchanged;
- a sink keeps its type, input, ``path``, ``mode``, ``format`` and ``partition_by``; its other options
  may change;
- ``streaming:`` keeps its ``checkpoint_location`` and ``output_mode`` (the trigger and
  ``stop_timeout_s`` may change); ``spark:`` (the session's settings, fixed when it starts), the
  ``dead_letter:`` queue and which stages quarantine rows (each such stage has a query of its own)
  are unchanged; a ``contract:`` changes only on a stage no stateful stage reads;
- checks may change (they apply to each micro-batch as it flows).

Anything else of the pipeline (metrics, monitoring, lineage, vars only through the stages) applies
at the restart. Offline: no pyspark.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import StageSpec

#: transforms that turn each row into at most one row on their own, keeping no state across micro-batches
ROW_BY_ROW = frozenset({"filter", "derive", "select", "cast", "rename", "drop", "fill_nulls", "case", "mask", "text"})
#: transforms that may change even above a stateful stage: they change which rows pass, not their columns
COLUMN_KEEPING = frozenset({"filter"})
_SENSITIVE = re.compile(r"pass|secret|token|key|credential|auth", re.IGNORECASE)
#: source options Spark lets change between runs on one checkpoint (how much each micro-batch reads)
RATE_LIMITS = frozenset({"max_offsets_per_trigger", "min_offsets_per_trigger", "max_trigger_delay"})
#: sink options that decide where and how the query's output is kept (its file-sink log lives under ``path``)
SINK_IDENTITY = frozenset({"path", "mode", "format", "partition_by", "output_mode"})


@dataclass
class RestartDecision:
    """What changed between two plans, and what stops the new one from resuming the old one's checkpoints."""

    #: changes the restart applies, one sentence each
    changes: list[str] = field(default_factory=list)
    #: why the change cannot be applied on the checkpoints, one sentence each (empty: it can)
    blockers: list[str] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return not self.blockers

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.blockers)

    def to_json(self) -> dict[str, Any]:
        return {"compatible": self.compatible, "changes": self.changes, "blockers": self.blockers}


def restart_decision(old: Plan, new: Plan) -> RestartDecision:
    """Whether ``new`` may resume from the checkpoints of ``old`` (both streaming plans), and what changes."""
    decision = RestartDecision()
    old_stages = {s.name: s for s in old.stages}
    new_stages = {s.name: s for s in new.stages}
    for name in sorted(old_stages.keys() - new_stages.keys()):
        decision.blockers.append(f"{old_stages[name].label} was removed")
    for name in sorted(new_stages.keys() - old_stages.keys()):
        decision.blockers.append(f"{new_stages[name].label} was added")
    under_state = _feeding_state(old) | _feeding_state(new)
    for name in [s.name for s in new.stages if s.name in old_stages]:
        _compare_stage(old_stages[name], new_stages[name], name in under_state, decision)
    _compare_pipeline(old.pipeline, new.pipeline, under_state, decision)
    return decision


def _stateful(stage: StageSpec) -> bool:
    return stage.kind == "transform" and stage.type not in ROW_BY_ROW


def _feeding_state(plan: Plan) -> set[str]:
    """The stages a stateful stage reads, directly or not."""
    found: set[str] = set()
    for stage in plan.stages:
        if _stateful(stage):
            found |= plan.ancestors(stage.name)
    return found


def _compare_stage(old: StageSpec, new: StageSpec, feeds_state: bool, decision: RestartDecision) -> None:
    if (old.kind, old.type) != (new.kind, new.type):
        decision.blockers.append(f"{old.label} is now a {new.kind} of type {new.type}")
        return
    if old.inputs != new.inputs:
        decision.blockers.append(f"{new.label} reads {_names(new.inputs)} instead of {_names(old.inputs)}")
    changed = _changed_keys(old.options, new.options)
    if not changed:
        return
    before, after = _plain(old.options), _plain(new.options)
    described = f"{new.label}: " + "; ".join(_detail(key, before.get(key), after.get(key)) for key in changed)
    if new.kind == "source":
        blocking = [key for key in changed if key not in RATE_LIMITS]
        if blocking:
            decision.blockers.append(f"{described}; a source's offsets are in the checkpoint (only rate limits may)")
            return
    elif new.kind == "sink":
        blocking = [key for key in changed if key in SINK_IDENTITY]
        if blocking:
            why = f"{', '.join(blocking)} of a sink belong to its query's checkpoint and output"
            decision.blockers.append(f"{described}; {why}")
            return
    elif _stateful(new):
        decision.blockers.append(f"{described}; its state is in the checkpoint")
        return
    elif feeds_state and new.type not in COLUMN_KEEPING:
        decision.blockers.append(f"{described}; a stateful stage reads it, and its state is in the checkpoint")
        return
    decision.changes.append(described)


def _compare_pipeline(old: PipelineSpec, new: PipelineSpec, under_state: set[str], decision: RestartDecision) -> None:
    before, after = old.streaming, new.streaming
    if before is None or after is None:
        decision.blockers.append("the pipeline no longer streams" if after is None else "the pipeline now streams")
        return
    if before.checkpoint_location != after.checkpoint_location:
        decision.blockers.append("streaming.checkpoint_location changed: the new queries would start over")
    if before.output_mode != after.output_mode:
        decision.blockers.append("streaming.output_mode changed: the aggregates' state is kept for the old mode")
    if before.trigger != after.trigger:
        decision.changes.append(f"streaming.trigger: {_trigger(before.trigger)} -> {_trigger(after.trigger)}")
    if before.stop_timeout_s != after.stop_timeout_s:
        decision.changes.append(f"streaming.stop_timeout_s: {before.stop_timeout_s:g} -> {after.stop_timeout_s:g}")
    if old.spark != new.spark:
        decision.blockers.append("spark: changed: the Spark session's settings are fixed when it starts")
    if old.dead_letter != new.dead_letter:
        decision.blockers.append("dead_letter: changed: its query's checkpoint would not match")
    if _quarantining(old) != _quarantining(new):
        decision.blockers.append("the stages with quarantine checks changed: each has a query and checkpoint")
    if _checks(old) != _checks(new):
        decision.changes.append("checks: changed")
    for stage in sorted(set(old.contracts) | set(new.contracts)):
        before_contract, after_contract = old.contracts.get(stage), new.contracts.get(stage)
        if _contract(before_contract) == _contract(after_contract):
            continue
        if stage in under_state:
            decision.blockers.append(f"the contract of '{stage}' changed; a stateful stage reads it")
        else:
            decision.changes.append(f"the contract of '{stage}' changed")


def _quarantining(spec: PipelineSpec) -> set[str]:
    return {check.stage for check in spec.checks if check.action == "quarantine"}


def _checks(spec: PipelineSpec) -> list[tuple[Any, ...]]:
    return [
        (c.name, c.type, c.stage, c.action, c.severity, c.threshold, c.samples, _plain(c.options)) for c in spec.checks
    ]


def _contract(contract: Any) -> Any:
    return None if contract is None else (contract.columns, contract.policy)


def _trigger(trigger: Any) -> str:
    return f"{trigger.kind} {trigger.interval}" if trigger.interval else str(trigger.kind)


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The option keys whose values differ (added and removed keys too), in a stable order."""
    before, after = _plain(old), _plain(new)
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


def _detail(key: str, before: Any, after: Any) -> str:
    """``key: old -> new``, short; values of keys that may hold credentials are not shown."""
    if _SENSITIVE.search(key):
        return f"{key} changed"
    return f"{key}: {_short(before)} -> {_short(after)}"


def _short(value: Any) -> str:
    text = "(none)" if value is None else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names) or "nothing"


__all__ = ["RestartDecision", "restart_decision"]
