"""Catalog registration, offline: the project's ``catalogs:`` and what a sink registers in one (its ``catalog:``).

``etl-project.yaml`` names the catalogs (a Hive metastore, the AWS Glue Data Catalog); a file sink's
``catalog:`` block says in which one to register what it wrote, under which table, with which owner,
description and tags. Both are checked here, at their ``file:line:col``, and become typed
:class:`Registration` records on the pipeline model; the runtime (:mod:`etl_cli.runtime.catalog`)
registers each one after its sink has committed. Column tags come from the contracts upstream of the
sink (a contract column's ``pii: true`` and ``tags:``). Nothing here imports pyspark or boto3.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from etl_cli.config.nodes import Node, Provenance, to_plain
from etl_cli.config.project import PROJECT_FILE, Project
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import Location
from etl_cli.model.credentials import is_credential_key, secret_references, words
from etl_cli.model.quality import contract_of
from etl_cli.model.validation import SchemaChecker
from etl_cli.plugins.api import Effect, Kind, Plugin, Source, StageSpec, resolve_path
from etl_cli.plugins.iceberg import RESOLVED_CATALOG
from etl_cli.plugins.registry import Registry

HIVE = "hive_metastore"
GLUE = "glue"
#: an Apache Iceberg catalog, which the ``iceberg`` source and sink read and write tables through
ICEBERG = "iceberg"
#: Iceberg's own catalog implementations a project can declare (``catalog_type``)
ICEBERG_TYPES = ("hadoop", "hive", "rest")
#: iceberg catalog properties holding a credential besides keys named like one (token, *password, *secret)
ICEBERG_CREDENTIALS = frozenset({"credential"})
#: the file formats a catalog entry can describe: a sink plug-in whose ``format`` is one of them can register
FORMATS = ("parquet", "orc", "csv", "json")
#: databases and tables: lower case, as both catalogs store them, so a name reads back as it was written
NAME_PATTERN = "^[a-z_][a-z0-9_]*$"
TABLE_PATTERN = "^([a-z_][a-z0-9_]*[.])?[a-z_][a-z0-9_]*$"
#: the prefix of the table properties etl-cli writes itself (which pipeline, sink and run registered the table)
OWN_PREFIX = "etl_cli."
#: the table property listing the columns tagged ``pii`` (comma-separated), for tools that read the catalog
PII_PROPERTY = "pii_columns"
#: properties the catalogs keep for themselves (Spark refuses them as table properties), or etl-cli writes
RESERVED_TAGS = frozenset(
    {"owner", "location", "provider", "comment", "external", "is_managed_location", "classification", PII_PROPERTY}
)
PII = "pii"
#: where S3 paths are written as Hadoop spells them, and what the Glue catalog (Athena, EMR) reads instead
_S3_SCHEMES = ("s3a://", "s3n://", "s3://")

_DATABASE = {
    "type": "string",
    "pattern": NAME_PATTERN,
    "patternErrorMessage": "not a database name: lower-case letters, digits, underscores",
    "description": "The database tables go to when a sink's catalog.table names none (default: default); "
    "created when missing. Lower-case letters, digits, underscores.",
}
_HIVE_SCHEMA = {
    "type": "object",
    "title": "catalog hive_metastore",
    "additionalProperties": False,
    "properties": {
        "type": {"const": HIVE},
        "description": {"type": "string", "description": "What this catalog is for."},
        "database": _DATABASE,
        "warehouse": {
            "type": "string",
            "minLength": 1,
            "description": "Spark's warehouse folder (spark.sql.warehouse.dir); relative to the project root "
            "(default: <state folder>/warehouse). The metastore database itself is <state folder>/metastore_db.",
        },
    },
}
_GLUE_SCHEMA = {
    "type": "object",
    "title": "catalog glue",
    "additionalProperties": False,
    "properties": {
        "type": {"const": GLUE},
        "description": {"type": "string", "description": "What this catalog is for."},
        "database": _DATABASE,
        "region": {"type": "string", "minLength": 1, "description": "AWS region (default: boto3's, e.g. AWS_REGION)."},
        "endpoint_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "Another endpoint for the Glue API (a test server, a VPC endpoint).",
        },
        "profile": {"type": "string", "minLength": 1, "description": "AWS profile of ~/.aws/config to use."},
        "catalog_id": {
            "type": "string",
            "pattern": "^[0-9]{12}$",
            "description": "The AWS account whose catalog to use (default: the caller's).",
        },
    },
}
_ICEBERG_SCHEMA = {
    "type": "object",
    "title": "catalog iceberg",
    "additionalProperties": False,
    "required": ["catalog_type"],
    "properties": {
        "type": {"const": ICEBERG},
        "description": {"type": "string", "description": "What this catalog is for."},
        "database": _DATABASE,
        "catalog_type": {
            "enum": list(ICEBERG_TYPES),
            "description": "Iceberg's catalog: hadoop (tables in a warehouse folder), hive (the project's Hive "
            "metastore, embedded under the state folder, or a metastore at uri) or rest (an Iceberg REST catalog "
            "at uri).",
        },
        "warehouse": {
            "type": "string",
            "minLength": 1,
            "description": "Where table data goes (hadoop: required; hive: default <state folder>/iceberg), "
            "relative to the project root, or a URI (s3a://, hdfs://). rest: passed to the server as written "
            "(the warehouse it serves).",
        },
        "uri": {
            "type": "string",
            "pattern": "^(https?|thrift)://",
            "description": "rest: the REST catalog's URL (required); hive: a metastore's thrift:// URI instead of "
            "the project's embedded one.",
        },
        "properties": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "More catalog properties, passed as spark.sql.catalog.<name>.<key> (io-impl, "
            "token, credential, ...); a credential (token, credential, a key ending in password or secret) "
            "only as a ${secret:...} reference, resolved when the Spark session starts.",
        },
    },
    "allOf": [
        # "required" in each "if": without catalog_type neither branch applies (it is refused on its own)
        {
            "if": {"properties": {"catalog_type": {"const": "hadoop"}}, "required": ["catalog_type"]},
            "then": {"required": ["warehouse"]},
        },
        {
            "if": {"properties": {"catalog_type": {"const": "rest"}}, "required": ["catalog_type"]},
            "then": {"required": ["uri"]},
        },
    ],
}
#: one entry of ``catalogs:`` in etl-project.yaml
CATALOG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": [HIVE, GLUE, ICEBERG], "description": "The kind of catalog."}},
    "allOf": [
        {"if": {"properties": {"type": {"const": kind}}, "required": ["type"]}, "then": schema}
        for kind, schema in ((HIVE, _HIVE_SCHEMA), (GLUE, _GLUE_SCHEMA), (ICEBERG, _ICEBERG_SCHEMA))
    ],
}
_CHECKER = SchemaChecker(
    {"type": "object", "properties": {"catalogs": {"type": "object", "additionalProperties": CATALOG_SCHEMA}}}
)

_REGISTRATION_OBJECT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "description": f"The catalog, as named under catalogs: in {PROJECT_FILE}.",
        },
        "table": {
            "type": "string",
            "pattern": TABLE_PATTERN,
            "patternErrorMessage": "not a table name: database.table or table, in lower-case letters, digits, "
            "underscores",
            "description": "database.table, or table in the catalog's database (default: the sink's name). "
            "Lower-case letters, digits, underscores.",
        },
        "description": {"type": "string", "description": "The table's description (default: the sink's)."},
        "owner": {"type": "string", "minLength": 1, "description": "The table's owner (a person or a team)."},
        "tags": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z0-9_][A-Za-z0-9_.:-]*$"},
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "Table properties (Hive) or Parameters (Glue), e.g. {domain: sales, tier: gold}.",
        },
    },
}
#: a file sink's ``catalog:`` key: a catalog name, or the registration in full
REGISTRATION_SCHEMA: dict[str, Any] = {
    "description": "Register what this sink writes in a catalog of the project (docs/catalog.md), after it is "
    "published: table, location, format, columns and types, partitions, owner, description, tags, and the "
    "columns the contracts upstream tag pii. A failed registration fails the run (exit 4) but leaves the data "
    "published.",
    "type": ["string", "object"],
    "if": {"type": "object"},
    "then": _REGISTRATION_OBJECT,
    "else": {"minLength": 1},
}


@dataclass(frozen=True)
class HiveCatalog:
    """A Hive metastore: Spark's own catalog with Hive support, its database embedded under the state folder."""

    kind: ClassVar[str] = HIVE
    name: str
    database: str = "default"
    #: Spark's warehouse folder; None: ``<state folder>/warehouse``
    warehouse: Path | None = None
    location: Location | None = None


@dataclass(frozen=True)
class GlueCatalog:
    """The AWS Glue Data Catalog, reached with boto3 (credentials from boto3's usual chain)."""

    kind: ClassVar[str] = GLUE
    name: str
    database: str = "default"
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    catalog_id: str | None = None
    location: Location | None = None


@dataclass(frozen=True)
class IcebergCatalog:
    """An Apache Iceberg catalog, reached through Iceberg's ``SparkCatalog`` under the catalog's name."""

    kind: ClassVar[str] = ICEBERG
    name: str
    catalog_type: str
    database: str = "default"
    #: the warehouse, resolved against the project root (hive: None is ``<state folder>/iceberg``)
    warehouse: str | None = None
    uri: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    #: the project's embedded metastore database folder (hive without ``uri``)
    metastore: Path | None = None
    location: Location | None = None

    def as_options(self) -> dict[str, Any]:
        """The catalog as a stage receives it (plain values: stage options are frozen JSON-like data)."""
        return {
            "name": self.name,
            "catalog_type": self.catalog_type,
            "database": self.database,
            "warehouse": self.warehouse,
            "uri": self.uri,
            "properties": dict(self.properties),
            "metastore": str(self.metastore) if self.metastore else None,
        }


CatalogSpec = HiveCatalog | GlueCatalog | IcebergCatalog


@dataclass(frozen=True)
class Registration:
    """What one sink registers, and where: everything but what only the write tells (columns, partitions)."""

    sink: str
    catalog: CatalogSpec
    database: str
    table: str
    #: the file format written (parquet, orc, csv, json)
    format: str
    #: the sink's ``path`` as written; :func:`table_location` resolves it
    path: str
    partition_by: tuple[str, ...] = ()
    description: str | None = None
    owner: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    #: each column's tags from the contracts upstream of the sink (``pii`` for a column declared ``pii: true``)
    column_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: what readers of the table need to read it as written (a CSV file's header, a sink's text options)
    read_options: Mapping[str, str] = field(default_factory=dict)
    #: the sink's ``catalog:`` key
    location: Location | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.table}"

    @property
    def target(self) -> str:
        """How messages and dry-run name the entry: ``catalog:database.table``."""
        return f"{self.catalog.name}:{self.qualified_name}"

    def effect(self, project_root: Path) -> Effect:
        """The registration as ``dry-run`` lists it (it registers nothing)."""
        details = {
            "catalog": f"{self.catalog.name} ({self.catalog.kind})",
            "location": table_location(self, project_root),
            "format": self.format,
            "partition_by": list(self.partition_by),
            "pii": [column for column, tags in self.column_tags.items() if PII in tags],
        }
        return Effect(self.sink, "register", self.target, "create or update", details)


def table_location(registration: Registration, project_root: Path) -> str:
    """Where the table's data is, as its catalog should hold it: Glue (Athena, EMR) reads ``s3://``, not ``s3a://``."""
    path = resolve_path(registration.path, project_root)
    if isinstance(registration.catalog, GlueCatalog):
        for scheme in _S3_SCHEMES:
            if path.startswith(scheme):
                return "s3://" + path.removeprefix(scheme)
    return path


def registrable(plugin: type[Plugin]) -> bool:
    """Whether sinks of ``plugin`` can register in a catalog: they write files of a format a catalog describes."""
    return plugin.kind == "sink" and getattr(plugin, "format", None) in FORMATS


# --------------------------------------------------------------------------- the project's catalogs


def read_catalogs(project: Project) -> tuple[dict[str, CatalogSpec], list[Diagnostic]]:
    """Every catalog of the project's ``catalogs:``, and the problems of those that are wrong (file:line:col)."""
    catalogs: dict[str, CatalogSpec] = {}
    problems: list[Diagnostic] = []
    for name in catalog_names(project):
        catalog, found = read_catalog(project, name)
        problems += found
        if catalog is not None:
            catalogs[name] = catalog
    hives = [c for c in catalogs.values() if isinstance(c, HiveCatalog)]
    for extra in hives[1:]:
        problems.append(
            error(
                "one-hive-metastore",
                f"catalog '{extra.name}': a project has one hive_metastore catalog ('{hives[0].name}' is one)",
                extra.location,
                "a Spark session reaches one metastore: register every table in the first, under its own database",
            )
        )
    return catalogs, problems


def catalog_names(project: Project) -> list[str]:
    """The names under ``catalogs:`` in etl-project.yaml, in the order written."""
    return [str(name) for name in project.catalogs.value] if project.catalogs is not None else []


def read_catalog(project: Project, name: str) -> tuple[CatalogSpec | None, list[Diagnostic]]:
    """The catalog ``name`` of the project (it is one of :func:`catalog_names`), or None and why."""
    assert project.catalogs is not None
    where = project.catalogs.loc
    document, provenance = to_plain(Node({"catalogs": Node({name: project.catalogs.value[name]}, where)}, where))
    problems = _CHECKER.check(document, provenance) or _literal_credentials(name, document, provenance)
    if problems:
        return None, problems
    return _catalog(name, document["catalogs"][name], project, provenance), []


def _literal_credentials(name: str, document: Mapping[str, Any], provenance: Provenance) -> list[Diagnostic]:
    """An error for each credential of an iceberg catalog's ``properties`` written without a ``${secret:...}``."""
    settings = document["catalogs"][name]
    if settings.get("type") != ICEBERG:
        return []
    return [
        error(
            "literal-credential",
            f"catalog '{name}': properties.{key} is a credential written as plain text",
            provenance.key_location(("catalogs", name, "properties", key)),
            f"write it as a reference, e.g. {key}: ${{secret:env:ICEBERG_{_env_name(key)}}} (docs/secrets.md)",
        )
        for key, value in (settings.get("properties") or {}).items()
        if (str(key) in ICEBERG_CREDENTIALS or is_credential_key(str(key))) and not any(secret_references(str(value)))
    ]


def _env_name(key: str) -> str:
    return "_".join(words(key)).upper()


def _catalog(name: str, settings: Mapping[str, Any], project: Project, provenance: Provenance) -> CatalogSpec:
    where = provenance.key_location(("catalogs", name))
    database = settings.get("database", "default")
    if settings["type"] == HIVE:
        warehouse = settings.get("warehouse")
        folder = Path(resolve_path(warehouse, project.root)) if warehouse else None
        return HiveCatalog(name, database, folder, where)
    if settings["type"] == ICEBERG:
        return _iceberg_catalog(name, settings, project, where)
    return GlueCatalog(
        name,
        database,
        settings.get("region"),
        settings.get("endpoint_url"),
        settings.get("profile"),
        settings.get("catalog_id"),
        where,
    )


def _iceberg_catalog(
    name: str, settings: Mapping[str, Any], project: Project, where: Location | None
) -> IcebergCatalog:
    kind = settings["catalog_type"]
    warehouse = settings.get("warehouse")
    state = project.run_state_dir()
    if warehouse and kind != "rest":  # a REST catalog's warehouse is the server's to interpret: passed as written
        warehouse = resolve_path(warehouse, project.root)
    elif kind == "hive":
        warehouse = str(state / "iceberg")
    uri = settings.get("uri")
    return IcebergCatalog(
        name=name,
        catalog_type=kind,
        database=settings.get("database", "default"),
        warehouse=warehouse,
        uri=uri,
        properties=MappingProxyType({str(k): _text(v) for k, v in (settings.get("properties") or {}).items()}),
        metastore=state / "metastore_db" if kind == "hive" and not uri else None,
        location=where,
    )


# --------------------------------------------------------------------------- stages reading and writing tables


def uses_table_catalog(plugin: type[Plugin]) -> bool:
    """Whether stages of ``plugin`` name a table catalog of the project (their ``catalog`` option)."""
    return getattr(plugin, "catalog_kind", None) == ICEBERG


def _catalog_stages(document: Mapping[str, Any], registry: Registry) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    kinds: tuple[tuple[str, Kind], ...] = (("sources", "source"), ("sinks", "sink"))
    for section, kind in kinds:
        for index, item in enumerate(document.get(section) or []):
            if not isinstance(item, dict) or item.get("type") not in registry.types(kind):
                continue
            if uses_table_catalog(registry.get(kind, item["type"])) and isinstance(item.get("catalog"), str):
                yield section, index, item


def check_table_catalogs(
    document: Mapping[str, Any], project: Project, provenance: Provenance, registry: Registry
) -> list[Diagnostic]:
    """Problems of the catalogs named by table-format stages (``iceberg``): each must be an iceberg catalog."""
    stages = list(_catalog_stages(document, registry))
    if not stages:
        return []
    problems: list[Diagnostic] = []
    checked: set[str] = set()
    for section, index, item in stages:
        name = item["catalog"]
        where = provenance.value_location((section, index, "catalog"))
        if name not in catalog_names(project):
            problems.append(
                _unknown_catalog(name, project, where, example="{type: iceberg, catalog_type: hadoop, warehouse: lake}")
            )
            continue
        catalog, found = read_catalog(project, name)
        if name not in checked:
            problems += found
            checked.add(name)
        if catalog is not None and not isinstance(catalog, IcebergCatalog):
            message = f"{section[:-1]} '{item.get('name')}': catalog '{name}' is a {catalog.kind} catalog, not iceberg"
            problems.append(error("catalog-kind", message, where, "name a catalog of type: iceberg"))
    return problems


def resolve_table_catalogs(
    stages: tuple[StageSpec, ...], project: Project, registry: Registry
) -> tuple[StageSpec, ...]:
    """``stages``, each table-format stage given its catalog under :data:`RESOLVED_CATALOG` (the document is valid)."""
    resolved = []
    for stage in stages:
        plugin = registry.get(stage.kind, stage.type) if stage.type in registry.types(stage.kind) else None
        name = stage.option("catalog")
        if plugin is not None and uses_table_catalog(plugin) and isinstance(name, str):
            catalog, _ = read_catalog(project, name)
            if isinstance(catalog, IcebergCatalog):
                stage = replace(
                    stage, options=MappingProxyType({**stage.options, RESOLVED_CATALOG: catalog.as_options()})
                )
        resolved.append(stage)
    return tuple(resolved)


# --------------------------------------------------------------------------- the sinks' registrations


def check_registrations(
    document: Mapping[str, Any], project: Project, provenance: Provenance, registry: Registry
) -> list[Diagnostic]:
    """Problems of the sinks' ``catalog:`` blocks, and of the project's catalogs when a sink registers in one.

    A pipeline that registers nothing is not held up by a catalog it does not use.
    """
    sinks = list(_registering_sinks(document, registry))
    if not sinks:
        return []
    catalogs, problems = read_catalogs(project)
    streaming = _streams(document, registry)
    tables: dict[tuple[str, str], str] = {}
    for index, sink in sinks:
        path = ("sinks", index, "catalog")
        settings = _settings(sink["catalog"])
        catalog = catalogs.get(settings["name"])
        if streaming:
            problems.append(_streaming_problem(sink, provenance.key_location(path)))
        if catalog is None:
            if settings["name"] not in catalog_names(project):
                problems.append(_unknown_catalog(settings["name"], project, _name_location(sink, path, provenance)))
            continue
        if isinstance(catalog, IcebergCatalog):
            message = (
                f"sink '{sink['name']}': catalog '{catalog.name}' is an iceberg catalog, which holds iceberg tables"
            )
            hint = "write the table with the iceberg sink, or register in a hive_metastore or glue catalog"
            problems.append(error("catalog-kind", message, _name_location(sink, path, provenance), hint))
            continue
        problems += _tag_problems(settings, path, provenance)
        problems += _location_problems(catalog, sink, (*path[:2], "path"), provenance)
        key = (catalog.name, _qualified(settings, sink["name"], catalog))
        if key in tables:
            message = f"sinks '{tables[key]}' and '{sink['name']}' both register {catalog.name}:{key[1]}"
            problems.append(error("duplicate-registration", message, provenance.key_location(path)))
        tables[key] = sink["name"]
    return problems


def registrations_of(
    document: Mapping[str, Any], project: Project, stages: tuple[StageSpec, ...], registry: Registry
) -> Mapping[str, Registration]:
    """The registration of each sink with a ``catalog:``, by sink name (the document is valid)."""
    sinks = list(_registering_sinks(document, registry))
    if not sinks:
        return MappingProxyType({})
    catalogs, _ = read_catalogs(project)
    found = {}
    for _, sink in sinks:
        settings = _settings(sink["catalog"])
        stage = next(s for s in stages if s.kind == "sink" and s.name == sink["name"])
        found[stage.name] = _registration(stage, settings, catalogs[settings["name"]], stages, registry)
    return MappingProxyType(found)


def _registration(
    stage: StageSpec,
    settings: Mapping[str, Any],
    catalog: CatalogSpec,
    stages: tuple[StageSpec, ...],
    registry: Registry,
) -> Registration:
    database, _, table = _qualified(settings, stage.name, catalog).rpartition(".")
    plugin_format = str(getattr(registry.get("sink", stage.type), "format", stage.type))
    return Registration(
        sink=stage.name,
        catalog=catalog,
        database=database,
        table=table,
        format=plugin_format,
        path=str(stage.options["path"]),
        partition_by=tuple(stage.option("partition_by") or ()),
        description=settings.get("description", stage.description),
        owner=settings.get("owner"),
        tags=MappingProxyType({k: _text(v) for k, v in (settings.get("tags") or {}).items()}),
        column_tags=MappingProxyType(column_tags(stage, stages)),
        read_options=MappingProxyType(_read_options(stage, plugin_format)),
        location=stage.location,
    )


def column_tags(sink: StageSpec, stages: tuple[StageSpec, ...]) -> dict[str, tuple[str, ...]]:
    """Each column's tags, from the contracts of the stages the sink reads, directly or not, matched by name.

    A column renamed after the contract that tags it is not tagged under its new name.
    """
    by_name = {s.name: s for s in stages}
    found: dict[str, tuple[str, ...]] = {}
    for name in _upstream(sink, by_name):
        contract = contract_of(by_name[name])
        for column in contract.columns if contract is not None else ():
            kind = (f"{PII}:{column.pii_kind}",) if column.pii_kind else ()
            tags = ((PII,) if column.pii else ()) + kind + column.tags
            if tags:
                found[column.name] = tuple(dict.fromkeys((*found.get(column.name, ()), *tags)))
    return found


def _upstream(stage: StageSpec, by_name: Mapping[str, StageSpec]) -> list[str]:
    """The stages ``stage`` reads, directly or not, nearest first."""
    seen: list[str] = []
    pending = list(stage.inputs)
    while pending:
        name = pending.pop(0)
        if name in seen or name not in by_name:
            continue
        seen.append(name)
        pending.extend(by_name[name].inputs)
    return seen


def _registering_sinks(document: Mapping[str, Any], registry: Registry) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, sink) of each sink with a ``catalog:`` that its plug-in accepts (the schema refuses it elsewhere)."""
    for index, sink in enumerate(document.get("sinks") or []):
        if not isinstance(sink, dict) or sink.get("catalog") is None or sink.get("type") not in registry.types("sink"):
            continue
        if registrable(registry.get("sink", sink["type"])):
            yield index, sink


def _settings(value: Any) -> Mapping[str, Any]:
    """The ``catalog:`` key in its long form (``catalog: glue`` is ``catalog: {name: glue}``)."""
    return {"name": value} if isinstance(value, str) else value


def _qualified(settings: Mapping[str, Any], sink: str, catalog: CatalogSpec) -> str:
    """``database.table``: the sink's ``table`` (default: its name) in the catalog's database unless it names one."""
    table = str(settings.get("table") or sink).lower()
    return table if "." in table else f"{catalog.database}.{table}"


def _read_options(stage: StageSpec, plugin_format: str) -> dict[str, str]:
    """Options a reader of the table needs: those the text formats were written with (CSV's header line)."""
    if plugin_format not in ("csv", "json"):
        return {}
    options = {k: _text(v) for k, v in (stage.option("options") or {}).items()}
    if plugin_format == "csv":
        options["header"] = _text(stage.option("header", True))
    return options


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _streams(document: Mapping[str, Any], registry: Registry) -> bool:
    for source in document.get("sources") or []:
        plugin = registry.get("source", source["type"]) if source.get("type") in registry.types("source") else None
        if plugin is not None and issubclass(plugin, Source) and plugin.is_streaming(source):
            return True
    return False


def _streaming_problem(sink: Mapping[str, Any], where: Location | None) -> Diagnostic:
    return error(
        "catalog-streaming",
        f"sink '{sink['name']}': a streaming pipeline cannot register in a catalog (it never finishes publishing)",
        where,
        "register the folder from a batch pipeline that reads it, or remove catalog:",
    )


def _unknown_catalog(
    name: str, project: Project, where: Location | None, example: str = "{type: glue, database: sales}"
) -> Diagnostic:
    known = catalog_names(project)
    if known:
        hint = did_you_mean(name, known) or f"catalogs of {PROJECT_FILE}: {', '.join(known)}"
    else:
        hint = f"add it to {PROJECT_FILE}, e.g. catalogs: {{{name}: {example}}}"
    return error("unknown-catalog", f"unknown catalog '{name}'", where, hint)


def _name_location(sink: Mapping[str, Any], path: tuple[str | int, ...], provenance: Provenance) -> Location | None:
    if isinstance(sink["catalog"], str):
        return provenance.value_location(path)
    return provenance.value_location((*path, "name"))


def _tag_problems(settings: Mapping[str, Any], path: tuple[str | int, ...], provenance: Provenance) -> list[Diagnostic]:
    found = []
    for key in settings.get("tags") or {}:
        if key.startswith(OWN_PREFIX) or key.lower() in RESERVED_TAGS:
            found.append(
                error(
                    "reserved-tag",
                    f"tag '{key}' is set by the catalog or by etl-cli",
                    provenance.key_location((*path, "tags", key)),
                    f"rename it; reserved: {', '.join(sorted(RESERVED_TAGS))} and {OWN_PREFIX}*",
                )
            )
    return found


def _location_problems(
    catalog: CatalogSpec, sink: Mapping[str, Any], path: tuple[str | int, ...], provenance: Provenance
) -> list[Diagnostic]:
    """The Glue catalog describes data in S3; a table there over a local folder no reader could open."""
    if not isinstance(catalog, GlueCatalog) or str(sink.get("path", "")).startswith(_S3_SCHEMES):
        return []
    message = f"sink '{sink['name']}' writes {sink.get('path')}, but Glue catalog '{catalog.name}' describes data in S3"
    hint = "write to an s3a://bucket/prefix path, or register in a hive_metastore catalog"
    return [error("catalog-location", message, provenance.value_location(path), hint)]


__all__ = [
    "CATALOG_SCHEMA",
    "GLUE",
    "HIVE",
    "ICEBERG",
    "OWN_PREFIX",
    "PII",
    "PII_PROPERTY",
    "REGISTRATION_SCHEMA",
    "RESOLVED_CATALOG",
    "CatalogSpec",
    "GlueCatalog",
    "HiveCatalog",
    "IcebergCatalog",
    "Registration",
    "check_registrations",
    "check_table_catalogs",
    "column_tags",
    "read_catalogs",
    "registrable",
    "registrations_of",
    "resolve_table_catalogs",
    "table_location",
]
