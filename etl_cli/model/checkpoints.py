"""``checkpoint: true`` on a stage and the pipeline's ``checkpoints:`` retention (docs/orchestration.md).

A checkpointed source or transform keeps its output of each batch run as Parquet under the state
folder, so ``run --select STAGE+`` can start after it and ``run --resume RUN_ID`` can restart a failed
run after it. This module holds the two schema fragments and the parsed retention settings; the
runtime writes, reads and removes the checkpoints (runtime/bookkeeping/checkpoints.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from etl_cli.plugins.api import StageSpec

#: the stage key; every source and transform takes it
CHECKPOINT_KEY = "checkpoint"
DEFAULT_RETENTION_RUNS = 3

CHECKPOINT_SCHEMA: dict[str, Any] = {
    "type": "boolean",
    "default": False,
    "description": "Keep this stage's output of each batch run as Parquet under the state folder, so "
    "run --select can start after it and run --resume can restart a failed run after it "
    "(docs/orchestration.md#within-a-pipeline-stage-selection-and-checkpoints). Written once the stage is "
    "computed, in one more Spark job; the stages after it read the written copy.",
}

CHECKPOINTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "How long the checkpoints of stages with checkpoint: true are kept; applied after each "
    "successful run. Checkpoints of runs that did not succeed are kept for run --resume until a later run succeeds.",
    "properties": {
        "retention_runs": {
            "type": "integer",
            "minimum": 1,
            "default": DEFAULT_RETENTION_RUNS,
            "description": "For each stage, the checkpoints of this many successful runs are kept (the newest).",
        },
        "retention_days": {
            "type": "integer",
            "minimum": 1,
            "description": "Checkpoints of runs that started more than this many days ago are removed, whatever "
            "retention_runs says. Default: no age limit.",
        },
    },
}


@dataclass(frozen=True)
class CheckpointSettings:
    """The pipeline's ``checkpoints:`` block, defaults filled."""

    retention_runs: int = DEFAULT_RETENTION_RUNS
    #: None: no age limit
    retention_days: int | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> CheckpointSettings:
        block = document.get("checkpoints") or {}
        return cls(block.get("retention_runs", DEFAULT_RETENTION_RUNS), block.get("retention_days"))


def is_checkpointed(stage: StageSpec) -> bool:
    """Whether ``stage`` keeps its output (``checkpoint: true``; sinks never do)."""
    return stage.kind != "sink" and stage.option(CHECKPOINT_KEY) is True
