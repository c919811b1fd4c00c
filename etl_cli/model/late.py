"""Late records of a stream: which stateful stages send the records their watermark drops to the
dead-letter queue instead of losing them, and what ``validate`` says about it (docs/streaming.md, "Late
records"). No pyspark here: validation is offline; the runtime part is etl_cli/runtime/streams/late.py.

A streaming source's ``watermark: {column, delay, late}`` says what happens to its records that arrive
after the watermark has passed them: ``late: dead_letter`` (the default when the pipeline has a
``dead_letter:`` queue) routes them to the queue, ``late: drop`` lets Spark drop them (the default without
a queue, with a validate warning). Covered, each with the rule Spark drops by (``rule``):

- an ``aggregate`` with a fixed ``window`` (tumbling, or sliding with ``slide``) on the watermark's column,
  reading the stream through stateless stages (``window``: the end of the row's window);
- an ``aggregate`` with a session window (``gap``) on the watermark's column (``session``: the end of the
  row's own session, event time + gap);
- a ``deduplicate`` of a stream (``event``: the event-time column);
- a ``join`` of two streams (``event``: each side's event-time column).

The last three must be the first stateful stage on the stream (no aggregate, deduplicate or join of
streams before them), as Spark judges later operators against another watermark. Not covered (their late
records are dropped by Spark; validate warns): a window on a column without a watermark, a deduplicate or a
join after another stateful stage, a join of more than two inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, error, warning
from etl_cli.model.graph import StageGraph

LATE_ACTIONS = ("dead_letter", "drop")


@dataclass(frozen=True)
class Stage:
    """What this module needs of a stage: of a validated plan, or of a document being validated."""

    kind: str
    name: str
    type: str
    inputs: tuple[str, ...]
    options: Mapping[str, Any]
    path: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class LateSplit:
    """One stateful stage whose late input records go to the dead-letter queue."""

    #: the aggregate, deduplicate or join (the stage that drops them: the dead letters' ``stage``)
    stage: str
    #: the event-time column: the window's column, or the watermark's (the runtime takes the column Spark
    #: marks as event time in each input, for the rule ``event``)
    column: str
    #: a fixed window's duration, a session window's gap ("" for the rule ``event``)
    duration: str
    slide: str | None
    #: the watermarked sources upstream, with their delay
    sources: tuple[tuple[str, str], ...]
    #: what Spark compares with the watermark: ``window`` (the end of the row's window), ``session`` (the end of
    #: the row's own session: event time + gap), ``event`` (the event time itself: deduplicate, join sides)
    rule: str = "window"


def late_action(watermark: Mapping[str, Any], has_dead_letter: bool) -> str:
    """What a watermark does with late records: its ``late``, else dead_letter when there is a queue."""
    action = watermark.get("late")
    if action in LATE_ACTIONS:
        return str(action)
    return "dead_letter" if has_dead_letter else "drop"


def late_splits(stages: Iterable[Stage], has_dead_letter: bool) -> list[LateSplit]:
    """The aggregates whose late records are dead-lettered (watermark ``late`` resolved to dead_letter)."""
    return [split for split, action in _covered(list(stages), has_dead_letter) if action == "dead_letter"]


def _watermarked(stages: list[Stage]) -> Iterator[tuple[Stage, tuple[Stage, ...]]]:
    """Each transform that reads a watermarked source, with those sources."""
    graph = StageGraph.of((s.name, s.inputs) for s in stages)
    by_name = {s.name: s for s in stages}
    for stage in stages:
        if stage.kind != "transform":
            continue
        sources = _sources(stage.name, graph, by_name)
        if sources:
            yield stage, sources


def _sources(name: str, graph: StageGraph, by_name: Mapping[str, Stage]) -> tuple[Stage, ...]:
    """The watermarked sources ``name`` reads (or is)."""
    found = [by_name[n] for n in (name, *graph.upstream(name)) if n in by_name]
    return tuple(s for s in found if s.kind == "source" and isinstance(s.options.get("watermark"), Mapping))


def _stateful_before(stage: Stage, stages: list[Stage]) -> str | None:
    """A stateful stage on a stream before ``stage`` (an aggregate, deduplicate or join of streams), if any."""
    graph = StageGraph.of((s.name, s.inputs) for s in stages)
    by_name = {s.name: s for s in stages}
    for name in graph.upstream(stage.name):
        before = by_name.get(name)
        if before is None or before.kind != "transform" or not _sources(name, graph, by_name):
            continue
        if before.type in ("aggregate", "deduplicate") or (before.type == "join" and _joins_streams(before, stages)):
            return name
    return None


def _joins_streams(stage: Stage, stages: list[Stage]) -> bool:
    graph = StageGraph.of((s.name, s.inputs) for s in stages)
    by_name = {s.name: s for s in stages}
    return sum(1 for name in stage.inputs if _sources(name, graph, by_name)) > 1


def _rule(stage: Stage, sources: tuple[Stage, ...], stages: list[Stage]) -> tuple[str, tuple[Stage, ...]] | None:
    """Spark's rule for the late records of ``stage`` and the sources it applies to; None: not covered."""
    columns = {s.options["watermark"].get("column") for s in sources}
    window = stage.options.get("window")
    if stage.type == "aggregate" and isinstance(window, Mapping):
        marked = tuple(s for s in sources if s.options["watermark"].get("column") == window.get("column"))
        if not marked:
            return None
        if window.get("duration"):
            return "window", marked
        if window.get("gap") and _stateful_before(stage, stages) is None:
            return "session", marked
        return None
    if _stateful_before(stage, stages) is not None:
        return None
    if stage.type == "deduplicate" and (
        stage.options.get("within_watermark") or columns & set(stage.options.get("keys") or [])
    ):
        return "event", sources
    if stage.type == "join" and len(stage.inputs) == 2 and _joins_streams(stage, stages):
        return "event", sources
    return None


def _covered(stages: list[Stage], has_dead_letter: bool) -> Iterator[tuple[LateSplit, str]]:
    for stage, sources in _watermarked(stages):
        found = _rule(stage, sources, stages)
        if found is None:
            continue
        rule, marked = found
        window = stage.options.get("window") if rule != "event" else None
        actions = {late_action(s.options["watermark"], has_dead_letter) for s in marked}
        split = LateSplit(
            stage.name,
            str(window["column"]) if isinstance(window, Mapping) else str(marked[0].options["watermark"].get("column")),
            str(window.get("duration") or window.get("gap")) if isinstance(window, Mapping) else "",
            str(window["slide"]) if isinstance(window, Mapping) and window.get("slide") else None,
            tuple((s.name, str(s.options["watermark"].get("delay"))) for s in marked),
            rule,
        )
        yield split, "dead_letter" if "dead_letter" in actions else "drop"


def document_stages(document: Mapping[str, Any]) -> list[Stage]:
    """The stages of a document being validated (items without a name or type left out)."""
    found = []
    for kind, section in (("source", "sources"), ("transform", "transforms"), ("sink", "sinks")):
        for index, item in enumerate(document.get(section) or []):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            raw = [item["input"]] if kind == "sink" else (item.get("inputs") or [])
            inputs = tuple(i for i in raw if isinstance(i, str))
            found.append(Stage(kind, item["name"], str(item.get("type")), inputs, item, (section, index)))
    return found


def uses_dead_letter(document: Mapping[str, Any]) -> bool:
    """Whether late records of this (streaming) document go to its dead-letter queue."""
    return bool(late_splits(document_stages(document), bool(document.get("dead_letter"))))


def late_problems(document: Mapping[str, Any], provenance: Provenance) -> list[Diagnostic]:
    """``late: dead_letter`` without a queue (error); late records that will be dropped (warnings)."""
    stages = document_stages(document)
    has_queue = bool(document.get("dead_letter"))
    found = []
    for stage in stages:
        watermark = stage.options.get("watermark") if stage.kind == "source" else None
        if isinstance(watermark, Mapping) and watermark.get("late") == "dead_letter" and not has_queue:
            found.append(
                error(
                    "late-data",
                    f"source '{stage.name}': watermark late: dead_letter, but the pipeline has no dead_letter queue",
                    provenance.value_location((*stage.path, "watermark", "late")),
                    "add dead_letter: {type: parquet, path: dead_letters/<pipeline>}, or set late: drop",
                )
            )
    for split, action in _covered(stages, has_queue):
        if action == "drop" and not any(
            isinstance(s.options.get("watermark"), Mapping) and s.options["watermark"].get("late") == "drop"
            for s in stages
            if s.name in dict(split.sources)
        ):
            found.append(
                warning(
                    "late-data",
                    f"transform '{split.stage}': records later than the watermark will be dropped (the pipeline "
                    "has no dead_letter queue to send them to)",
                    provenance.value_location(
                        _path_of(stages, split.stage, *(("window",) if split.rule != "event" else ()))
                    ),
                    "add a dead_letter: queue to keep them, or set late: drop on the source's watermark to "
                    "say that dropping them is intended",
                )
            )
    found += _uncovered(stages, has_queue, provenance)
    return found


def _uncovered(stages: list[Stage], has_queue: bool, provenance: Provenance) -> list[Diagnostic]:
    """Stateful transforms whose late records Spark drops although the watermark says dead_letter."""
    found = []
    for stage, sources in _watermarked(stages):
        if not any(late_action(s.options["watermark"], has_queue) == "dead_letter" for s in sources):
            continue
        if _rule(stage, sources, stages) is not None:
            continue
        window = stage.options.get("window")
        columns = {s.options["watermark"].get("column") for s in sources}
        before = _stateful_before(stage, stages)
        after = f" after the stateful stage '{before}'" if before else ""
        if stage.type == "aggregate" and isinstance(window, Mapping):
            if window.get("column") not in columns:
                what = "a window on a column without a watermark"
            elif window.get("gap"):
                what = f"a session window{after}"
            else:
                continue  # neither duration nor gap: validate refuses the window itself, it is no session window
        elif stage.type == "deduplicate" and (
            stage.options.get("within_watermark") or columns & set(stage.options.get("keys") or [])
        ):
            what = f"a deduplicate of a stream{after}"
        elif stage.type == "join" and _joins_streams(stage, stages):
            what = f"a join of streams{after}" if before else "a join of more than two inputs"
        else:
            continue
        found.append(
            warning(
                "late-data",
                f"transform '{stage.name}': the late records of {what} are dropped by Spark, not sent to the "
                "dead-letter queue",
                provenance.value_location(stage.path),
                "late records go to the queue from windows on the watermark's column, and from session windows, "
                "deduplicates and joins of two streams that are the first stateful stage on the stream "
                "(docs/streaming.md, Late records)",
            )
        )
    return found


def _path_of(stages: list[Stage], name: str, *more: str) -> tuple[str | int, ...]:
    stage = next(s for s in stages if s.name == name)
    return (*stage.path, *more)
