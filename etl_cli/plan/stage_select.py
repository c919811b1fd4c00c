"""``run --select`` and ``run --resume``: which stages a run computes and which it reads from checkpoints.

A selector names a stage: ``STAGE`` (just it), ``STAGE+`` (it and every stage that reads it, directly
or not, sinks included), ``+STAGE`` (it and every stage it reads), ``+STAGE+`` (both). A selected stage
whose input is not selected reads that input from a checkpoint (``checkpoint: true``): the input's own,
or the nearest checkpointed stage above it, the stages between them then computed again. A resumed run
computes what the failed run's uncommitted sinks need, reading what the failed run checkpointed.

Everything here is offline: the runtime looks the checkpoints up and hands over what it found
(:class:`CheckpointRef`); a checkpoint is read only when its fingerprint, the hash of the definition
of its stage and of every stage above it (:func:`stage_fingerprint`), is the current one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from etl_cli.errors import UsageError
from etl_cli.model.checkpoints import CHECKPOINT_KEY, is_checkpointed
from etl_cli.model.graph import StageGraph
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.schema import NAME_PATTERN
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import StageSpec

FINGERPRINT_VERSION = 1
#: stage keys that do not change the rows a stage outputs: changing them keeps its checkpoints usable
_NOT_DATA = frozenset({"description", "count_rows", "retry", CHECKPOINT_KEY})
#: a sink that ended so in a failed run has nothing left to do: a resumed run leaves it alone
_COMMITTED = frozenset({"ok", "skipped"})
_SELECTOR_HINT = "use STAGE (just it), STAGE+ (it and what reads it), +STAGE (it and what it reads) or +STAGE+"


@dataclass(frozen=True)
class StageSelector:
    """One ``--select`` value, parsed."""

    name: str
    upstream: bool = False
    downstream: bool = False


def parse_selector(text: str) -> StageSelector:
    """``STAGE``, ``STAGE+``, ``+STAGE`` or ``+STAGE+``; anything else is a UsageError."""
    upstream, downstream = text.startswith("+"), len(text) > 1 and text.endswith("+")
    name = text[1 if upstream else 0 : len(text) - 1 if downstream else len(text)]
    if not _is_stage_name(name):
        raise UsageError(f"--select '{text}' is not a stage selector", hint=_SELECTOR_HINT)
    return StageSelector(name, upstream, downstream)


def _is_stage_name(name: str) -> bool:
    return re.fullmatch(NAME_PATTERN, name) is not None


def selected_stages(plan: Plan, selectors: Sequence[str]) -> frozenset[str]:
    """The stages the selectors name (an unknown name is a UsageError with a did-you-mean)."""
    graph = StageGraph(plan.upstream)
    chosen: set[str] = set()
    for selector in map(parse_selector, selectors):
        plan.stage(selector.name)
        chosen.add(selector.name)
        if selector.upstream:
            chosen.update(graph.upstream(selector.name))
        if selector.downstream:
            chosen.update(graph.downstream([selector.name]))
    return frozenset(chosen)


def stage_fingerprint(pipeline: PipelineSpec, name: str) -> str:
    """The hash of what makes ``name``'s rows: its definition and that of every stage it reads, directly or not.

    Type, inputs and every option count (a var or ``--set`` that changes one changes the hash), as do
    the checks that remove rows (drop, quarantine) on those stages; only ``description``, ``count_rows``,
    ``retry`` and ``checkpoint`` do not. The data read is not part of it: a checkpoint is what was read then.
    """
    graph = StageGraph.of((s.name, s.inputs) for s in pipeline.stages)
    names = sorted({name, *graph.upstream(name)})
    stages = [_definition(pipeline.stage(n)) for n in names]
    checks = [
        {"name": c.name, "type": c.type, "stage": c.stage, "action": c.action, "options": c.options}
        for c in pipeline.checks
        if c.stage in names and c.removes_rows
    ]
    text = json.dumps(
        {"version": FINGERPRINT_VERSION, "stages": stages, "checks": checks}, sort_keys=True, default=_plain
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _definition(stage: StageSpec) -> dict[str, Any]:
    options = {k: v for k, v in stage.options.items() if k not in _NOT_DATA}
    return {"name": stage.name, "kind": stage.kind, "type": stage.type, "inputs": stage.inputs, "options": options}


def _plain(value: Any) -> Any:
    """What JSON cannot write as is: frozen mappings (the options), and scalars YAML typed (dates)."""
    return dict(value) if isinstance(value, Mapping) else str(value)


@dataclass(frozen=True)
class CheckpointRef:
    """A checkpoint the runtime found for a stage: the run that wrote it and the fingerprint it was written for."""

    run_id: str
    fingerprint: str


#: the checkpoint of a stage that a run may read (None: there is none)
Lookup = Callable[[str], CheckpointRef | None]


@dataclass(frozen=True)
class StageChoice:
    """What a ``--select`` or ``--resume`` run does: the sub-plan it runs and where that plan starts."""

    #: the stages the run computes, the stages it reads from checkpoints and the sinks it writes
    plan: Plan
    #: stages read from a checkpoint, with the run that wrote it
    from_checkpoint: Mapping[str, str]
    #: what was asked (the run results record it)
    selectors: tuple[str, ...] = ()
    resumed: str | None = None
    #: the sinks the resumed run committed (left alone), by name
    committed: frozenset[str] = field(default_factory=frozenset)

    @property
    def computed(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.plan.stages if s.name not in self.from_checkpoint)

    def to_json(self) -> dict[str, Any]:
        return {
            "select": list(self.selectors),
            "resume": self.resumed,
            "stages": list(self.computed),
            "from_checkpoint": dict(self.from_checkpoint),
        }


def choose_for_select(plan: Plan, selectors: Sequence[str], latest: Lookup) -> StageChoice:
    """The selected stages, and for each input they read that is not selected, a checkpoint to read it from.

    ``latest(stage)``: the newest checkpoint of ``stage`` a successful run wrote. An input without a
    usable one is computed from the nearest stages above it that have one; when that reaches a source
    without one, the run is refused (UsageError) at the input's line, saying what would make it possible.
    """
    selected = selected_stages(plan, selectors)
    computed, reads = set(selected), {}
    problems: list[tuple[StageSpec, StageSpec, _Covered]] = []
    for stage in plan.stages:
        if stage.name not in selected:
            continue
        for name in stage.inputs:
            if name in computed or name in reads:
                continue
            covered = _cover(plan, name, latest)
            if covered.blocked:
                problems.append((stage, plan.stage(name), covered))
                continue
            computed |= covered.computed
            reads.update(covered.reads)
    if problems:
        raise _no_checkpoint(plan, problems, latest)
    return StageChoice(plan.only(computed | set(reads)), reads, selectors=tuple(selectors))


@dataclass
class _Covered:
    """How to get a stage's rows without reading a source: stages to compute, checkpoints to read.

    ``blocked``: the sources that would have to be read (no usable checkpoint on their way): then it cannot.
    """

    computed: set[str] = field(default_factory=set)
    reads: dict[str, str] = field(default_factory=dict)
    blocked: list[StageSpec] = field(default_factory=list)


def _cover(plan: Plan, name: str, latest: Lookup) -> _Covered:
    ref = latest(name)
    if ref is not None and ref.fingerprint == stage_fingerprint(plan.pipeline, name):
        return _Covered(reads={name: ref.run_id})
    stage = plan.stage(name)
    if stage.kind == "source":
        return _Covered(blocked=[stage])
    found = _Covered(computed={name})
    for upstream in stage.inputs:
        covered = _cover(plan, upstream, latest)
        found.computed |= covered.computed
        found.reads.update(covered.reads)
        found.blocked += [s for s in covered.blocked if s not in found.blocked]
    return found


def _no_checkpoint(plan: Plan, problems: list[tuple[StageSpec, StageSpec, _Covered]], latest: Lookup) -> UsageError:
    """The refusal: which selected stage reads which stage, and why no checkpoint can stand in for it."""
    lines = []
    for index, (reader, missing, covered) in enumerate(problems):
        where = f" (defined at {missing.location})" if index and missing.location else ""
        lines.append(
            f"{reader.kind} '{reader.name}' reads {missing.kind} '{missing.name}'{where}, which is not selected, "
            f"and no checkpoint can stand in for it: {_why_unreadable(plan, missing, covered, latest)}"
        )
    reader, first, covered = problems[0]
    also = f"or select what '{reader.name}' reads too (--select +{reader.name}+)"
    if is_checkpointed(first) or all(is_checkpointed(s) for s in covered.blocked):
        hint = f"run the whole pipeline once (without --select) to write the checkpoints; {also}"
    else:
        hint = f"set 'checkpoint: true' on {first.kind} '{first.name}' and run the whole pipeline once; {also}"
    return UsageError("--select: " + "; ".join(lines), location=first.location, hint=hint)


def _why_unreadable(plan: Plan, stage: StageSpec, covered: _Covered, latest: Lookup) -> str:
    if is_checkpointed(stage):
        why = _why_not(plan.pipeline, stage, latest(stage.name))
    else:
        why = f"'{stage.name}' has no 'checkpoint: true'"
    if stage.kind == "source":
        return why
    sources = ", ".join(
        _why_not(plan.pipeline, s, latest(s.name)) if is_checkpointed(s) else f"{s.kind} '{s.name}' has none"
        for s in covered.blocked
    )
    return f"{why}, and computing it would read {_names(covered.blocked)} ({sources})"


def _names(stages: Sequence[StageSpec]) -> str:
    return ", ".join(f"{s.kind} '{s.name}'" for s in stages)


def _why_not(spec: PipelineSpec, stage: StageSpec, ref: CheckpointRef | None) -> str:
    if ref is not None:
        return (
            f"the latest checkpoint of {stage.kind} '{stage.name}' (run {ref.run_id}) was written for another "
            "definition of it or of a stage it reads"
        )
    return (
        f"no successful run of pipeline '{spec.name}' (env {spec.env or 'default'}) wrote a checkpoint of "
        f"{stage.kind} '{stage.name}'"
    )


@dataclass(frozen=True)
class FailedRun:
    """What a resumed run needs from the failed run's results."""

    run_id: str
    #: each stage's status in that run, by name
    status: Mapping[str, str]


def choose_for_resume(plan: Plan, failed: FailedRun, checkpoint_of: Lookup) -> StageChoice:
    """Compute what the failed run's uncommitted sinks need, reading what it checkpointed.

    ``checkpoint_of(stage)``: the checkpoint the failed run wrote of ``stage`` (or read, from an
    earlier run). A stage is computed again unless it has one; a stage with ``checkpoint: true``
    that succeeded in the failed run must have one that matches its current definition, else the
    resume is refused (UsageError): it could not continue that run, only start another.
    """
    committed = frozenset(s.name for s in plan.sinks if failed.status.get(s.name) in _COMMITTED)
    targets = [s for s in plan.sinks if s.name not in committed]
    if not targets:
        raise UsageError(
            f"every sink of run {failed.run_id} committed: there is nothing to resume",
            hint="run the pipeline again (without --resume) to start a new run",
        )
    walk = _ResumeWalk(plan, failed, checkpoint_of)
    for sink in targets:
        walk.computed.add(sink.name)
        walk.need(sink.inputs[0])
    if walk.problems:
        raise UsageError(f"cannot resume run {failed.run_id}: " + "; ".join(walk.problems), hint=walk.hint())
    names = walk.computed | set(walk.reads)
    return StageChoice(plan.only(names), walk.reads, resumed=failed.run_id, committed=committed)


@dataclass
class _ResumeWalk:
    """From the sinks to resume upstream, stopping at each stage the failed run checkpointed."""

    plan: Plan
    failed: FailedRun
    checkpoint_of: Lookup
    computed: set[str] = field(default_factory=set)
    reads: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def need(self, name: str) -> None:
        if name in self.computed or name in self.reads:
            return
        stage = self.plan.stage(name)
        ref = self.checkpoint_of(name)
        if ref is not None and ref.fingerprint == stage_fingerprint(self.plan.pipeline, name):
            self.reads[name] = ref.run_id
            return
        if ref is not None:
            self.problems.append(
                f"{stage.kind} '{name}' or a stage it reads changed since run {ref.run_id} wrote its checkpoint"
            )
            return
        if is_checkpointed(stage) and self.failed.status.get(name) == "ok":
            self.problems.append(f"the checkpoint run {self.failed.run_id} wrote of {stage.kind} '{name}' is gone")
            return
        self.computed.add(name)
        for upstream in stage.inputs:
            self.need(upstream)

    def hint(self) -> str:
        return (
            "a resumed run continues the failed run with its checkpoints, as that run defined the stages; "
            "put the definition back as it was, or run the pipeline again without --resume"
        )
