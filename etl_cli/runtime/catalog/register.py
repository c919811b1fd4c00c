"""Registration in the catalogs, after a run's sinks have committed.

For each sink with a ``catalog:`` that committed (wrote and published), the entry is built from what it
wrote (the DataFrame's columns and types, the partition folders now under its target) and registered:
created, or updated when etl-cli registered it before. A registration that fails stops the run with exit
4 and a message naming the sink and table, but never takes back what was published: the data stays
where the sink put it, and the next run registers it again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from etl_cli.errors import EtlError, RunError
from etl_cli.events import Reporter, StageResult
from etl_cli.model.catalog import CatalogSpec, GlueCatalog, IcebergCatalog, Registration, table_location
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import RunContext
from etl_cli.plugins.s3 import configure_buckets
from etl_cli.plugins.sinks.staging import file_tree
from etl_cli.runtime.catalog.entry import CatalogClient, TableEntry, written_entry
from etl_cli.runtime.catalog.glue import GlueDataCatalog, glue_client
from etl_cli.runtime.catalog.hive import HiveMetastore
from etl_cli.runtime.catalog.partitions import partition_folders
from etl_cli.runtime.safeguards.masking import display_mask

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def register_written(
    spec: PipelineSpec,
    ctx: RunContext,
    written: Mapping[str, DataFrame],
    results: Sequence[StageResult],
    reporter: Reporter,
) -> None:
    """Register what each committed sink of ``spec`` with a ``catalog:`` wrote; its result's details say how."""
    clients: dict[str, CatalogClient] = {}
    tags = display_mask(spec).tags if spec.registrations else None
    for result in results:
        registration = spec.registrations.get(result.name)
        if registration is None or result.kind != "sink" or result.status != "ok" or result.name not in written:
            continue
        if tags is not None:  # the tags the columns carry along the lineage (docs/data-security.md), and states
            followed = {name: (*sorted(t.tags), *sorted(t.states)) for name, t in tags.of(result.name).items()}
            merged = {name: tuple(dict.fromkeys((*registration.column_tags.get(name, ()), *followed.get(name, ()))))
                      for name in {*registration.column_tags, *followed}}  # fmt: skip
            registration = dataclasses.replace(registration, column_tags=merged)
        entry = _entry(spec, ctx, registration, written[result.name])
        try:
            client = clients.get(registration.catalog.name) or _client(registration.catalog, ctx)
            clients[registration.catalog.name] = client
            done = client.register(entry, registration.read_options)
        except Exception as exc:
            result.details["catalog"] = {"target": registration.target, "error": _cause(exc)}
            raise _failure(registration, entry, exc) from exc
        result.details["catalog"] = {"target": registration.target, **done}
        reporter.message("info", f"{result.name}: {done['action']} {registration.target} in the catalog")


def _entry(spec: PipelineSpec, ctx: RunContext, registration: Registration, df: DataFrame) -> TableEntry:
    """The entry of what the sink wrote: the frame's columns and types, the partition folders of its target."""
    target = ctx.path(registration.path)
    partitions: list[str] = []
    if registration.partition_by:
        stage = spec.stage(registration.sink)
        configure_buckets(ctx, stage, [target])
        partitions = partition_folders(file_tree(ctx.spark, target), target, registration.partition_by)
    fields = [(f.name, f.dataType.simpleString()) for f in df.schema.fields]
    registered_by = {"project": spec.project.name, "pipeline": spec.name, "sink": registration.sink}
    location = table_location(registration, spec.project_root)
    return written_entry(registration, fields, location, partitions, {**registered_by, "run_id": ctx.run_id})


def _client(catalog: CatalogSpec, ctx: RunContext) -> CatalogClient:
    if isinstance(catalog, GlueCatalog):
        return GlueDataCatalog(catalog, glue_client(catalog))
    assert not isinstance(catalog, IcebergCatalog), "the model refuses registrations in iceberg catalogs"
    return HiveMetastore(ctx.spark, catalog)


def _cause(exc: BaseException) -> str:
    return exc.message if isinstance(exc, EtlError) else f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"


def _failure(registration: Registration, entry: TableEntry, exc: Exception) -> RunError:
    hint = exc.hint if isinstance(exc, EtlError) and exc.hint else None
    return RunError(
        f"sink '{registration.sink}' published {entry.location}, but registering it as {registration.target} "
        f"failed: {_cause(exc)}. The data stays published; once that is put right, the next run registers it",
        location=registration.location,
        hint=hint or "fix what the message says about the catalog, then run the pipeline again (docs/catalog.md)",
    )


__all__ = ["register_written"]
