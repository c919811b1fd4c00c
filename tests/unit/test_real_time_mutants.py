"""What ``validate`` refuses in a real-time pipeline (etl_cli/model/real_time.py, ``real_time_problems``): a
streaming source other than Kafka, a watermark, a stateful transform or a stream-stream join, a sink other than
Kafka, a quarantine check on a streaming stage and Spark Connect, each with its exact message, hint and place;
batch stages and the checks that do not quarantine are left alone. No JVM, no broker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from etl_cli.config.nodes import to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.model.real_time import REAL_TIME_TRANSFORMS, real_time_problems
from tests.unit.helpers import column

HINT = 'use trigger: {processing_time: "0 seconds"} (micro-batches) for this pipeline'
CODE = "streaming-real-time"


@dataclass(frozen=True)
class Item:
    """A stage of the document, as ``real_time_problems`` reads it (``etl_cli.model.streaming_state.StageItem``)."""

    kind: str
    section: str
    index: int
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def path(self) -> tuple[str | int, ...]:
        return (self.section, self.index)

    @property
    def inputs(self) -> list[str]:
        return list(self.data.get("inputs") or [self.data.get("input")])


def refused(text: str, streaming: set[str]) -> list[tuple[str, str, tuple[int, int] | None, str | None]]:
    """Code, message, (line, column) and hint of each problem of the YAML ``text`` whose streaming stages are
    ``streaming``."""
    document, provenance = to_plain(load_yaml_text(text, "p.yaml"))
    items = [
        Item(kind, section, index, data)
        for kind, section in (("source", "sources"), ("transform", "transforms"), ("sink", "sinks"))
        for index, data in enumerate(document.get(section) or [])
    ]
    return [
        (d.code, d.message, (d.location.line, d.location.column) if d.location else None, d.hint)
        for d in real_time_problems(document, provenance, items, streaming)
    ]


def at(text: str, fragment: str, token: str) -> tuple[int, int]:
    """(line, column) of ``token`` on the first line of ``text`` holding ``fragment``."""
    number, line = next((n, line) for n, line in enumerate(text.splitlines(), start=1) if fragment in line)
    return number, column(line, token)


STAGES = """\
streaming: {checkpoint_location: ck, trigger: {real_time: 30 seconds}}
sources:
  - {name: events, type: kafka, watermark: {column: ts, delay: 5 seconds}}
  - {name: landed, type: json, path: in}
  - {name: sensors, type: csv, path: sensors.csv}
transforms:
  - {name: valid, type: filter, inputs: [events], condition: "v > 0"}
  - {name: counted, type: aggregate, inputs: [valid], group_by: [sensor]}
  - {name: paired, type: join, inputs: [valid, landed], on: [id]}
  - {name: sites, type: aggregate, inputs: [sensors], group_by: [site]}
sinks:
  - {name: out, type: kafka, input: valid}
  - {name: saved, type: parquet, input: counted, path: out}
  - {name: kept, type: parquet, input: sites, path: sites}
"""
#: every stage but the batch ones (sensors and what is made of it alone)
STREAMING = {"events", "landed", "valid", "counted", "paired", "out", "saved"}


def test_each_streaming_stage_real_time_mode_cannot_run_is_refused_at_its_type_with_the_way_out() -> None:
    stateless = ", ".join(REAL_TIME_TRANSFORMS)
    assert refused(STAGES, STREAMING) == [
        (
            CODE,
            "source 'events': a watermark has no use in real-time mode, which runs no stateful operator (aggregate, "
            "window, deduplication, stream-stream join) for it to bound",
            at(STAGES, "name: events", "watermark"),
            "remove the watermark, or run micro-batches (trigger processing_time) to aggregate",
        ),
        (
            CODE,
            "source type 'json' cannot be read in real-time mode",
            at(STAGES, "name: landed", "json"),
            HINT,
        ),
        (
            CODE,
            f"transform 'counted' (aggregate): real-time mode runs stateless transforms only ({stateless}); this one "
            "keeps state, shuffles or runs Python code",
            at(STAGES, "name: counted", "aggregate"),
            HINT,
        ),
        (
            CODE,
            "transform 'paired' (join): real-time mode joins a stream only with a static side broadcast to every "
            "task: use a lookup transform (a broadcast left join) instead",
            at(STAGES, "name: paired", "join"),
            HINT,
        ),
        (
            CODE,
            "sink 'saved' (parquet): real-time mode writes to kafka sinks only",
            at(STAGES, "name: saved", "parquet"),
            "write to Kafka in real-time mode and load other targets from that topic, or " + HINT,
        ),
    ]


CHECKS = """\
streaming: {checkpoint_location: ck, trigger: {real_time: 30 seconds}}
sources:
  - {name: events, type: kafka}
  - {name: sensors, type: csv, path: sensors.csv}
sinks:
  - {name: out, type: kafka, input: events}
dead_letter: {type: json, path: dlq}
checks:
  - {name: logged, type: not_null, stage: events, column: id, action: warn}
  - {name: present, type: not_null, stage: events, column: id, action: quarantine}
  - {name: known, type: not_null, stage: sensors, column: site, action: quarantine}
"""


def test_only_a_quarantine_check_of_a_streaming_stage_is_refused_at_its_action() -> None:
    # a warn check runs in real-time mode; a quarantine check of batch data writes no query of its own
    assert refused(CHECKS, {"events", "out"}) == [
        (
            CODE,
            "check 'present': quarantine writes the dead-letter queue micro-batch by micro-batch, which real-time "
            "mode does not run",
            at(CHECKS, "name: present", "quarantine"),
            "use action drop, warn or fail in real-time mode, or " + HINT,
        )
    ]


def test_over_spark_connect_real_time_mode_is_refused_at_the_trigger_s_duration() -> None:
    text = CHECKS.split("dead_letter:")[0] + "spark: {remote: sc://localhost:15002}\n"
    assert refused(text, {"events", "out"}) == [
        (
            CODE,
            "real-time mode cannot run over Spark Connect: pyspark sets the real-time trigger through the driver's JVM",
            at(text, "real_time:", "30 seconds"),
            "run in-process or on a cluster (--master), or " + HINT,
        )
    ]
