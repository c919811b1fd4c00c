"""Checkpoints in a batch run: which stages ``--select``/``--resume`` start from, writing and reading them.

A stage with ``checkpoint: true`` is written as Parquet as soon as the run has computed it (one Spark
job, which also counts its rows), and every stage after it reads the written copy, so its upstream
is computed once. A stage a run starts from is read from the checkpoint with the schema it was
written with (no inference, no Spark job) and is not checked again: its contract and checks ran in
the run that wrote it. Where checkpoints live and how long: runtime/bookkeeping/checkpoints.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.errors import UsageError
from etl_cli.model.checkpoints import CheckpointSettings, is_checkpointed
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import Plan
from etl_cli.plan.stage_select import (
    CheckpointRef,
    FailedRun,
    StageChoice,
    choose_for_resume,
    choose_for_select,
    stage_fingerprint,
)
from etl_cli.plugins.api import StageSpec
from etl_cli.runtime.bookkeeping.checkpoints import CheckpointStore, Manifest, checkpoints_folder
from etl_cli.runtime.bookkeeping.results import results_file
from etl_cli.runtime.execution.observe import RowCounter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def store_of(spec: PipelineSpec) -> CheckpointStore:
    return CheckpointStore(checkpoints_folder(spec.state_dir, spec.name, spec.env), spec.name, spec.env)


def choose_stages(
    spec: PipelineSpec, plan: Plan, select: Sequence[str], resume: str | None, results_folder: Path
) -> StageChoice | None:
    """What ``--select`` or ``--resume`` leave to run (None: the whole plan); UsageError when it cannot be done."""
    if not select and resume is None:
        return None
    if select and resume is not None:
        raise UsageError("--select and --resume cannot be used together", hint="a resumed run chooses its own stages")
    if spec.streaming is not None:
        option = "--resume" if resume is not None else "--select"
        raise UsageError(f"{option} runs part of a batch pipeline; '{spec.name}' is a streaming pipeline")
    store = store_of(spec)
    if resume is None:
        return choose_for_select(plan, select, lambda stage: _ref(store.latest_successful(stage)))
    failed, read_from = _failed_run(spec, resume, results_folder)
    return choose_for_resume(plan, failed, lambda stage: _ref(_checkpoint_in(store, resume, stage, read_from)))


def _ref(manifest: Manifest | None) -> CheckpointRef | None:
    return None if manifest is None else CheckpointRef(manifest.run_id, manifest.fingerprint)


def _checkpoint_in(store: CheckpointStore, run_id: str, stage: str, read_from: Mapping[str, str]) -> Manifest | None:
    """The checkpoint of ``stage`` run ``run_id`` wrote, or the one it read (from the run that wrote it)."""
    found = store.manifest(run_id, stage)
    if found is None and stage in read_from:
        found = store.manifest(read_from[stage], stage)
    return found


def _failed_run(spec: PipelineSpec, run_id: str, results_folder: Path) -> tuple[FailedRun, Mapping[str, str]]:
    """The run to resume, from its results file; refused unless it is a run of this pipeline that did not succeed."""
    path = results_file(results_folder, run_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"--resume {run_id}: there are no results of that run in {results_folder}",
            hint="give the id of a failed run of this pipeline (the names of the .json files there); "
            "with --results-dir, the same folder as that run",
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"--resume {run_id}: cannot read {path}: {exc}") from None
    pipeline, env = data.get("pipeline"), data.get("env")
    if pipeline != spec.name or env != spec.env:
        raise UsageError(
            f"--resume {run_id}: that is a run of pipeline '{pipeline}' (env {env or 'default'}), "
            f"not of '{spec.name}' (env {spec.env or 'default'})",
            hint="resume a run with the pipeline and --env it ran with",
        )
    if data.get("status") == "success":
        raise UsageError(f"--resume {run_id}: that run succeeded, there is nothing to resume")
    stages = [s for s in data.get("stages") or [] if isinstance(s, dict)]
    status = {str(s.get("name")): str(s.get("status")) for s in stages}
    read_from = {str(s.get("name")): str(s["from_checkpoint"]) for s in stages if s.get("from_checkpoint")}
    return FailedRun(run_id, status), read_from


class RunCheckpoints:
    """The checkpoints of one run: those it starts from (read) and those it writes."""

    def __init__(self, spec: PipelineSpec, run_id: str, started_at: str, reads: Mapping[str, str] | None = None):
        self.spec = spec
        self.store = store_of(spec)
        self.run_id = run_id
        self.started_at = started_at
        #: the manifests of the checkpoints the run starts from, by stage
        self.reading: dict[str, Manifest] = {}
        for stage, source_run in (reads or {}).items():
            manifest = self.store.manifest(source_run, stage)
            if manifest is None:  # removed since the choice was made, before the run took its lock
                raise UsageError(
                    f"the checkpoint of stage '{stage}' written by run {source_run} is gone",
                    hint="run again: the stages are chosen anew",
                )
            self.reading[stage] = manifest
        #: the checkpoints written, by stage
        self.written: dict[str, Path] = {}

    @property
    def active(self) -> bool:
        """Whether the run reads or writes any checkpoint."""
        return bool(self.reading) or any(is_checkpointed(s) for s in self.spec.stages)

    def keeps(self, stage: StageSpec) -> bool:
        return is_checkpointed(stage) and stage.name not in self.reading

    def read(self, spark: SparkSession, stage: str) -> DataFrame:
        """The rows of the checkpoint the run starts ``stage`` from, with the schema they were written with."""
        from pyspark.sql.types import StructType

        manifest = self.reading[stage]
        return spark.read.schema(StructType.fromJson(manifest.schema)).parquet(_uri(manifest.folder))

    def write(self, stage: StageSpec, df: DataFrame) -> tuple[DataFrame, int | None]:
        """Write ``df`` as ``stage``'s checkpoint, counting its rows on the way; return the written copy, the rows."""
        staging = self.store.staging(self.run_id, self.started_at, stage.name)
        counter = RowCounter(stage.name)
        counter.attach(df).write.parquet(_uri(staging))
        rows = counter.rows()
        manifest = Manifest(
            stage.name,
            self.run_id,
            stage_fingerprint(self.spec, stage.name),
            rows,
            df.schema.jsonValue(),
            datetime.now(UTC).isoformat(timespec="milliseconds"),
            self.store.folder / self.run_id / stage.name,
        )
        self.written[stage.name] = self.store.publish(staging, manifest)
        return df.sparkSession.read.schema(df.schema).parquet(_uri(manifest.folder)), rows

    def settle(self, status: str, settings: CheckpointSettings) -> list[Path]:
        """At the end of the run: record its outcome; after a success, apply the retention (return what it removed).

        A successful run first takes over the checkpoints it read from a run that did not succeed
        (``--resume``): retention then removes that run's folder, and they stay the newest.
        """
        if status == "success":
            failed = {run.run_id for run in self.store.runs() if run.status != "success"}
            for manifest in self.reading.values():
                if manifest.run_id in failed:
                    self.store.adopt(self.run_id, self.started_at, manifest)
        self.store.finish(self.run_id, self.started_at, status)
        return self.store.apply_retention(settings, self.run_id) if status == "success" else []

    def summary(self, removed: Sequence[Path] = ()) -> dict[str, Any] | None:
        """The run results' ``checkpoints``: written (stage → folder), read (stage → run id), removed."""
        if not self.active:
            return None
        return {
            "written": {stage: str(folder) for stage, folder in self.written.items()},
            "read": {stage: manifest.run_id for stage, manifest in self.reading.items()},
            "removed": [str(path) for path in removed],
        }


def _uri(folder: Path) -> str:
    """A local folder for Spark: ``file://`` so a cluster's default filesystem (HDFS) is not taken instead."""
    return f"file://{folder.resolve()}"
