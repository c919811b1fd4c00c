"""Use case of ``etl-cli catalog list|show|search``: the tables the project's sinks registered, read from the catalogs.

Each catalog is read where the tables live, never from a copy etl-cli keeps: Glue through boto3 (no
JVM), the Hive metastore through a short-lived local Spark session with Hive support, the only reader
of its embedded Derby database (a few seconds; none when nothing was ever registered there). A table
counts as the project's when its ``etl_cli.project`` property names the project.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from etl_cli.config.project import PROJECT_FILE, Project, load_project
from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import ConfigError, EtlError, InvalidPipeline, RunError, UsageError
from etl_cli.model.catalog import CatalogSpec, GlueCatalog, IcebergCatalog, read_catalogs
from etl_cli.runtime.catalog.entry import Column, TableEntry
from etl_cli.runtime.catalog.glue import GlueDataCatalog, glue_client
from etl_cli.runtime.catalog.hive import metastore_folder, open_metastore


@dataclass(frozen=True)
class Match:
    """A table ``search`` found, and what of it matched."""

    table: TableEntry
    matched: list[str]


def registered_tables(start: Path, catalog: str | None = None) -> list[TableEntry]:
    """The tables the sinks of the project around ``start`` registered, in every catalog or in ``catalog``."""
    project = load_project(start)
    catalogs = _chosen(project, catalog)
    found = [table for spec in catalogs for table in _tables(spec, project)]
    return sorted(found, key=lambda t: (t.catalog, t.database, t.name))


def find_table(tables: Sequence[TableEntry], name: str) -> TableEntry:
    """The table named ``database.table`` (or ``table``, when only one database has it) among ``tables``."""
    found = [t for t in tables if name in (t.qualified_name, t.name, f"{t.catalog}:{t.qualified_name}")]
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(f"{t.catalog}:{t.qualified_name}" for t in found)
        raise UsageError(f"'{name}' names several tables: {names}", hint="name one as catalog:database.table")
    known = [t.qualified_name for t in tables]
    hint = did_you_mean(name, known) or (f"registered: {', '.join(known)}" if known else "nothing is registered")
    raise UsageError(f"no table '{name}' registered by this project", hint=hint)


def search(tables: Sequence[TableEntry], query: str) -> list[Match]:
    """The tables whose name, description, columns or tags contain ``query`` (case-insensitive)."""
    return [Match(t, matched) for t in tables if (matched := t.matches(query))]


def _chosen(project: Project, name: str | None) -> list[CatalogSpec]:
    catalogs, problems = read_catalogs(project)
    if problems:
        raise InvalidPipeline(problems, f"{PROJECT_FILE}: catalogs: has problems")
    if not catalogs:
        raise ConfigError(
            f"the project ({project.config_file or project.root}) has no catalogs",
            hint=f"name them in {PROJECT_FILE}, e.g. catalogs: {{lake: {{type: hive_metastore}}}} (docs/catalog.md)",
        )
    if name is None:
        return list(catalogs.values())
    if name not in catalogs:
        hint = did_you_mean(name, catalogs) or f"catalogs: {', '.join(catalogs)}"
        raise UsageError(f"unknown catalog '{name}'", hint=hint)
    return [catalogs[name]]


def _tables(catalog: CatalogSpec, project: Project) -> list[TableEntry]:
    if isinstance(catalog, IcebergCatalog):
        return []  # iceberg catalogs hold the tables of iceberg sinks, not registrations
    try:
        if isinstance(catalog, GlueCatalog):
            return GlueDataCatalog(catalog, glue_client(catalog)).tables(project.name)
        state = project.run_state_dir()
        if not metastore_folder(state).is_dir():
            return []  # nothing was ever registered: no JVM, and no empty metastore left behind
        with open_metastore(catalog, state) as metastore:
            return metastore.tables(project.name)
    except EtlError:
        raise
    except Exception as exc:
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunError(
            f"catalog '{catalog.name}' ({catalog.kind}) could not be read: {cause}",
            location=catalog.location,
            hint="check the catalog's settings and that its credentials reach it",
        ) from exc


__all__ = ["Column", "Match", "TableEntry", "find_table", "registered_tables", "search"]
