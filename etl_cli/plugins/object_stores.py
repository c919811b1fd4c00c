"""``wasb://`` (Azure Blob Storage) and ``gs://`` (Google Cloud Storage) paths for file sources and sinks.

Like :mod:`etl_cli.plugins.s3`, a stage names the connector's Maven package only when one
of its paths uses the scheme, and its ``azure:`` or ``gcs:`` block becomes Hadoop settings
set on the session when the stage runs:

- ``azure:`` settings are per storage account (``fs.azure.account.key.<account>``,
  the emulator account name), the account being the host of ``wasb://container@account/``;
- ``gcs:`` settings are the GCS connector's (``fs.gs.*``), which has no per-bucket
  settings: they hold for every ``gs://`` path of the run, and two stages of one run
  giving them different values are refused.

``hdfs://`` needs neither: pyspark's Hadoop client reads and writes HDFS as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from etl_cli.errors import RunError
from etl_cli.plugins.api import OptionProblem, RunContext, StageSpec
from etl_cli.plugins.s3 import HADOOP_VERSION, apply_settings, paths_of

AZURE_PACKAGES = (f"org.apache.hadoop:hadoop-azure:{HADOOP_VERSION}",)
#: the GCS connector; its ``-shaded`` jar (all dependencies relocated) is the one to use: scripts/services.d/gcs.sh
#: puts it into the jar cache (etl_cli/runtime/spark/jars.py) under this coordinate
GCS_CONNECTOR_VERSION = "4.0.4"
GCS_PACKAGES = (f"com.google.cloud.bigdataoss:gcs-connector:{GCS_CONNECTOR_VERSION}",)
#: the connector's shaded jar registers no FileSystem service for gs: name its classes
GCS_FILE_SYSTEMS = {
    "fs.gs.impl": "com.google.cloud.hadoop.fs.gcs.GoogleHadoopFileSystem",
    "fs.AbstractFileSystem.gs.impl": "com.google.cloud.hadoop.fs.gcs.GoogleHadoopFS",
}
_AZURE_SCHEMES = ("wasb", "wasbs")
_UNSUPPORTED = {"abfs": "wasb", "abfss": "wasbs"}

AZURE_OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Azure Blob Storage settings for the storage accounts of this stage's wasb:// paths "
    "(wasb://container@account.blob.core.windows.net/path); set per account.",
    "properties": {
        "account_key": {
            "type": "string",
            "minLength": 1,
            "description": "Shared key of the storage account; write a reference: ${secret:...}.",
        },
        "emulator": {
            "type": "boolean",
            "description": "The account is the local storage emulator (Azurite) at http://127.0.0.1:10000, "
            "with its development account and key: write wasb://container@devstoreaccount1/path.",
        },
    },
}

GCS_OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Google Cloud Storage connector settings for this stage's gs:// paths. The connector has no "
    "per-bucket settings: they hold for every gs:// path of the run.",
    "properties": {
        "endpoint": {
            "type": "string",
            "minLength": 1,
            "description": "Root URL of a GCS-compatible JSON API (an emulator such as fake-gcs-server: "
            "http://127.0.0.1:4443/); omit for Google Cloud Storage.",
        },
        "auth": {
            "enum": ["none", "service_account_key_file"],
            "description": "none: unauthenticated requests (emulators); service_account_key_file: the JSON key "
            "named by service_account_key_file. Omitted: the connector's default (application default credentials).",
        },
        "service_account_key_file": {
            "type": "string",
            "minLength": 1,
            "description": "Path of a service account's JSON key file (with auth: service_account_key_file).",
        },
        "project_id": {"type": "string", "minLength": 1, "description": "Google Cloud project id."},
    },
}


def scheme_of(path: str) -> str:
    return path.split("://", 1)[0].lower() if "://" in path else ""


def is_wasb(path: str) -> bool:
    return scheme_of(path) in _AZURE_SCHEMES


def is_gs(path: str) -> bool:
    return scheme_of(path) == "gs"


def store_packages(options: Mapping[str, Any]) -> tuple[str, ...]:
    """The connectors the stage's ``wasb://`` and ``gs://`` paths need."""
    paths = paths_of(options)
    packages: tuple[str, ...] = ()
    if any(is_wasb(p) for p in paths):
        packages += AZURE_PACKAGES
    if any(is_gs(p) for p in paths):
        packages += GCS_PACKAGES
    return packages


def store_option_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """``abfs://`` paths (not supported), malformed ``wasb://`` authorities, and blocks no path uses."""
    problems = []
    single = isinstance(options.get("path"), str)
    for index, path in enumerate(paths_of(options)):
        key: tuple[str | int, ...] = ("path",) if single else ("path", index)
        scheme = scheme_of(path)
        if scheme in _UNSUPPORTED:
            problems.append(
                OptionProblem(
                    key,
                    f"'{scheme}://' is not supported (only the Blob endpoint, wasb://, is tested)",
                    hint=f"write {_UNSUPPORTED[scheme]}://container@account.blob.core.windows.net/path",
                )
            )
        elif scheme in _AZURE_SCHEMES and "@" not in urlsplit(path).netloc:
            problems.append(
                OptionProblem(key, f"{path} names no container", hint="write wasb://container@account/path")
            )
        elif scheme == "gs" and not urlsplit(path).netloc:
            problems.append(OptionProblem(key, f"{path} names no bucket", hint="write gs://bucket/path"))
    if "azure" in options and not any(is_wasb(p) for p in paths_of(options)):
        problems.append(OptionProblem(("azure",), "azure settings are set but no path is wasb://"))
    if "gcs" in options and not any(is_gs(p) for p in paths_of(options)):
        problems.append(OptionProblem(("gcs",), "gcs settings are set but no path is gs://"))
    gcs = options.get("gcs")
    if isinstance(gcs, Mapping):
        if gcs.get("auth") == "service_account_key_file" and not gcs.get("service_account_key_file"):
            problems.append(
                OptionProblem(("gcs", "auth"), "auth service_account_key_file needs service_account_key_file")
            )
        if gcs.get("service_account_key_file") and gcs.get("auth") != "service_account_key_file":
            problems.append(
                OptionProblem(("gcs", "service_account_key_file"), "set auth: service_account_key_file to use it")
            )
    return problems


def account_of(path: str) -> str:
    """The storage account (host) of ``wasb://container@account/path``."""
    netloc = urlsplit(path).netloc
    if "@" not in netloc:
        raise RunError(f"{path} names no container (write wasb://container@account/path)")
    return netloc.split("@", 1)[1]


def azure_settings(account: str, settings: Mapping[str, Any]) -> dict[str, str]:
    """Hadoop settings for one storage account from a stage's resolved ``azure:`` block."""
    conf: dict[str, str] = {}
    if settings.get("emulator"):
        conf["fs.azure.storage.emulator.account.name"] = account
    if key := settings.get("account_key"):
        conf[f"fs.azure.account.key.{account}"] = str(key)
    return conf


def gcs_settings(settings: Mapping[str, Any]) -> dict[str, str]:
    """GCS connector settings from a stage's resolved ``gcs:`` block."""
    conf: dict[str, str] = {}
    if endpoint := settings.get("endpoint"):
        conf["fs.gs.storage.root.url"] = str(endpoint).rstrip("/") + "/"
        # emulators do not serve the objects.move call (HNS buckets) nor the listing the manifest committer
        # relies on: renames copy and delete, and Spark commits task output with the classic committer
        conf["fs.gs.operation.move.enable"] = "false"
        conf["mapreduce.outputcommitter.factory.scheme.gs"] = (
            "org.apache.hadoop.mapreduce.lib.output.FileOutputCommitterFactory"
        )
    auth = settings.get("auth")
    if auth == "none":
        conf["fs.gs.auth.type"] = "UNAUTHENTICATED"
    elif auth == "service_account_key_file":
        conf["fs.gs.auth.type"] = "SERVICE_ACCOUNT_JSON_KEYFILE"
        conf["fs.gs.auth.service.account.json.keyfile"] = str(settings.get("service_account_key_file") or "")
    if project := settings.get("project_id"):
        conf["fs.gs.project.id"] = str(project)
    return conf


def configure_stores(ctx: RunContext, stage: StageSpec, paths: Iterable[str]) -> None:
    """Set the stage's ``azure:`` and ``gcs:`` settings before Spark touches its paths."""
    paths = list(paths)
    containers: dict[str, set[str]] = {}  # the wasb:// roots of each account, whose cached file systems a change closes
    for path in paths:
        if is_wasb(path):
            parts = urlsplit(path)
            containers.setdefault(account_of(path), set()).add(f"{parts.scheme}://{parts.netloc}/")
    if containers and (raw := stage.option("azure")):
        settings = ctx.resolve(dict(raw))
        for account in sorted(containers):
            conf = azure_settings(account, settings)
            apply_settings(
                ctx.spark,
                ctx.run_id,
                stage,
                f"fs.azure.etl-cli.{account}",
                conf,
                conflict=f"give account '{account}' different azure settings",
                hint="give both stages the same azure block",
                forget=sorted(containers[account]),
            )
    if any(is_gs(p) for p in paths):
        raw = stage.option("gcs") or {}
        conf = {**GCS_FILE_SYSTEMS, **gcs_settings(ctx.resolve(dict(raw)))}
        buckets = sorted({urlsplit(p).netloc for p in paths if is_gs(p)})
        apply_settings(
            ctx.spark,
            ctx.run_id,
            stage,
            "fs.gs.etl-cli",
            conf,
            conflict="give gs:// different gcs settings (they hold for every bucket)",
            hint="give both stages the same gcs block",
            forget=[f"gs://{b}/" for b in buckets],
        )
