"""The one local Spark session of a test process, and ``etl-cli`` commands run on it in-process.

Starting a JVM costs an ``etl-cli run`` subprocess 12-20 CPU seconds, nearly all of it Spark's start and its cold
code paths, against one or two on a warm JVM: the tests run most ``etl-cli run``, ``dry-run``, ``test``, ``dlq``,
``generate`` and ``lineage`` commands in the test process itself, each on a session of its own
(:meth:`SparkSession.newSession`: its own SQL settings, temporary views and functions) over the shared JVM. A command
whose pipeline needs a JVM set up otherwise (connector jars it has not loaded, Spark extensions, the Hive catalog, a
cluster or Spark Connect) fails the test with :class:`OwnJvmNeeded`'s message: such a test module is marked
``pytest.mark.own_jvm`` (its commands run as subprocesses, as a user runs them), as is one that checks what only a
process shows (signals, exit under a kill, the JVM's own log).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.runtime.spark.session import build_session  # the real one: commands run here get a stand-in

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REPO = Path(__file__).resolve().parents[1]
#: the settings of the tests' shared session (the ``spark`` fixture)
SHARED_MASTER = "local[2]"
SHARED_CONF = {"spark.sql.shuffle.partitions": "4"}
#: commands run in-process when their test allows it (each starts Spark; the others start only Python)
SPARK_COMMANDS = frozenset({"run", "dry-run", "test", "dlq", "generate", "lineage"})

_shared: SparkSession | None = None


def shared_session() -> SparkSession:
    """The test process's one local Spark session (started on first use, stopped when the process ends)."""
    global _shared
    if _shared is None:
        # the JVM's working folder: the repository's, not the folder of the test that happens to start it first
        with contextlib.chdir(REPO):
            jars = connector_jars()
            _shared = build_session(app_name="etl-cli-tests", master=SHARED_MASTER, conf=SHARED_CONF, jars=jars)
    return _shared


def connector_jars() -> list[str]:
    """The connectors' jars found locally (scripts/fetch-jars.sh's cache): JDBC drivers, Kafka, Avro, MongoDB, stores.

    On the shared JVM's class path, the runs of pipelines that read or write PostgreSQL, MySQL, MariaDB, Kafka,
    MongoDB, S3, Azure Blob Storage or GCS run in-process too (a run's store settings are per bucket or account, and
    a later run in the same JVM replaces an earlier one's: etl_cli/plugins/s3.py). Connectors that change the
    session itself (Delta's and Iceberg's extensions and catalogs) are left out.
    """
    from etl_cli.plugins.avro import avro_package
    from etl_cli.plugins.jdbc.dialects import MARIADB_PACKAGE, POSTGRESQL_PACKAGE
    from etl_cli.plugins.kafka_connection import connector_package
    from etl_cli.plugins.mongodb_connection import CONNECTOR_PACKAGE as MONGODB_PACKAGE
    from etl_cli.plugins.object_stores import AZURE_PACKAGES, GCS_PACKAGES
    from etl_cli.plugins.s3 import S3_PACKAGES
    from etl_cli.runtime.spark.jars import resolve_local_jars

    packages = [POSTGRESQL_PACKAGE, MARIADB_PACKAGE, connector_package(), avro_package(), MONGODB_PACKAGE]
    packages += [*S3_PACKAGES, *AZURE_PACKAGES, *GCS_PACKAGES]
    return list(resolve_local_jars(packages).jars)


class OwnJvmNeeded(BaseException):  # not an Exception: the CLI's error boundary must not catch it
    """The pipeline needs a JVM of its own: its test runs the command as a subprocess (``pytest.mark.own_jvm``)."""


def in_process(args: tuple[str, ...], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``etl-cli ARGS`` in this process on :func:`shared_session`, as a subprocess would with ``env``/``cwd``.

    :class:`OwnJvmNeeded` when the command's pipeline needs a JVM of its own (the caller runs it as a subprocess, or
    fails the test saying so).
    """
    from etl_cli.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with (
        _environment(env),
        contextlib.chdir(cwd),
        _joined_sessions(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        _stdin_closed(),
    ):
        try:
            main(list(args))
        except SystemExit as exited:
            code = exited.code if isinstance(exited.code, int) else (0 if exited.code is None else 1)
    if _shared is not None:
        _shared.catalog.clearCache()  # what the run persisted (the cache is the JVM's, not the session's)
    return subprocess.CompletedProcess([sys.executable, "-m", "etl_cli", *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    before = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


@contextlib.contextmanager
def _stdin_closed() -> Iterator[None]:
    before = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = before


@contextlib.contextmanager
def _joined_sessions() -> Iterator[None]:
    """etl-cli's session factory gives a new session over the shared one's JVM; stopping a session stops nothing."""
    from pyspark.sql import SparkSession

    from etl_cli.runtime.execution import workspace
    from etl_cli.runtime.spark import session

    def joined(app_name: str, master: str | None = None, conf: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        return _new_session(shared_session(), app_name, master, conf, **kw)

    saved = [(workspace, "build_session", workspace.build_session), (session, "build_session", session.build_session)]
    stop = SparkSession.stop
    try:
        for module, name, _ in saved:
            setattr(module, name, joined)
        SparkSession.stop = lambda self: None  # type: ignore[method-assign]
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        SparkSession.stop = stop  # type: ignore[method-assign]


def _new_session(
    shared: SparkSession,
    app_name: str,
    master: str | None,
    conf: Mapping[str, Any] | None,
    packages: Any = (),
    jars: Any = (),
    verbose: bool = False,
    jvm_log: Path | None = None,
    analysis: bool = False,
    streaming: bool = False,
) -> SparkSession:
    from etl_cli.runtime.spark.jars import resolve_local_jars
    from etl_cli.runtime.spark.session import session_settings

    if master and not master.startswith("local"):
        raise OwnJvmNeeded(f"the command runs on {master}, not on the tests' local Spark")
    local = resolve_local_jars(packages)
    started = shared.sparkContext.getConf()
    # the connector jars it started with, by file name: a jar two connectors bring is loaded once, from either
    loaded = {Path(jar).name for jar in (started.get("spark.jars") or "").split(",") if jar}
    if wanted := [*local.packages, *(jar for jar in (*map(str, jars), *local.jars) if Path(jar).name not in loaded)]:
        raise OwnJvmNeeded(
            f"the pipeline needs JVM packages or jars the tests' shared session has not loaded: {', '.join(wanted)}"
            " (scripts/fetch-jars.sh puts the connectors' jars where it finds them)"
        )
    settings = session_settings(app_name, master, conf, (), (), verbose, analysis, streaming)
    session = shared.newSession()
    for key, value in settings.items():
        if not key.startswith(("spark.sql.", "spark.hadoop.")):
            continue  # JVM, driver and UI settings: the shared JVM's serve
        try:
            session.conf.set(key, value)
        except Exception:  # a static setting (extensions, the catalog's implementation): the JVM's start fixed it
            if started.get(key, session.conf.get(key, None)) != value:
                raise OwnJvmNeeded(f"the pipeline needs the static Spark setting {key}={value}") from None
    return session
