"""``validate``'s warning for a local file path in a pipeline that runs on a cluster.

On a cluster master (``spark://``, ``yarn``, ``k8s://``, ``mesos://``) the executors that read a
source's files and write a sink's run on other machines than the driver. A local path (a plain
path, relative or absolute, or ``file:``) then names the executors' own disks: they do not see the
driver's files, and what they write stays scattered on theirs. A warning, not an error: a folder
every machine mounts at the same path (NFS...) works, as does a cluster whose workers share the
driver's machine. Remote URIs (``s3a://``, ``hdfs://``...) and paths still holding a ``${``
reference are left alone. The master checked is the pipeline's ``spark.master`` (``--master`` is a
run's choice, which ``validate`` does not know).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from etl_cli.config.loader import LoadedConfig
from etl_cli.diagnostics import Diagnostic, warning
from etl_cli.plugins.api import SECTION_OF_KIND
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sinks.targets import local_path

LOCAL_PATH_ON_CLUSTER = "local-path-on-cluster"
#: the master URLs whose executors may run on other machines than the driver
CLUSTER_MASTERS = ("spark://", "yarn", "k8s://", "mesos://")
_HINT = (
    "put the data on a file system every machine mounts at the same path, or on object storage "
    "(s3a://bucket/...) or HDFS; a local path works only when the driver and the executors share the machine"
)


def is_cluster_master(master: object) -> bool:
    """Whether ``master`` (a Spark master URL) runs executors that may be on other machines."""
    return isinstance(master, str) and master.strip().lower().startswith(CLUSTER_MASTERS)


def check_cluster_paths(document: dict[str, Any], loaded: LoadedConfig, registry: Registry) -> list[Diagnostic]:
    """A warning for every local ``path`` of a file source or sink when ``spark.master`` is a cluster."""
    spark = document.get("spark")
    master = spark.get("master") if isinstance(spark, dict) else None
    if not is_cluster_master(master):
        return []
    found = []
    for kind, name, key_path, value in _paths(document, registry):
        if "${" in value or local_path(value) is None:
            continue
        where = loaded.provenance.user_location(key_path) or loaded.provenance.value_location(key_path)
        verb = "reads" if kind == "source" else "writes"
        message = (
            f"{kind} '{name}' {verb} the local path {value}, but spark.master is {master}: "
            "executors on other machines than the driver do not see it"
        )
        found.append(warning(LOCAL_PATH_ON_CLUSTER, message, where, _HINT))
    return found


def _paths(document: dict[str, Any], registry: Registry) -> Iterator[tuple[str, str, tuple[str | int, ...], str]]:
    """(kind, stage name, key path, value) of each ``path`` of each source and sink that has one (file plug-ins)."""
    for kind in ("source", "sink"):
        section = SECTION_OF_KIND[kind]
        items = document.get(section)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict) or item.get("type") not in registry.types(kind):
                continue
            if "path" not in registry.get(kind, item["type"]).options_schema:
                continue
            paths = item.get("path")
            name = str(item.get("name"))
            if isinstance(paths, str):
                yield kind, name, (section, index, "path"), paths
            for position, value in enumerate(paths if isinstance(paths, list) else []):
                if isinstance(value, str):
                    yield kind, name, (section, index, "path", position), value


__all__ = ["CLUSTER_MASTERS", "LOCAL_PATH_ON_CLUSTER", "check_cluster_paths", "is_cluster_master"]
