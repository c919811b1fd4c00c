"""``etl-cli generate``: data for a pipeline's sources from their declared schemas, contracts and checks.

Small CSV and JSON outputs are made in this process (:mod:`etl_cli.testing.generate_files`);
Parquet, and anything above :data:`SPARK_ABOVE` rows, is made by Spark
(:mod:`etl_cli.testing.generate_spark`). Both paths make the same rows for the same seed.

Existing data is never lost by accident: every target is checked before anything is written
(an existing one is refused unless ``force``); the data is written beside the target first and
moved into place once complete; a folder is only ever replaced when ``etl-cli generate`` wrote
it (its :data:`MARKER` file says so); a failed write removes only what it wrote.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from etl_cli import app
from etl_cli.errors import UsageError
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import StageSpec, resolve_path
from etl_cli.testing.generate import GenColumn, GenSource, Parent, columns_for_source, row_generator
from etl_cli.testing.generate_files import write_csv, write_json_lines

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Format = Literal["csv", "json", "parquet"]
Engine = Literal["auto", "python", "spark"]
FORMATS: tuple[Format, ...] = ("csv", "json", "parquet")
#: above this many rows, ``--engine auto`` generates with Spark
SPARK_ABOVE = 100_000
#: the file in a folder written by ``etl-cli generate``: only such folders may be replaced (with --force)
MARKER = "_etl_generated.json"
_GLOB = set("*?[{")
#: how the files Spark writes in an output folder are named (with the marker): anything else is someone else's
_SPARK_NAMES = ("part-", "_", ".")


@dataclass(frozen=True)
class GenerateOptions:
    """What ``etl-cli generate`` was asked for."""

    sources: tuple[str, ...] = ()
    #: rows of every source without a count of its own in ``rows_by_source``
    rows: int = 100
    rows_by_source: tuple[tuple[str, int], ...] = ()
    seed: int = 0
    format: Format | None = None
    #: a folder for every source's output (DIR/<source>.<format>) instead of the paths the sources read
    output: Path | None = None
    force: bool = False
    engine: Engine = "auto"
    env: str | None = None
    sets: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    master: str | None = None

    def count(self, source: str) -> int:
        """How many rows ``source`` gets (the last ``--rows SOURCE=N`` for it, else ``--rows N``)."""
        return dict(self.rows_by_source).get(source, self.rows)


@dataclass(frozen=True)
class Target:
    """Where one source's data goes, and how it is written."""

    source: str
    path: Path
    format: Format
    engine: Literal["python", "spark"]
    header: bool = True
    sep: str = ","


@dataclass(frozen=True)
class Generated:
    """One output written."""

    source: str
    path: Path
    format: Format
    rows: int
    engine: str


def generate(pipeline: Path, options: GenerateOptions) -> list[Generated]:
    """Write each chosen source's rows; every target and column is checked before the first write."""
    # require_params: a source path built from a parameter must get its real value, never a placeholder
    _, spec = app.load_spec(pipeline, options.env, options.sets, params=options.params, require_params=True)
    _check_source_names(spec, {name: f"--rows {name}={count}" for name, count in options.rows_by_source})
    names = _chosen_sources(spec, options.sources)
    columns = {name: columns_for_source(spec, name) for name in names}
    parents = _parents(spec, columns, options)
    targets = plan_targets(spec, names, options)
    for target in targets:
        _refuse_existing(target, options.force)
    for name in names:  # a column that cannot be generated is a ConfigError now, before the first write
        row_generator(columns[name], options.count(name), options.seed, parents)
    session = _session(spec, options.master) if any(t.engine == "spark" for t in targets) else None
    try:
        return [
            _write(target, columns[target.source], parents, options, session if target.engine == "spark" else None)
            for target in targets
        ]
    finally:
        if session is not None:
            session.stop()


def plan_targets(spec: PipelineSpec, names: list[str], options: GenerateOptions) -> list[Target]:
    """Where each source's data goes, in which format and by which engine; nothing is written."""
    return [_target(spec, spec.stage(name), options) for name in names]


def declares_schema(spec: PipelineSpec, stage: StageSpec) -> bool:
    """Whether a source has columns to generate from (``schema:`` or ``contract:``)."""
    return stage.option("schema") is not None or spec.contract(stage.name) is not None


def _check_source_names(spec: PipelineSpec, given: Mapping[str, str]) -> None:
    """A UsageError for the first name that is not a source of the pipeline (``given``: name → the option naming it)."""
    sources = [s.name for s in spec.stages if s.kind == "source"]
    for name, option in given.items():
        if name not in sources:
            close = difflib.get_close_matches(name, sources, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"its sources: {', '.join(sources)}"
            raise UsageError(f"{option}: pipeline '{spec.name}' has no such source", hint=hint)


def _chosen_sources(spec: PipelineSpec, asked: tuple[str, ...]) -> list[str]:
    _check_source_names(spec, {name: f"--source {name}" for name in asked})
    if asked:
        return list(dict.fromkeys(asked))
    chosen = [s.name for s in spec.stages if s.kind == "source" and declares_schema(spec, s)]
    if not chosen:
        raise UsageError(
            f"pipeline '{spec.name}' has no source with a declared schema to generate data from",
            hint="declare a source's columns with schema: or contract:",
        )
    return chosen


def _parents(spec: PipelineSpec, columns: Mapping[str, list[GenColumn]], options: GenerateOptions) -> dict[str, Parent]:
    """Each referenced source as generated with the same row count and seed (written now or by an earlier call)."""
    referenced = {c.references[0] for cols in columns.values() for c in cols if c.references is not None}
    return {
        name: GenSource(columns.get(name) or columns_for_source(spec, name), options.count(name), options.seed)
        for name in sorted(referenced)
    }


def _target(spec: PipelineSpec, stage: StageSpec, options: GenerateOptions) -> Target:
    if options.output is not None:
        chosen: Format = options.format or _as_format(stage.type) or "csv"
        return Target(
            stage.name,
            options.output / f"{stage.name}.{chosen}",
            chosen,
            _engine(chosen, options, options.count(stage.name)),
        )
    fmt = _as_format(stage.type)
    if fmt is None:
        raise UsageError(
            f"source '{stage.name}' ({stage.type}): etl-cli generate writes csv, json or parquet to a source's path",
            hint="give --output DIR (and --format) to write the data elsewhere",
        )
    path = _source_path(stage)
    if options.format is not None and options.format != stage.type:
        raise UsageError(
            f"--format {options.format}: source '{stage.name}' reads {stage.type} files from {path}",
            hint="drop --format, or give --output DIR to write elsewhere",
        )
    reader = dict(stage.option("options") or {})
    header = str(reader.get("header", True)).lower() != "false"
    sep = str(reader.get("sep", reader.get("delimiter", ",")))
    return Target(
        stage.name,
        Path(resolve_path(path, spec.project_root)),
        fmt,
        _engine(fmt, options, options.count(stage.name)),
        header,
        sep,
    )


def _as_format(source_type: str) -> Format | None:
    """The output format that a source of ``source_type`` reads back, if generate writes it."""
    for fmt in FORMATS:
        if fmt == source_type:
            return fmt
    return None


def _source_path(stage: StageSpec) -> str:
    path = stage.option("path")
    if not isinstance(path, str) or "://" in path or path.startswith("file:") or _GLOB & set(path):
        shown = json.dumps(path, default=str) if path is not None else "no path"
        raise UsageError(
            f"source '{stage.name}' reads {shown}: etl-cli generate writes to one local file or folder",
            hint="give --output DIR to write the data there",
        )
    return path


def _engine(fmt: Format, options: GenerateOptions, count: int) -> Literal["python", "spark"]:
    if options.engine == "python":
        if fmt == "parquet":
            raise UsageError("--engine python writes csv and json only; Parquet is written by Spark")
        return "python"
    if options.engine == "spark" or fmt == "parquet" or count > SPARK_ABOVE:
        return "spark"
    return "python"


def _refuse_existing(target: Target, force: bool) -> None:
    path = target.path
    if not path.exists() and not path.is_symlink():
        return
    if not force:
        raise UsageError(f"{path} exists (source '{target.source}'): nothing was written", hint="--force replaces it")
    if path.is_dir() and not (path / MARKER).is_file():
        raise UsageError(
            f"{path} is a folder etl-cli generate did not write (no {MARKER} in it): nothing was written",
            hint="remove or move it yourself, or give --output DIR",
        )
    if path.is_dir() and (foreign := sorted(p.name for p in path.iterdir() if not p.name.startswith(_SPARK_NAMES))):
        raise UsageError(
            f"{path} holds files etl-cli generate did not write ({', '.join(foreign[:3])}): nothing was written",
            hint="move them out of the folder, or give --output DIR",
        )


def _session(spec: PipelineSpec, master: str | None) -> SparkSession:
    from etl_cli.runtime.spark.session import build_session

    # the Python workers make the rows: they must import etl_cli, so they run this interpreter
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    logs = spec.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return build_session(app_name=f"etl-cli:generate:{spec.name}", master=master, jvm_log=logs / "generate.jvm.log")


def _write(
    target: Target,
    columns: list[GenColumn],
    parents: Mapping[str, Parent],
    options: GenerateOptions,
    session: SparkSession | None,
) -> Generated:
    target.path.parent.mkdir(parents=True, exist_ok=True)
    # absolute: Spark writes it from a JVM whose working folder need not be this process's
    staging = target.path.absolute().with_name(f".{target.path.name}.generating-{uuid.uuid4().hex[:8]}")
    try:
        if session is None:
            _write_python(staging, target, columns, parents, options)
        else:
            _write_spark(session, staging, target, columns, parents, options)
        _move_into_place(staging, target.path)
    finally:
        _remove(staging)
    count = options.count(target.source)
    return Generated(target.source, target.path, target.format, count, "spark" if session else "python")


def _write_python(
    staging: Path, target: Target, columns: list[GenColumn], parents: Mapping[str, Parent], options: GenerateOptions
) -> None:
    count = options.count(target.source)
    row_at = row_generator(columns, count, options.seed, parents)
    rows = (row_at(index) for index in range(count))  # one row at a time: any count fits in memory
    names = [c.name for c in columns]
    if target.format == "csv":
        write_csv(staging, names, rows, target.header, target.sep)
    else:
        write_json_lines(staging, names, rows)


def _write_spark(
    session: SparkSession,
    staging: Path,
    target: Target,
    columns: list[GenColumn],
    parents: Mapping[str, Parent],
    options: GenerateOptions,
) -> None:
    from etl_cli.testing.generate_spark import generated_frame

    count = options.count(target.source)
    frame = generated_frame(session, columns, count, options.seed, parents)
    writer = frame.write.format(target.format).mode("errorifexists")
    if target.format == "csv":
        writer = writer.option("header", target.header).option("sep", target.sep)
    writer.save(str(staging))
    marker: dict[str, Any] = {"source": target.source, "rows": count, "seed": options.seed}
    (staging / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")


def _move_into_place(staging: Path, path: Path) -> None:
    """Replace ``path`` (checked by :func:`_refuse_existing`) with the complete new data."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    os.replace(staging, path)


def _remove(staging: Path) -> None:
    """Remove the staging copy if it is still there (a failed write): it is ours, nothing else is touched."""
    if staging.is_dir():
        shutil.rmtree(staging)
    elif staging.exists():
        staging.unlink()
