"""What kind of Spark session a stage runs on: in-process (a JVM of its own) or Spark Connect (the server's)."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from etl_cli.plugins.api import OptionProblem

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CONNECT_SCHEME = "sc://"
#: SQL settings a running session cannot change: they are fixed when the server starts
STATIC_SQL_SETTINGS = frozenset(
    {
        "spark.sql.extensions",
        "spark.sql.warehouse.dir",
        "spark.sql.catalogImplementation",
        "spark.sql.hive.metastore.version",
        "spark.sql.hive.metastore.jars",
        "spark.sql.hive.metastore.jars.path",
        "spark.sql.hive.metastore.sharedPrefixes",
        "spark.sql.hive.metastore.barrierPrefixes",
        "spark.sql.queryExecutionListeners",
        "spark.sql.streaming.streamingQueryListeners",
        "spark.sql.ui.retainedExecutions",
        "spark.sql.event.truncate.length",
        "spark.sql.cache.serializer",
        "spark.sql.sources.disabledJdbcConnProviderList",
        "spark.sql.legacy.sessionInitWithConfigDefaults",
    }
)


def is_connect_url(master: str | None) -> bool:
    """Whether ``master`` names a Spark Connect server rather than a Spark master."""
    return bool(master) and str(master).startswith(CONNECT_SCHEME)


def loopback(url: str) -> bool:
    """Whether the Connect server at ``url`` runs on this machine (its files are this machine's files)."""
    host = urlsplit(url.replace(CONNECT_SCHEME, "http://", 1)).hostname or ""
    return host in {"localhost", "127.0.0.1", "::1"} or host == socket.gethostname()


def is_session_setting(key: str) -> bool:
    """Whether a Connect session can be given ``key`` (a runtime SQL setting), rather than the server."""
    return key.startswith("spark.sql.") and key not in STATIC_SQL_SETTINGS


def server_settings(conf: Mapping[str, Any]) -> dict[str, str]:
    """The settings of ``conf`` that only a Spark Connect server's start can apply."""
    return {key: str(value) for key, value in conf.items() if not is_session_setting(key)}


def release_for_line(variable: str, for_line: Mapping[str, str], environ: Mapping[str, str] | None = None) -> str:
    """A connector's version for the installed pyspark: ``$variable`` if set, else the release ``for_line`` names
    for pyspark's ``major.minor`` line, else that line's ``.0`` (patch releases of a line are binary compatible)."""
    chosen = (environ if environ is not None else os.environ).get(variable, "").strip()
    if chosen:
        return chosen
    try:
        installed = version("pyspark")
    except PackageNotFoundError:
        installed = "4.1.3"
    match = re.match(r"(\d+)\.(\d+)", installed)
    if not match:
        return installed
    line = f"{match.group(1)}.{match.group(2)}"
    return for_line.get(line, f"{line}.0")


def is_connect(session: SparkSession) -> bool:
    """Whether ``session`` is a Spark Connect session (no JVM in this process)."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def display_url(url: str) -> str:
    """``url`` without its parameters (a token among them): what a log or a results file may show."""
    return url.split("/;", 1)[0].rstrip("/")


def jvm_of(session: SparkSession) -> Any | None:
    """The py4j view of ``session``'s JVM, or None over Spark Connect (where the JVM is the server's)."""
    return None if is_connect(session) else session._jvm


def master_of(session: SparkSession) -> str:
    """Where ``session`` runs: its master URL, or its Connect server's address (without a token)."""
    if is_connect(session):
        builder: Any = getattr(getattr(session, "client", None), "_builder", None)
        url: Any = getattr(builder, "url", None)
        return display_url(str(url.geturl()) if url is not None else "sc://")
    return str(session.sparkContext.master)


def off_local_disk(options: Mapping[str, Any], reason: str) -> list[OptionProblem]:
    """Why a stage cannot run over Spark Connect when its ``path`` is off the local disk (``reason``: the JVM part)."""
    path = options.get("path")
    if not isinstance(path, str) or urlsplit(path).scheme in ("", "file"):
        return []
    return [
        OptionProblem(
            ("path",),
            f"cannot run over Spark Connect: {path} is not on the local disk, and {reason}",
            "run this pipeline in-process or on a cluster (--master) instead of over Spark Connect (--remote)",
        )
    ]
