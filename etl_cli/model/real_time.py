"""Real-time mode (``streaming.trigger: {real_time: "5 minutes"}``): what a pipeline may contain to run in it.

In real-time mode (Spark 4.1) a query's tasks run for the whole of a long batch (the duration given) and pass
each record on as soon as it is read, instead of one micro-batch after another: latency falls from seconds to
milliseconds. Spark runs only stateless plans this way: filters, projections, unions, ``explode``,
``observe`` (etl-cli's row counts) and broadcast joins with a static side, from a Kafka source into a Kafka
sink (Spark's ``RealTimeModeAllowlist``). It refuses anything else when the query starts; ``validate``
refuses it earlier, at the line that brings it in:

- transforms other than the stateless ones below (aggregates, windows, deduplication, sorts, stream-stream
  joins, anything run through Python);
- sinks other than Kafka, and quarantine checks (their dead-letter query writes micro-batch by micro-batch);
- a watermark (nothing stateful is left for it to bound) and late-record routing;
- Spark Connect (the trigger exists on the JVM only; pyspark 4.1 has no Python form of it).

Offline: reads the document, imports no pyspark.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.model.streaming_state import StageItem

#: transform types whose Spark plans real-time mode runs (projections, filters, unions, explode), and
#: ``lookup``, a broadcast join with a static side
REAL_TIME_TRANSFORMS = (
    "select",
    "filter",
    "derive",
    "cast",
    "rename",
    "drop",
    "fill_nulls",
    "case",
    "flatten",
    "explode",
    "union",
    "lookup",
)
#: sink types real-time mode writes (Spark's allowlist has the Kafka sink among etl-cli's sinks)
REAL_TIME_SINKS = ("kafka",)
#: source types it reads (the Kafka source is the one that supports real-time mode)
REAL_TIME_SOURCES = ("kafka",)
_HINT = 'use trigger: {processing_time: "0 seconds"} (micro-batches) for this pipeline'


def is_real_time(document: Mapping[str, Any]) -> bool:
    block = document.get("streaming")
    trigger = block.get("trigger") if isinstance(block, dict) else None
    return isinstance(trigger, dict) and "real_time" in trigger


def real_time_problems(
    document: Mapping[str, Any], provenance: Provenance, items: list[Any], streaming: set[str]
) -> list[Diagnostic]:
    """Every part of a real-time pipeline that Spark would refuse to run in real-time mode, each at its line."""
    if not is_real_time(document):
        return []
    found = []
    stages: list[StageItem] = items
    for item in stages:
        if item.name not in streaming:
            continue
        kind, type_ = item.kind, item.data.get("type")
        if kind == "source" and type_ not in REAL_TIME_SOURCES:
            found.append(_refused(provenance, item, f"source type '{type_}' cannot be read in real-time mode"))
        if kind == "source" and isinstance(item.data.get("watermark"), dict):
            found.append(
                error(
                    "streaming-real-time",
                    f"source '{item.name}': a watermark has no use in real-time mode, which runs no stateful "
                    "operator (aggregate, window, deduplication, stream-stream join) for it to bound",
                    provenance.key_location((*item.path, "watermark")),
                    "remove the watermark, or run micro-batches (trigger processing_time) to aggregate",
                )
            )
        if kind == "transform" and type_ not in REAL_TIME_TRANSFORMS:
            why = _transform_why(str(type_))
            found.append(_refused(provenance, item, f"transform '{item.name}' ({type_}): {why}"))
        if kind == "sink" and type_ not in REAL_TIME_SINKS:
            found.append(
                _refused(
                    provenance,
                    item,
                    f"sink '{item.name}' ({type_}): real-time mode writes to kafka sinks only",
                    "write to Kafka in real-time mode and load other targets from that topic, or " + _HINT,
                )
            )
    for index, check in enumerate(document.get("checks") or []):
        if isinstance(check, dict) and check.get("action") == "quarantine" and check.get("stage") in streaming:
            found.append(
                error(
                    "streaming-real-time",
                    f"check '{check.get('name')}': quarantine writes the dead-letter queue micro-batch by "
                    "micro-batch, which real-time mode does not run",
                    provenance.value_location(("checks", index, "action")),
                    "use action drop, warn or fail in real-time mode, or " + _HINT,
                )
            )
    spark = document.get("spark")
    if isinstance(spark, dict) and spark.get("remote"):
        found.append(
            error(
                "streaming-real-time",
                "real-time mode cannot run over Spark Connect: pyspark sets the real-time trigger through the "
                "driver's JVM",
                provenance.value_location(("streaming", "trigger", "real_time")),
                "run in-process or on a cluster (--master), or " + _HINT,
            )
        )
    return found


def _transform_why(type_: str) -> str:
    if type_ == "join":
        return (
            "real-time mode joins a stream only with a static side broadcast to every task: use a lookup "
            "transform (a broadcast left join) instead"
        )
    return (
        "real-time mode runs stateless transforms only (" + ", ".join(REAL_TIME_TRANSFORMS) + "); this one "
        "keeps state, shuffles or runs Python code"
    )


def _refused(provenance: Provenance, item: StageItem, message: str, hint: str = _HINT) -> Diagnostic:
    return error("streaming-real-time", message, provenance.value_location((*item.path, "type")), hint)
