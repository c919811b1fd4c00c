"""Reading a pipeline's dead-letter queue back: ``etl-cli dlq count`` and ``etl-cli dlq show``.

The queue is read with the source plug-in of the same type as its sink (parquet, json,
jdbc...), so whatever can hold dead letters can be inspected the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl_cli.errors import UsageError
from etl_cli.events import Reporter
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import compile_plan
from etl_cli.plugins.api import RunContext, Source, StageSpec
from etl_cli.plugins.checks import DeadLetterSpec
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sources.files import FileSource
from etl_cli.runtime.execution.workspace import Workspace, open_workspace
from etl_cli.runtime.safeguards.dead_letters import COLUMNS, DEAD_LETTER_DDL
from etl_cli.runtime.safeguards.masking import DisplayMask, display_mask

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

MASK = "***"
#: the run id of an inspection, as the secrets audit log records it
INSPECTION_RUN = "dlq-inspect"


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command looks at (None: any)."""

    runs: tuple[str, ...] = ()
    check: str | None = None
    stage: str | None = None
    kind: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"runs": list(self.runs), "check": self.check, "stage": self.stage, "kind": self.kind}


def dead_letter_spec(spec: PipelineSpec) -> DeadLetterSpec:
    """The pipeline's dead-letter queue; a usage error when it keeps none."""
    found = spec.dead_letter
    if found is None:
        raise UsageError(
            f"pipeline '{spec.name}' has no dead-letter queue",
            hint="add dead_letter: {type: parquet, path: dead_letters} to the pipeline",
        )
    return found


@contextmanager
def open_queue(spec: PipelineSpec, registry: Registry, master: str | None = None) -> Iterator[Workspace]:
    """Spark set up as a run sets it up (packages, secrets), for reading the queue back; stopped after the block."""
    dead_letter_spec(spec)
    nothing_to_run = compile_plan(spec).restricted_to(())
    with open_workspace(nothing_to_run, registry, Reporter(), INSPECTION_RUN, master=master) as workspace:
        yield workspace


def read_queue(ctx: RunContext, spec: PipelineSpec, registry: Registry, selection: Selection) -> DataFrame | None:
    """The selected dead letters (lazily), or None when the queue holds nothing yet."""
    from pyspark.sql import functions as F

    queue = dead_letter_spec(spec)
    if queue.type not in registry.types("source"):
        raise UsageError(f"etl-cli cannot read dead letters back from a '{queue.type}' queue (no such source type)")
    if "path" in queue.options and not _exists(ctx, ctx.path(str(queue.options["path"]))):
        return None
    plugin = registry.get("source", queue.type)()
    assert isinstance(plugin, Source)
    source = queue.as_source()
    options: dict[str, Any] = {k: v for k, v in source.options.items() if k not in ("retry", "mode", "coalesce")}
    if isinstance(plugin, FileSource):
        # JSON files leave out null fields and CSV has no types: read with the queue's own schema
        # (run_id comes from the partition folders)
        options["schema"] = DEAD_LETTER_DDL.rsplit(", run_id STRING", 1)[0]
    df = plugin.read(ctx, StageSpec(source.name, "source", source.type, (), options, source.location))
    if missing := sorted(set(COLUMNS) - set(df.columns)):
        raise UsageError(
            f"the {queue.type} source reads {queue.target} without the dead-letter columns {', '.join(missing)}",
            hint="etl-cli dlq reads file and JDBC queues; read a Kafka queue with a consumer (values are JSON)",
        )
    if selection.runs:
        df = df.filter(F.col("run_id").isin(list(selection.runs)))
    if selection.stage:
        df = df.filter(F.col("stage") == selection.stage)
    if selection.kind:
        df = df.filter(F.col("kind") == selection.kind)
    if selection.check:
        df = df.filter(F.array_contains(F.split(F.col("check"), ", "), selection.check))
    return df


def _exists(ctx: RunContext, uri: str) -> bool:
    from etl_cli.plugins.sinks.staging import file_tree

    return file_tree(ctx.spark, uri).exists(uri)


def counts(df: DataFrame | None) -> list[dict[str, Any]]:
    """Dead letters per run, stage, kind and check, newest run first."""
    if df is None:
        return []
    rows = df.groupBy("run_id", "stage", "kind", "check").count().collect()
    found = [
        {"run_id": r["run_id"], "stage": r["stage"], "kind": r["kind"], "check": r["check"], "rows": int(r["count"])}
        for r in rows
    ]
    return sorted(found, key=lambda r: (r["run_id"] or "", r["stage"] or "", r["kind"] or "", r["check"] or ""))[::-1]


def letters(df: DataFrame | None, spec: PipelineSpec, limit: int, reveal: bool = False) -> list[dict[str, Any]]:
    """Up to ``limit`` dead letters, oldest first; sensitive columns of their stage masked unless ``reveal``."""
    if df is None:
        return []
    rows = df.orderBy("failed_at", "run_id").limit(limit).collect()
    display = display_mask(spec)
    found = []
    for r in rows:
        letter = {k: r[k] for k in ("failed_at", "run_id", "stage", "kind", "check", "reason", "row", "raw")}
        letter["failed_at"] = str(letter["failed_at"]) if letter["failed_at"] is not None else None
        if not reveal:
            _mask(letter, display)
        found.append(letter)
    return found


def _mask(letter: dict[str, Any], display: DisplayMask) -> None:
    """The letter's sensitive and unprotected tagged columns (of its stage) hidden (docs/data-security.md)."""
    stage = letter["stage"] if isinstance(letter["stage"], str) else None
    if not display.columns(stage):
        return
    letter["row"] = display.json_row(stage, letter["row"])
    if letter["raw"] is not None:
        letter["raw"] = MASK  # raw text cannot be split into columns reliably: all of it is hidden
