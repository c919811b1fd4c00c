"""The Iceberg source: a table of a project's iceberg catalog, as of now or as of a snapshot, and incrementally.

Time travel (one at most): ``snapshot_id``, ``timestamp`` (the table as it was at that instant),
``branch`` or ``tag``. ``incremental: true`` reads only the rows appended since the snapshot the last
successful run read up to (kept in the run's state; the first run, or ``--full-refresh``, reads the
whole table); Iceberg's incremental scan reads appends only and refuses a range holding an overwrite
or a merge, which the run then reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.errors import RunError
from etl_cli.plugins import iceberg
from etl_cli.plugins.api import OptionProblem, RunContext, Source, StageSpec
from etl_cli.plugins.registry import register

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_AS_OF = ("snapshot_id", "timestamp", "branch", "tag")


@register
class IcebergSource(Source):
    type = "iceberg"
    catalog_kind = "iceberg"
    description = (
        "Read an Apache Iceberg table of a project catalog (Hadoop, Hive metastore, REST): as of now, a snapshot, "
        "a timestamp, a branch or a tag, or incrementally (the rows appended since the last run)."
    )
    required_options = ("catalog", "table")
    options_schema: ClassVar[dict[str, Any]] = {
        "catalog": iceberg.CATALOG_OPTION,
        "table": iceberg.TABLE_OPTION,
        "snapshot_id": {"type": "integer", "description": "Read the table as of this snapshot."},
        "timestamp": {
            "type": "string",
            "minLength": 1,
            "description": "Read the table as it was at this instant (ISO 8601: 2026-05-01T12:00:00Z).",
        },
        "branch": {"type": "string", "minLength": 1, "description": "Read the head of this branch."},
        "tag": {"type": "string", "minLength": 1, "description": "Read the snapshot this tag names."},
        "incremental": {
            "type": "boolean",
            "description": "Read only the rows appended since the snapshot the last successful run read up to "
            "(kept in the run state; the first run reads the whole table). Appends only: a range holding an "
            "overwrite or a merge fails the run.",
        },
    }

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return (iceberg.runtime_package(),)

    @classmethod
    def session_settings_for(cls, options: Mapping[str, Any]) -> Mapping[str, str]:
        return iceberg.session_settings(options)

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        problems = []
        chosen = [key for key in _AS_OF if options.get(key) is not None]
        for key in chosen[1:]:
            problems.append(OptionProblem((key,), f"{chosen[0]} and {key} both choose the version read: keep one"))
        if options.get("incremental") and chosen:
            problems.append(OptionProblem(("incremental",), f"incremental reads the newest rows: drop {chosen[0]}"))
        if isinstance(options.get("timestamp"), str):
            try:
                _utc(options["timestamp"])
            except ValueError:
                problems.append(OptionProblem(("timestamp",), "not an ISO 8601 instant", "e.g. 2026-05-01T12:00:00Z"))
        return problems

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        return f"iceberg:{stage.option('catalog')}"

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        name = iceberg.display_name(stage.options)
        reader = ctx.spark.read.format("iceberg")
        options = stage.options
        # Spark 4.1's own time-travel options: Iceberg 1.12 refuses its snapshot-id/as-of-timestamp there
        if options.get("snapshot_id") is not None:
            reader = reader.option("versionAsOf", str(options["snapshot_id"]))
        elif options.get("timestamp"):
            reader = reader.option("timestampAsOf", _utc(options["timestamp"]))
        elif options.get("branch"):
            name = f"{name}.branch_{options['branch']}"
        elif options.get("tag"):
            reader = reader.option("versionAsOf", str(options["tag"]))
        elif options.get("incremental"):
            return self._incremental(ctx, stage, name)
        try:
            return reader.load(name)
        except Exception as exc:
            raise RunError(f"{stage.label}: cannot read iceberg table {name}: {_first_line(exc)}") from exc

    def _incremental(self, ctx: RunContext, stage: StageSpec, name: str) -> DataFrame:
        current = current_snapshot(ctx, stage)
        kept = None if ctx.state is None or ctx.state.full_refresh else ctx.state.get(stage.name)
        start = kept.get("snapshot_id") if kept else None
        reader = ctx.spark.read.format("iceberg")
        if current is None:
            df = reader.load(name)
        elif start is None:
            df = reader.option("versionAsOf", str(current)).load(name)
        elif int(start) == current:
            df = reader.option("versionAsOf", str(current)).load(name).limit(0)
        else:
            options = {"start-snapshot-id": str(start), "end-snapshot-id": str(current)}
            df = reader.options(**options).load(name)
        if ctx.state is not None and current is not None:
            ctx.state.save_on_success(stage.name, {"snapshot_id": current})
        return df


def current_snapshot(ctx: RunContext, stage: StageSpec) -> int | None:
    """The snapshot the table's ``main`` branch is at (None: an empty table)."""
    rows = ctx.spark.sql(f"SELECT snapshot_id FROM {iceberg.table_identifier(stage.options)}.refs WHERE name = 'main'")
    found = rows.collect()
    return int(found[0][0]) if found else None


def _utc(text: str) -> str:
    """An ISO 8601 time with its zone as UTC text Spark casts to the same instant, whatever the session's zone."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment.astimezone(UTC).isoformat()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
