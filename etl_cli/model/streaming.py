"""Streaming pipelines: the ``streaming:`` block, and the rules a pipeline must follow to run as
Spark Structured Streaming queries.

A pipeline is streaming when one of its sources reads a stream (a source plug-in's
``is_streaming``, e.g. ``kafka`` with ``mode: stream``). Then every sink starts one
streaming query that writes each micro-batch, with its checkpoint in
``<checkpoint_location>/<sink name>``; the trigger (when micro-batches run) and the output
mode (finished windows only, or every change to a window as it happens) are set for the
whole pipeline. Event-time settings (the watermark) belong to the streaming source.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, error, warning
from etl_cli.model.graph import StageGraph
from etl_cli.model.late import late_problems
from etl_cli.model.late import uses_dead_letter as late_uses_queue
from etl_cli.model.real_time import real_time_problems
from etl_cli.model.streaming_state import dedup_problems, join_problems, session_update_problem
from etl_cli.model.validation import describe_path
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND, Kind, Plugin, Sink, Source
from etl_cli.plugins.quality.base import Check
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_types import output_name

DEFAULT_STOP_TIMEOUT_S = 30
OUTPUT_MODES = ("append", "update")

_TRIGGER = {
    "description": 'When micro-batches run: {processing_time: "10 seconds"} (one batch per interval, for ever), '
    "{available_now: true} (everything available when the run starts, in as many batches as needed, then stop) "
    'or {once: true} (the same in a single batch; deprecated in Spark 4), or {real_time: "5 minutes"} '
    "(real-time mode: tasks that run for the whole duration given and pass each record on as soon as it is "
    "read, for millisecond latency; stateless pipelines from Kafka to Kafka only, see docs/streaming.md). "
    'Default: processing_time "0 seconds", a new batch as soon as the previous one ends.',
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "processing_time": {"type": "string", "minLength": 1, "description": 'Interval, e.g. "30 seconds".'},
        "available_now": {"const": True, "description": "Process what is available, then stop."},
        "once": {"const": True, "description": "Process what is available in one micro-batch, then stop."},
        "real_time": {
            "type": "string",
            "minLength": 1,
            "description": 'Real-time mode; how long each of its long-running batches lasts, e.g. "5 minutes" '
            "(progress, row counts and the checkpoint are written at the end of each).",
        },
    },
}

STREAMING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "How a streaming pipeline runs (one whose source has mode: stream). See docs/streaming.md.",
    "properties": {
        "checkpoint_location": {
            "type": "string",
            "minLength": 1,
            "description": "Folder for the queries' checkpoints, one subfolder per sink: progress and state that "
            "let a stopped or killed run resume exactly where it was. Keep it as long as the sinks' data; "
            "relative paths are relative to the project root.",
        },
        "trigger": _TRIGGER,
        "output_mode": {
            "enum": list(OUTPUT_MODES),
            "default": "append",
            "description": "What aggregating queries write. append: each window once, final, when the watermark "
            "has passed its end (the lowest write volume, but results wait for the watermark). update: every "
            "micro-batch writes the windows it changed, with their values so far, so results are seconds "
            "fresher; only sinks that can replace a row take updates (kafka, jdbc with mode: upsert), file "
            "sinks append only. Queries without an aggregate write the same rows either way.",
        },
        "count_rows": {
            "type": "boolean",
            "default": True,
            "description": "Whether each sink's query counts the rows it writes (an observe beside the sink, read "
            "from each micro-batch's progress: the rows in the summary, results and metrics). false leaves the "
            "count out: in real-time mode it costs about a seventh of the query's CPU (docs/streaming.md).",
        },
        "stop_timeout_s": {
            "type": "number",
            "minimum": 0,
            "default": DEFAULT_STOP_TIMEOUT_S,
            "description": "On SIGTERM or SIGINT, how long to let a running micro-batch finish before stopping "
            "the queries (a second signal stops at once).",
        },
    },
}


@dataclass(frozen=True)
class Trigger:
    """When micro-batches run: ``kind`` is processing_time, available_now, once or real_time (``interval``: the
    processing time's interval, or the duration of a real-time batch)."""

    kind: str
    interval: str | None = None

    @property
    def bounded(self) -> bool:
        """Whether the queries stop by themselves once the data available at the start is processed."""
        return self.kind not in ("processing_time", "real_time")

    @classmethod
    def from_document(cls, value: Mapping[str, Any] | None) -> Trigger:
        if not value:
            return cls("processing_time", "0 seconds")
        if "processing_time" in value:
            return cls("processing_time", str(value["processing_time"]))
        if "real_time" in value:
            return cls("real_time", str(value["real_time"]))
        return cls("available_now" if value.get("available_now") else "once")


@dataclass(frozen=True)
class StreamingSettings:
    """The pipeline's ``streaming:`` block, for a pipeline that streams."""

    checkpoint_location: str
    trigger: Trigger
    stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S
    #: append or update (see ``STREAMING_SCHEMA``); a sink that cannot take updates always appends
    output_mode: str = "append"
    #: whether each sink's query counts the rows it writes
    count_rows: bool = True

    def checkpoint_for(self, sink: str) -> str:
        """The checkpoint folder of one sink's query (before resolving against the project root)."""
        return f"{self.checkpoint_location.rstrip('/')}/{sink}"

    def output_mode_for(self, plugin: type[Sink], mode: str | None, requested: str | None = None) -> str:
        """Spark's output mode for one sink's query, writing in ``mode`` (``requested``: the sink's own
        ``output_mode``, over the pipeline's).

        A sink that cannot take updates gets append: validation refused it where an aggregate
        feeds it, and without an aggregate Spark writes the same rows in both modes.
        """
        if self.trigger.kind == "real_time":
            return "update"  # the one mode Spark 4.1 runs real-time queries in; stateless, they write the same rows
        if (requested or self.output_mode) == "update" and sink_takes_updates(plugin, mode):
            return "update"
        return "append"


@dataclass(frozen=True)
class _Item:
    """A stage item of a document being validated (which may still be invalid), with its plug-in."""

    kind: Kind
    index: int
    data: dict[str, Any]
    plugin: type[Plugin]

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def path(self) -> tuple[str | int, ...]:
        return (SECTION_OF_KIND[self.kind], self.index)

    @property
    def inputs(self) -> list[str]:
        if self.kind == "sink":
            return [self.data["input"]] if isinstance(self.data.get("input"), str) else []
        return [i for i in self.data.get("inputs") or [] if isinstance(i, str)]


def _items(document: Mapping[str, Any], registry: Registry) -> Iterator[_Item]:
    for kind in KINDS:
        for index, data in enumerate(document.get(SECTION_OF_KIND[kind]) or []):
            if (
                isinstance(data, dict)
                and isinstance(data.get("name"), str)
                and data.get("type") in registry.types(kind)
            ):
                yield _Item(kind, index, data, registry.get(kind, data["type"]))


def _streaming_sources(items: list[_Item]) -> list[_Item]:
    return [i for i in items if i.kind == "source" and issubclass(i.plugin, Source) and i.plugin.is_streaming(i.data)]


def is_streaming(document: Mapping[str, Any], registry: Registry) -> bool:
    """Whether the pipeline runs as streaming queries: one of its sources reads a stream."""
    return bool(_streaming_sources(list(_items(document, registry))))


def streaming_settings(document: Mapping[str, Any], registry: Registry) -> StreamingSettings | None:
    """The settings of a valid streaming pipeline; None for a batch pipeline."""
    if not is_streaming(document, registry):
        return None
    block = document.get("streaming") or {}
    return StreamingSettings(
        checkpoint_location=block["checkpoint_location"],
        trigger=Trigger.from_document(block.get("trigger")),
        stop_timeout_s=float(block.get("stop_timeout_s", DEFAULT_STOP_TIMEOUT_S)),
        output_mode=str(block.get("output_mode", "append")),
        count_rows=block.get("count_rows") is not False,
    )


def sink_stream_modes(plugin: type[Plugin]) -> tuple[str, ...]:
    """Modes in which a sink can write a stream: natively, or micro-batch by micro-batch."""
    if not issubclass(plugin, Sink):
        return ()
    return plugin.streaming_modes + plugin.micro_batch_modes


def sink_takes_updates(plugin: type[Plugin], mode: str | None) -> bool:
    """Whether a sink writing in ``mode`` can take update output: a window's row again each time it changes.

    Writes micro-batch by micro-batch (``micro_batch_modes``) are keyed upserts by contract, so a newer
    row replaces the older one; a native writer can when the sink says so (``stream_updates``: Kafka).
    """
    if not issubclass(plugin, Sink):
        return False
    return mode in plugin.micro_batch_modes or (plugin.stream_updates and mode in plugin.streaming_modes)


def fill_streaming_defaults(document: dict[str, Any], registry: Registry) -> None:
    """In a streaming pipeline, a sink without a mode gets the first mode it can stream with (append)."""
    if not is_streaming(document, registry):
        return
    for item in _items(document, registry):
        modes = sink_stream_modes(item.plugin)
        if item.kind == "sink" and modes:
            item.data.setdefault("mode", modes[0])


def check_streaming(document: dict[str, Any], provenance: Provenance, registry: Registry) -> list[Diagnostic]:
    """Every reason this pipeline cannot run as streaming queries, each at its place."""
    items = list(_items(document, registry))
    sources = _streaming_sources(items)
    if not sources:
        unused = [
            warning(
                "streaming-unused",
                f"sink '{i.name}': output_mode has no effect: no source reads a stream",
                provenance.key_location((*i.path, "output_mode")),
            )
            for i in items
            if i.kind == "sink" and "output_mode" in i.data
        ]
        if "streaming" in document:
            return [
                warning(
                    "streaming-unused",
                    "the streaming settings have no effect: no source reads a stream",
                    provenance.key_location(("streaming",)),
                    "set mode: stream on a kafka source, or remove the streaming block",
                ),
                *unused,
            ]
        return unused
    found = _settings_problems(document, provenance, sources[0]) + _trigger_problems(document, provenance)
    graph, by_name = StageGraph.of((i.name, i.inputs) for i in items), {i.name: i for i in items}
    streaming = graph.downstream(s.name for s in sources)
    found += _guard_problems(document, provenance, items) + late_problems(document, provenance)
    found += real_time_problems(document, provenance, items, streaming)
    found += _check_problems(document, provenance, registry, streaming)
    for item in items:
        upstream = [by_name[name] for name in graph.upstream(item.name)]  # nearest first
        if item.kind == "transform" and item.name in streaming:
            found += _transform_problems(document, provenance, item, upstream)
            if item.data.get("type") == "join":
                found += join_problems(provenance, item, graph.upstream, by_name, streaming)
            elif item.data.get("type") == "deduplicate":
                found += dedup_problems(provenance, item, graph.upstream, by_name, streaming)
        elif item.kind == "sink":
            problems = _sink_problems(provenance, item, streaming, registry)
            if not problems and item.data.get("output_mode", _output_mode(document)) == "update":
                problems = _update_problems(provenance, item, upstream, streaming)
            found += problems
    return found


def _settings_problems(document: dict[str, Any], provenance: Provenance, source: _Item) -> list[Diagnostic]:
    block = document.get("streaming")
    if isinstance(block, dict) and block.get("checkpoint_location"):
        return []
    where = provenance.key_location(("streaming",)) if block is not None else provenance.value_location(source.path)
    return [
        error(
            "streaming-checkpoint",
            f"source '{source.name}' reads a stream, so the pipeline needs streaming.checkpoint_location",
            where,
            "add streaming: {checkpoint_location: checkpoints/<pipeline>}; the checkpoint is what lets a "
            "restarted run resume without losing or repeating records",
        )
    ]


#: pipeline keys a streaming run does not apply (its queries are not run by the batch executor's stage guards)
_NOT_APPLIED = {
    "retry": "stage retries do not apply to streaming queries (a failed query fails the run; restart it)",
    "circuit_breaker": "the circuit breaker does not apply to streaming queries",
}
_ROW_BY_ROW = (
    "a stream is checked row by row as it flows: use a row-level check (not_null, range, regex, "
    "accepted_values, expression), or check the sink's output in a batch pipeline"
)


def _guard_problems(document: dict[str, Any], provenance: Provenance, items: list[_Item]) -> list[Diagnostic]:
    """Settings a streaming run would silently skip: warnings, each at its key."""
    found = []
    for key, why in _NOT_APPLIED.items():
        if document.get(key):
            found.append(warning("streaming-unsupported", f"{key}: {why}", provenance.key_location((key,))))
    for item in items:
        if item.data.get("retry"):
            message = f"{item.kind} '{item.name}': retry is not applied in a streaming run"
            found.append(warning("streaming-unsupported", message, provenance.key_location((*item.path, "retry"))))
        if item.data.get("count_rows") is False:
            message = (
                f"{item.kind} '{item.name}': count_rows is not applied in a streaming run "
                "(a stream's progress reports the rows each micro-batch read)"
            )
            where = provenance.key_location((*item.path, "count_rows"))
            found.append(warning("streaming-unsupported", message, where))
    checks = [c for c in document.get("checks") or [] if isinstance(c, dict)]
    quarantines = any(c.get("action") == "quarantine" for c in checks)
    if document.get("dead_letter") and not quarantines and not late_uses_queue(document):
        found.append(
            warning(
                "streaming-unsupported",
                "dead_letter: in a streaming run only quarantine checks and late records write to the "
                "dead-letter queue",
                provenance.key_location(("dead_letter",)),
            )
        )
    return found


def _check_problems(
    document: dict[str, Any], provenance: Provenance, registry: Registry, streaming: set[str]
) -> list[Diagnostic]:
    """Checks a stream cannot judge: dataset-level ones, thresholds, checks on stages the stream does not reach."""
    found = []
    for index, check in enumerate(document.get("checks") or []):
        if not isinstance(check, dict) or check.get("type") not in registry.types("check"):
            continue
        name, where = check.get("name"), provenance.value_location(("checks", index))
        if registry.get_as(Check, check["type"]).level == "dataset":
            message = f"check '{name}' ({check['type']}) is a dataset-level check, which a stream cannot judge"
            found.append(error("streaming-unsupported", message, where, _ROW_BY_ROW))
        elif check.get("stage") not in streaming and isinstance(check.get("stage"), str):
            message = f"check '{name}' is on stage '{check['stage']}', which does not read the stream"
            hint = "in a streaming run, checks apply to the stages the streaming source feeds"
            found.append(error("streaming-unsupported", message, where, hint))
        if "threshold" in check:
            found.append(
                error(
                    "streaming-unsupported",
                    f"check '{name}': a threshold is not applied on a stream, where each failing row is handled "
                    "as it arrives",
                    provenance.key_location(("checks", index, "threshold")),
                    "remove the threshold (action fail stops the stream at the first failing row)",
                )
            )
    return found


def _trigger_problems(document: dict[str, Any], provenance: Provenance) -> list[Diagnostic]:
    block = document.get("streaming")
    trigger = block.get("trigger") if isinstance(block, dict) else None
    if not isinstance(trigger, dict) or len(trigger) < 2:
        return []
    return [
        error(
            "streaming-trigger",
            f"give one trigger, not {' and '.join(map(str, trigger))}",
            provenance.value_location(("streaming", "trigger")),
            'trigger: {processing_time: "10 seconds"}, {available_now: true}, {once: true} or {real_time: "5 minutes"}',
        )
    ]


def _transform_problems(
    document: dict[str, Any], provenance: Provenance, item: _Item, upstream: list[_Item]
) -> list[Diagnostic]:
    found = [
        error(
            "not-streamable",
            f"{describe_path(document, (*item.path, *problem.key_path))}: {problem.message}",
            provenance.value_location((*item.path, *problem.key_path)),
            problem.hint,
        )
        for problem in item.plugin.streaming_problems(item.data)
    ]
    watermarked = any(i.kind == "source" and isinstance(i.data.get("watermark"), dict) for i in upstream)
    if isinstance(item.data.get("window"), dict) and not watermarked:
        found.append(
            error(
                "streaming-watermark",
                f"transform '{item.name}' aggregates a stream by time window, but no streaming source it reads "
                "has a watermark",
                provenance.value_location((*item.path, "window")),
                'add watermark: {column: <event time>, delay: "1 minute"} to the streaming source, so a window '
                "can be written once no more late records can change it",
            )
        )
    return found


def _sink_problems(provenance: Provenance, item: _Item, streaming: set[str], registry: Registry) -> list[Diagnostic]:
    where = provenance.value_location(item.path)
    if not any(i in streaming for i in item.inputs):
        return [
            error(
                "streaming-batch-sink",
                f"sink '{item.name}' reads no streaming source, but the pipeline runs as streaming queries",
                where,
                "write batch data from a separate batch pipeline",
            )
        ]
    modes = sink_stream_modes(item.plugin)
    if not modes:
        return [
            error(
                "streaming-sink",
                f"sink type '{item.data['type']}' cannot write a stream",
                where,
                "sink types that can: " + ", ".join(p.type for p in registry.plugins("sink") if sink_stream_modes(p)),
            )
        ]
    mode = item.data.get("mode")
    if mode is not None and mode not in modes:
        return [
            error(
                "streaming-mode",
                f"sink '{item.name}': mode {mode} is not possible on a stream; it can only "
                f"{' or '.join(modes)} each micro-batch",
                provenance.value_location((*item.path, "mode")),
                f"set mode: {modes[0]} (rows of each micro-batch are added; nothing is replaced)",
            )
        ]
    return []


# ----------------------------------------------------------------------------- output_mode: update


def _output_mode(document: Mapping[str, Any]) -> str:
    block = document.get("streaming")
    return str(block.get("output_mode", "append")) if isinstance(block, dict) else "append"


def _update_problems(
    provenance: Provenance, item: _Item, upstream: list[_Item], streaming: set[str]
) -> list[Diagnostic]:
    """Why a sink cannot take the updated rows of its query (``streaming.output_mode: update``)."""
    upstream = [i for i in upstream if i.name in streaming and i.kind == "transform"]
    mode = item.data.get("mode") or sink_stream_modes(item.plugin)[0]
    aggregates = [i for i in upstream if i.data.get("type") == "aggregate"]
    own = "output_mode" in item.data  # the sink's own output_mode: update, over the pipeline's
    setting, where_key = ("its output_mode", "output_mode") if own else ("streaming.output_mode", "type")
    if sessions := session_update_problem(provenance, item, aggregates, setting, where_key):
        return sessions
    if not sink_takes_updates(item.plugin, mode):
        if own and not aggregates:
            return [
                error(
                    "streaming-output-mode",
                    f"sink '{item.name}' ({item.data['type']}, mode {mode}) can only append, but its output_mode "
                    "is update (Spark refuses update output into it)",
                    provenance.value_location((*item.path, "output_mode")),
                    "remove output_mode (or set append); only kafka and jdbc with mode: upsert take updates",
                )
            ]
        if not aggregates:
            return []  # nothing to update: Spark writes the same rows as in append mode
        return [
            error(
                "streaming-output-mode",
                f"sink '{item.name}' ({item.data['type']}, mode {mode}) can only append, but {setting} "
                f"is update and transform '{aggregates[0].name}' aggregates its input: a window's row would have "
                "to be written again each time it changes",
                provenance.value_location((*item.path, where_key)),
                "write the live results to a kafka sink or to a jdbc sink with mode: upsert (keys: the window and "
                "group columns), or set streaming.output_mode: append (each window written once, when the "
                "watermark passes it); for both, use two pipelines reading the same topic",
            )
        ]
    joins = [i for i in upstream if i.data.get("type") == "join" and sum(n in streaming for n in i.inputs) > 1]
    if joins:
        return [
            error(
                "streaming-output-mode",
                f"sink '{item.name}' writes the join of two streams ('{joins[0].name}'), which Spark can only "
                f"append, but {setting} is update",
                provenance.value_location((*item.path, where_key)),
                "set streaming.output_mode: append",
            )
        ]
    if aggregates and item.data.get("type") == "kafka" and not item.data.get("key_column"):
        return [
            warning(
                "streaming-output-mode",
                f"sink '{item.name}' produces a window's updates without a key_column: they may land in "
                "different partitions, and a consumer may read an older count after a newer one",
                provenance.value_location((*item.path, "type")),
                "set key_column to a column that identifies the window and group (derive one, e.g. "
                "concat_ws('|', sensor, window_start)), so every update of a window goes to one partition",
            )
        ]
    direct = next((i for i in aggregates if i.name in item.inputs), None)
    return _upsert_key_problems(provenance, item, direct) if direct is not None else []


def _group_names(aggregate: _Item) -> list[str] | None:
    """Output names of an aggregate's group_by entries; None when one is an expression without an alias."""
    names = [output_name(entry) for entry in aggregate.data.get("group_by") or []]
    return None if None in names else [name for name in names if name is not None]


def _upsert_key_problems(provenance: Provenance, item: _Item, aggregate: _Item) -> list[Diagnostic]:
    """An upsert of a windowed aggregate's updates must be keyed on its window and groups, nothing else.

    Fewer keys would let two windows or groups overwrite each other; more (an aggregated value)
    would insert a new row at every update instead of replacing the old one.
    """
    keys = item.data.get("keys")
    groups = _group_names(aggregate)
    if not isinstance(keys, list) or groups is None or not isinstance(aggregate.data.get("window"), dict):
        return []
    expected = ["window_start", *groups]
    if set(expected) <= set(keys) <= {*expected, "window_end"}:
        return []
    return [
        error(
            "streaming-output-mode",
            f"sink '{item.name}' upserts the updates of '{aggregate.name}' keyed on {', '.join(map(str, keys))}, "
            f"but each of its rows is identified by {', '.join(expected)}",
            provenance.value_location((*item.path, "keys")),
            f"keys: [{', '.join(expected)}] (and a primary key or unique index on those columns)",
        )
    ]
