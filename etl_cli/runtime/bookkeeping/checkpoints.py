"""Checkpoints on disk, and their retention (docs/orchestration.md#within-a-pipeline-stage-selection-and-checkpoints).

``<state_dir>/checkpoints/<pipeline>/<env>/<run_id>/`` holds what one run checkpointed:

- ``_ETL_CLI_RUN``: the run's marker (JSON: pipeline, env, run id, start, status), written with the
  run's first checkpoint as ``running`` and set to the run's outcome when it ends;
- ``<stage>/``: the stage's rows as Parquet, with ``_ETL_CLI_CHECKPOINT`` (JSON: stage, run id, the
  fingerprint of the stage's definition, rows, Spark schema, time). It is written as
  ``.<stage>.etl-staging/``, manifest last, then renamed into place: a checkpoint is whole or absent.

Retention deletes only folders carrying these markers (and the hidden staging folders inside a
marked run folder): whatever else is put there is never touched. No Spark here: the runtime
writes the Parquet files (runtime/execution/checkpointing.py); this module only reads JSON and
moves folders, under the pipeline's run lock.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from etl_cli.errors import RunError
from etl_cli.model.checkpoints import CheckpointSettings

RUN_MARKER = "_ETL_CLI_RUN"
MANIFEST = "_ETL_CLI_CHECKPOINT"
CHECKPOINT_VERSION = 1
WRITER = "etl-cli"
_STAGING_SUFFIX = ".etl-staging"


def checkpoints_folder(state_dir: Path, pipeline: str, env: str | None) -> Path:
    """Where the runs of ``pipeline`` in ``env`` keep their checkpoints."""
    return state_dir / "checkpoints" / pipeline / (env or "default")


@dataclass(frozen=True)
class Manifest:
    """One stage's checkpoint, as its manifest describes it."""

    stage: str
    run_id: str
    fingerprint: str
    rows: int | None
    #: Spark's JSON schema of the rows written
    schema: dict[str, Any]
    written_at: str
    folder: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "writer": WRITER,
            "stage": self.stage,
            "run_id": self.run_id,
            "fingerprint": self.fingerprint,
            "rows": self.rows,
            "schema": self.schema,
            "written_at": self.written_at,
        }


@dataclass(frozen=True)
class RunFolder:
    """One run's checkpoint folder, as its marker describes it."""

    run_id: str
    folder: Path
    status: str
    started_at: datetime


class CheckpointStore:
    """The checkpoints of one pipeline in one environment."""

    def __init__(self, folder: Path, pipeline: str, env: str | None):
        self.folder = folder
        self.pipeline = pipeline
        self.env = env

    # ----------------------------------------------------------------- reading

    def runs(self) -> list[RunFolder]:
        """Every run folder carrying the marker, newest first (a folder without one is not etl-cli's)."""
        if not self.folder.is_dir():
            return []
        found = [run for child in self.folder.iterdir() if (run := self._run(child)) is not None]
        return sorted(found, key=lambda r: (r.started_at, r.run_id), reverse=True)

    def _run(self, folder: Path) -> RunFolder | None:
        data = _read_json(folder / RUN_MARKER) if folder.is_dir() and not folder.is_symlink() else None
        if data is None or data.get("writer") != WRITER or data.get("run_id") != folder.name:
            return None
        try:
            started = datetime.fromisoformat(str(data.get("started_at")))
        except ValueError:
            return None
        return RunFolder(folder.name, folder, str(data.get("status")), started)

    def manifest(self, run_id: str, stage: str) -> Manifest | None:
        """The checkpoint run ``run_id`` wrote of ``stage``, or None (never written, removed, or not whole)."""
        folder = self.folder / run_id / stage
        if folder.is_symlink():
            return None
        data = _read_json(folder / MANIFEST)
        if data is None or data.get("writer") != WRITER or data.get("stage") != stage or data.get("run_id") != run_id:
            return None
        rows = data.get("rows")
        return Manifest(
            stage,
            run_id,
            str(data.get("fingerprint")),
            rows if isinstance(rows, int) else None,
            data.get("schema") or {},
            str(data.get("written_at")),
            folder,
        )

    def latest_successful(self, stage: str) -> Manifest | None:
        """The checkpoint of ``stage`` the newest successful run that wrote one wrote."""
        for run in self.runs():
            if run.status == "success" and (found := self.manifest(run.run_id, stage)) is not None:
                return found
        return None

    # ----------------------------------------------------------------- writing

    def staging(self, run_id: str, started_at: str, stage: str) -> Path:
        """An empty hidden folder to write ``stage``'s checkpoint into (the run's marker is written first)."""
        self._open_run(run_id, started_at)
        staging = self.folder / run_id / f".{stage}{_STAGING_SUFFIX}"
        if staging.exists():  # left by this run's own failed attempt at this stage (a retried write)
            shutil.rmtree(staging)
        return staging

    def publish(self, staging: Path, manifest: Manifest) -> Path:
        """Add the manifest to a written staging folder, then rename it into place: the checkpoint is whole."""
        try:
            _write_json(staging / MANIFEST, manifest.to_json())
            os.rename(staging, manifest.folder)
        except OSError as exc:
            raise RunError(
                f"the checkpoint of stage '{manifest.stage}' could not be saved to {manifest.folder}: {exc}"
            ) from exc
        return manifest.folder

    def adopt(self, run_id: str, started_at: str, manifest: Manifest) -> Path:
        """Move a checkpoint another run wrote into run ``run_id``'s folder: it is now that run's.

        A resumed run that succeeded takes over the checkpoints it read from the failed run, so they
        stay the newest successful ones when retention removes the failed run's folder.
        """
        self._open_run(run_id, started_at)
        target = self.folder / run_id / manifest.stage
        try:
            os.rename(manifest.folder, target)
            record = {**manifest.to_json(), "run_id": run_id, "written_by": manifest.run_id}
            _write_json(target / MANIFEST, record)
        except OSError as exc:
            raise RunError(f"cannot move the checkpoint {manifest.folder} to {target}: {exc}") from exc
        return target

    def _open_run(self, run_id: str, started_at: str) -> None:
        if not (self.folder / run_id / RUN_MARKER).is_file():
            self._write_marker(run_id, started_at, "running")

    def finish(self, run_id: str, started_at: str, status: str) -> None:
        """Record how the run ended in its marker (only when it checkpointed something)."""
        if (self.folder / run_id / RUN_MARKER).is_file():
            self._write_marker(run_id, started_at, status)

    def _write_marker(self, run_id: str, started_at: str, status: str) -> None:
        record = {
            "version": CHECKPOINT_VERSION,
            "writer": WRITER,
            "pipeline": self.pipeline,
            "env": self.env,
            "run_id": run_id,
            "started_at": started_at,
            "status": status,
        }
        try:
            (self.folder / run_id).mkdir(parents=True, exist_ok=True)
            _write_json(self.folder / run_id / RUN_MARKER, record)
        except OSError as exc:
            raise RunError(f"cannot write the checkpoints of run {run_id} under {self.folder}: {exc}") from exc

    # ----------------------------------------------------------------- retention

    def apply_retention(self, settings: CheckpointSettings, current: str, now: datetime | None = None) -> list[Path]:
        """After run ``current`` succeeded: remove the checkpoints beyond the retention; return what was removed.

        Per stage, the newest ``retention_runs`` successful checkpoints stay; runs that did not succeed
        and started before ``current`` go (a later success supersedes them: resuming one would publish
        older rows over newer); with ``retention_days``, runs that started before then go.
        """
        runs = [run for run in self.runs() if run.run_id != current]
        cutoff = None
        if settings.retention_days is not None:
            cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.retention_days)
        removed: list[Path] = []
        kept: Counter[str] = Counter(self._stages(self.folder / current))
        for run in runs:
            if run.status != "success" or (cutoff is not None and _aware(run.started_at) < cutoff):
                removed += self._remove_stages(run, self._stages(run.folder))
                continue
            beyond = []
            for stage in self._stages(run.folder):
                kept[stage] += 1
                if kept[stage] > settings.retention_runs:
                    beyond.append(stage)
            removed += self._remove_stages(run, beyond)
        return removed

    def _stages(self, run: Path) -> list[str]:
        """The stages with a whole checkpoint in a run folder (folders carrying the manifest)."""
        if not run.is_dir():
            return []
        run_id = run.name
        return sorted(c.name for c in run.iterdir() if self.manifest(run_id, c.name) is not None)

    def _remove_stages(self, run: RunFolder, stages: list[str]) -> list[Path]:
        """Remove these checkpoints of ``run``; the run folder too once nothing else of etl-cli's is left in it."""
        removed = []
        for stage in stages:
            shutil.rmtree(run.folder / stage)
            removed.append(run.folder / stage)
        if not self._stages(run.folder):
            for leftover in run.folder.glob(f".*{_STAGING_SUFFIX}"):
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover)
            if {c.name for c in run.folder.iterdir()} == {RUN_MARKER}:  # nothing foreign in it
                (run.folder / RUN_MARKER).unlink()
                run.folder.rmdir()
        return removed


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, record: dict[str, Any]) -> None:
    """Write, then rename: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
