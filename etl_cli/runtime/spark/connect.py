"""Spark Connect: a session on a Spark Connect server (``sc://host:port``), and what differs there.

Over Connect the JVM is the server's: etl-cli's client process has no py4j gateway, no
``SparkContext`` and no Hadoop ``FileSystem``. A session there takes the settings a running
session may change (SQL settings: ``spark.sql.*``, except the static ones); everything else
(JVM packages, memory, extensions) belongs to the server, and :func:`server_settings` lists
what a pipeline asks of it, so a caller can refuse or fall back to an in-process session.
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from etl_cli.errors import RunError
from etl_cli.plugins.spark_session import (
    CONNECT_SCHEME,
    display_url,
    is_connect,
    is_connect_url,
    is_session_setting,
    jvm_of,
    loopback,
    master_of,
    server_settings,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def connect_session(url: str, conf: Mapping[str, str]) -> SparkSession:
    """A new session on the Spark Connect server at ``url``, with the runtime settings of ``conf``.

    Each call makes a session of its own on the server (its own settings, temporary views and
    cached data), isolated from every other client's. Settings a session cannot take
    (:func:`server_settings`) are left out: the caller decides whether it can do without them.
    """
    from pyspark.sql import SparkSession

    require_connect_client()
    try:
        # create(), never getOrCreate(): a second session of this process (etl-cli test, the studio) is one of its
        # own; it also marks the process as a Spark Connect one, which PySpark's functions need to build columns
        session: Any = SparkSession.builder.remote(url).create()
    except ImportError as exc:
        raise RunError(
            f"running over Spark Connect needs the `connect` extra ({exc})",
            hint="pip install 'etl-cli[connect]'",
        ) from exc
    # the server keeps a session until it is released: a run that leaves its session to the process frees it at exit
    atexit.register(_release, session)
    try:
        settings = {key: value for key, value in conf.items() if is_session_setting(key)}
        if settings:
            _set_all(session, settings)
    except BaseException:
        session.stop()
        raise
    return session


def require_connect_client() -> None:
    """Raise a clear error when PySpark's Spark Connect client cannot load (the ``connect`` extra is missing)."""
    try:
        from pyspark.sql.connect.utils import check_dependencies

        check_dependencies("etl_cli")
    except ImportError as exc:
        raise RunError(
            f"Spark Connect needs the `connect` extra ({exc})", hint="pip install 'etl-cli[connect]'"
        ) from exc


def _release(session: Any) -> None:
    with contextlib.suppress(Exception):  # the server is gone, or the session was stopped already
        if not getattr(session, "is_stopped", False):
            session.stop()


def _set_all(session: SparkSession, settings: Mapping[str, str]) -> None:
    """``settings`` in one round trip where the client offers it."""
    set_all = getattr(session.conf, "_set_all", None)
    if set_all is not None:
        set_all(configs=dict(settings), silent=False)
        return
    for key, value in settings.items():
        session.conf.set(key, value)


def observed_values(observed: Any) -> dict[str, Any]:
    """One query's observed metrics of a micro-batch (``progress.observedMetrics[name]``) as a mapping.

    In-process they are a Row of the named values; over Spark Connect, PySpark 4.1 parses them from the
    progress's JSON into a Row of ``values`` and ``schema`` instead, the names being the schema's fields.
    """
    values = observed.asDict() if hasattr(observed, "asDict") else dict(observed)
    if set(values) == {"values", "schema"} and isinstance(values["schema"], Mapping):
        names = [field["name"] for field in values["schema"].get("fields", [])]
        return dict(zip(names, values["values"], strict=True))
    return values


__all__ = [
    "CONNECT_SCHEME",
    "display_url",
    "is_connect",
    "is_connect_url",
    "is_session_setting",
    "jvm_of",
    "loopback",
    "master_of",
    "server_settings",
]
