"""Streaming operators that keep state: stream-stream joins, deduplication and session windows, and the
output mode each sink's query writes in.

``validate`` refuses what would keep state for ever (a join of two streams without a watermark on each
side and a time range, a deduplication no watermark bounds), and what Spark refuses at start (update output
of a session window, a join of two streams other than inner or left outer as etl-cli runs them), each at
the stage's line. Offline: reads the document, imports no pyspark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, error

#: join types etl-cli runs between two streams (tested against the real broker; see docs/streaming.md)
STREAM_JOIN_TYPES = ("inner", "left")

SINK_OUTPUT_MODE: dict[str, Any] = {
    "enum": ["append", "update"],
    "description": "Streaming pipelines: this sink's query output mode, over the pipeline's "
    "streaming.output_mode. update needs a sink that can replace a row (kafka, jdbc with mode: upsert); "
    "append writes each window once, final. See docs/streaming.md#output-mode-per-sink.",
}


class StageItem(Protocol):
    """A stage of the document being validated (``etl_cli.model.streaming._Item``)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def path(self) -> tuple[str | int, ...]: ...
    @property
    def inputs(self) -> list[str]: ...


#: name → the stages it reads, directly or not, nearest first
Upstream = Callable[[str], Sequence[str]]


def watermarks(name: str, upstream: Upstream, by_name: Mapping[str, StageItem], streaming: set[str]) -> list[Any]:
    """The ``watermark`` setting (a mapping, or None) of each streaming source ``name`` reads (or is)."""
    found = []
    for stage in (name, *upstream(name)):
        item = by_name.get(stage)
        if item is not None and item.kind == "source" and stage in streaming:
            found.append(item.data.get("watermark"))
    return found


def watermark_columns(name: str, upstream: Upstream, by_name: Mapping[str, StageItem], streaming: set[str]) -> set[str]:
    return {str(w["column"]) for w in watermarks(name, upstream, by_name, streaming) if isinstance(w, dict)}


def _bare(column: str) -> str:
    return column.split(".", 1)[1] if "." in column else column


def join_problems(
    provenance: Provenance, item: StageItem, upstream: Upstream, by_name: Mapping[str, StageItem], streaming: set[str]
) -> list[Diagnostic]:
    """A join whose steps join two streams: inner or left, a watermark on each side, a time range (``within``)."""
    data, inputs = item.data, item.inputs
    joins = data.get("joins")
    overrides: list[Any] = joins if isinstance(joins, list) else [{}] * (len(inputs) - 1)
    where = provenance.value_location(item.path)
    found: list[Diagnostic] = []
    for index, right in enumerate(inputs[1:]):
        left = [name for name in inputs[: index + 1] if name in streaming]
        if right not in streaming or not left or index >= len(overrides):
            continue
        override = overrides[index] if isinstance(overrides[index], Mapping) else {}
        how = override.get("how", data.get("how", "inner"))
        within = override.get("within", data.get("within"))
        step = f"transform '{item.name}' joins the streams {', '.join(left)} and {right}"
        if how not in STREAM_JOIN_TYPES:
            found.append(
                error(
                    "streaming-join",
                    f"{step} with how: {how}; etl-cli joins two streams inner or left outer",
                    where,
                    "use how: inner or left (put the stream whose rows must all be kept on the left)",
                )
            )
            continue
        missing = [
            n
            for n in (*left, right)
            if not all(isinstance(w, dict) for w in watermarks(n, upstream, by_name, streaming))
        ]
        if missing:
            found.append(
                error(
                    "streaming-state",
                    f"{step}, but {', '.join(missing)} reads a stream without a watermark: Spark would keep every "
                    "row of both streams in its state for ever"
                    + (" and never write the unmatched left rows" if how == "left" else ""),
                    where,
                    'add watermark: {column: <event time>, delay: "10 minutes"} to every streaming source the join '
                    "reads, and a within: time range between the two event times",
                )
            )
        if not isinstance(within, Mapping):
            found.append(
                error(
                    "streaming-state",
                    f"{step} without a time range (within:): Spark would keep every row of both streams in its "
                    "state for ever, waiting for a match"
                    + (", and never write the unmatched left rows" if how == "left" else ""),
                    where,
                    'add within: {left: <left event time>, right: <right event time>, lower: "-10 minutes", '
                    'upper: "0 seconds"} (right between left + lower and left + upper)',
                )
            )
            continue
        key = ("joins", index, "within") if "within" in override else ("within",)
        found += _within_column_problems(provenance, item, key, within, left, right, upstream, by_name, streaming)
    return found


def _within_column_problems(
    provenance: Provenance,
    item: StageItem,
    key: tuple[str | int, ...],
    within: Mapping[str, Any],
    left: list[str],
    right: str,
    upstream: Upstream,
    by_name: Mapping[str, StageItem],
    streaming: set[str],
) -> list[Diagnostic]:
    """The time range must be on the watermarked columns: those are what let Spark drop old rows."""
    found = []
    sides = (("left", left), ("right", [right]))
    for side, names in sides:
        column = within.get(side)
        columns = set().union(*(watermark_columns(n, upstream, by_name, streaming) for n in names))
        if not isinstance(column, str) or not columns or _bare(column) in columns:
            continue
        found.append(
            error(
                "streaming-state",
                f"transform '{item.name}': within.{side} is {column}, but the watermark of {', '.join(names)} is on "
                f"{', '.join(sorted(columns))}: Spark could not tell when a row can no longer match",
                provenance.value_location((*item.path, *key, side)),
                f"within.{side}: {sorted(columns)[0]} (the event time the watermark is on)",
            )
        )
    return found


def dedup_problems(
    provenance: Provenance, item: StageItem, upstream: Upstream, by_name: Mapping[str, StageItem], streaming: set[str]
) -> list[Diagnostic]:
    """A deduplication of a stream: within the watermark, or keyed on the watermark's column; else its state grows
    with every key ever seen."""
    data = item.data
    if data.get("order_by"):
        return []  # refused as not-streamable
    marks = watermarks(item.name, upstream, by_name, streaming)
    columns = watermark_columns(item.name, upstream, by_name, streaming)
    watermarked = bool(marks) and all(isinstance(w, dict) for w in marks)
    where = provenance.value_location(item.path)
    if data.get("within_watermark"):
        if watermarked:
            return []
        return [
            error(
                "streaming-watermark",
                f"transform '{item.name}' drops duplicates within the watermark, but a stream it reads has no "
                "watermark",
                provenance.value_location((*item.path, "within_watermark")),
                'add watermark: {column: <event time>, delay: "10 minutes"} to the streaming source: a key\'s first '
                "row is remembered for that long",
            )
        ]
    given = data.get("keys")
    keys: list[Any] = given if isinstance(given, list) else []
    if watermarked and columns & {str(k) for k in keys}:
        return []
    return [
        error(
            "streaming-state",
            f"transform '{item.name}' deduplicates a stream on {', '.join(map(str, keys))}: Spark would remember "
            "every key ever seen, and its state would grow for ever",
            where,
            "set within_watermark: true (a duplicate arriving within the source's watermark delay of the first "
            "row is dropped), or add the watermark's event-time column to keys",
        )
    ]


def session_update_problem(
    provenance: Provenance, sink: StageItem, aggregates: Sequence[StageItem], setting: str, where_key: str
) -> list[Diagnostic]:
    """Spark writes session windows in append mode only."""
    sessions = [a for a in aggregates if isinstance(a.data.get("window"), dict) and "gap" in a.data["window"]]
    if not sessions:
        return []
    return [
        error(
            "streaming-output-mode",
            f"sink '{sink.name}' writes the session windows of '{sessions[0].name}', which Spark writes in append "
            f"mode only, but {setting} is update",
            provenance.value_location((*sink.path, where_key)),
            "set output_mode: append on the sink (each session written once, when the watermark passes its end)",
        )
    ]
