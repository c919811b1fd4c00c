"""The Spark session factory: master, conf, quiet logs, JVM packages, fast JVM start-up."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.runtime.spark.class_sharing import ClassArchive, class_archive
from etl_cli.runtime.spark.connect import connect_session, is_connect_url
from etl_cli.runtime.spark.gateway import launch_gateway
from etl_cli.runtime.spark.jars import resolve_local_jars
from etl_cli.runtime.spark.java import ensure_java

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOG4J_CONFIG = Path(__file__).with_name("resources") / "log4j2.properties"
DEFAULT_MASTER = "local[*]"
#: settings of a short-lived session that analyses plans and runs jobs on samples at most (dry-run),
#: applied over the pipeline's own: they change how fast Spark answers, never what it answers
ANALYSIS_SETTINGS = {
    "spark.sql.shuffle.partitions": "2",
    "spark.eventLog.enabled": "false",
    "spark.driver.memory": "512m",
}
#: JVM options of such a session: the JIT's quick first tier only, a garbage collector without
#: background threads; both leave the two cores of a small machine to the analysis itself
ANALYSIS_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
#: the garbage collector of a batch run's driver JVM (which, on a local master, also runs the tasks):
#: the throughput collector, about 8% faster than G1 on the batch benchmarks; streaming runs keep G1,
#: the JVM's default, whose short pauses keep micro-batch latency even
BATCH_JAVA_OPTIONS = "-XX:+UseParallelGC"
#: defaults a pipeline's ``spark.conf`` can override
DEFAULT_SETTINGS = {
    # Parquet's own timestamp type rather than the deprecated INT96 (every current reader takes it; cheaper to write)
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
_GC_OPTION = re.compile(r"-XX:\+Use\w+GC\b")
_JAVA_OPTIONS = ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions")


def session_settings(
    app_name: str,
    master: str | None = None,
    conf: Mapping[str, Any] | None = None,
    packages: Iterable[str] = (),
    jars: Iterable[str] = (),
    verbose: bool = False,
    analysis: bool = False,
    streaming: bool = False,
) -> dict[str, str]:
    """Every Spark setting etl-cli starts a session with (user ``conf`` wins, except over ``analysis`` settings).

    ``analysis``: a short-lived session for dry-run (:data:`ANALYSIS_SETTINGS`, :data:`ANALYSIS_JAVA_OPTIONS`).
    ``streaming``: a streaming run, whose driver keeps the JVM's default collector (see :data:`BATCH_JAVA_OPTIONS`).
    JVM options in ``conf`` are added to etl-cli's own (logging), and a collector named there replaces etl-cli's.
    """
    level = "warn" if verbose else "error"
    java_opts = f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG} -Detl.log.level={level}"
    driver_opts = ANALYSIS_JAVA_OPTIONS if analysis else "" if streaming else BATCH_JAVA_OPTIONS
    settings = {
        **DEFAULT_SETTINGS,
        "spark.app.name": app_name,
        "spark.master": master or DEFAULT_MASTER,
        "spark.driver.extraJavaOptions": f"{java_opts} {driver_opts}".strip(),
        "spark.executor.extraJavaOptions": java_opts,
        "spark.ui.showConsoleProgress": "false",
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
    }
    if packages := sorted(set(packages)):
        settings["spark.jars.packages"] = ",".join(packages)
    if jars := sorted(set(jars)):
        settings["spark.jars"] = ",".join(jars)
    user = {key: _conf_text(value) for key, value in (conf or {}).items()}
    for key in _JAVA_OPTIONS:
        if key in user:
            user[key] = _java_options(settings[key], user[key])
    settings.update(user)
    if analysis:
        settings.update(ANALYSIS_SETTINGS)
    return settings


def build_session(
    app_name: str,
    master: str | None = None,
    conf: Mapping[str, Any] | None = None,
    packages: Iterable[str] = (),
    jars: Iterable[str] = (),
    verbose: bool = False,
    jvm_log: Path | None = None,
    analysis: bool = False,
    streaming: bool = False,
) -> SparkSession:
    """Start (or join) a Spark session configured for etl-cli; a ``master`` of ``sc://...``: a Spark Connect session.

    A JVM started here gets its settings through private files removed once it runs, never on
    its command line, where any local user could read them (see :mod:`etl_cli.runtime.spark.gateway`).
    Unless ``verbose``, the JVM's own console output (log4j lines, launcher notices)
    goes to ``jvm_log`` instead of the user's terminal, and log4j keeps errors only.
    ``analysis``: a short-lived session that analyses plans and counts samples (dry-run),
    tuned to start and answer fast rather than to crunch data (:data:`ANALYSIS_SETTINGS`).
    ``streaming``: the session of a streaming run (see :func:`session_settings`).
    """
    if is_connect_url(master):
        # the server's JVM holds the packages and server settings (etl-cli engine starts it with them)
        assert master is not None
        return connect_session(master, session_settings(app_name, master, conf, (), (), verbose, analysis, streaming))
    java = ensure_java()
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    # packages whose jars a local folder holds (ETL_JARS_DIR, scripts/fetch-jars.sh's cache) skip Maven
    local = resolve_local_jars(packages)
    settings = session_settings(
        app_name, master, conf, local.packages, (*jars, *local.jars), verbose, analysis, streaming
    )
    launching = SparkContext._gateway is None
    archive = class_archive(java, settings) if launching else None
    class_sharing = archive.java_options() if archive else ""
    if class_sharing:
        settings["spark.driver.extraJavaOptions"] = (
            f"{settings.get('spark.driver.extraJavaOptions', '')} {class_sharing}"
        )
    if launching:
        # settings reach the JVM through private files, never its command line (secrets among them)
        SparkContext._ensure_initialized(gateway=_launch_jvm(settings, None if verbose else jvm_log))
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    # Python UDFs (the text and ml transforms...) run in workers PySpark starts with `python3` from the PATH,
    # which need not be the interpreter etl-cli is installed in (a venv run by its full path, from cron). As in
    # Spark, spark.pyspark.python (a cluster whose machines keep Python elsewhere) comes before PYSPARK_PYTHON;
    # else this interpreter: a local master's workers are on this machine, and a cluster's executors need
    # pyspark and etl-cli's modules too, so the same installation path on every machine (docs/cluster.md)
    session.sparkContext.pythonExec = (
        settings.get("spark.pyspark.python") or os.environ.get("PYSPARK_PYTHON") or sys.executable
    )
    if archive is not None and "ArchiveClassesAtExit" in class_sharing:
        _note_archive_writer(archive)
    session.sparkContext.setLogLevel("WARN" if verbose else "ERROR")
    if not verbose:
        _quiet_query_context_loggers()
    return session


def _launch_jvm(settings: Mapping[str, str], jvm_log: Path | None) -> Any:
    """Start Spark's JVM with ``settings``; its console output goes to ``jvm_log`` when one is given."""
    if jvm_log is None:
        return launch_gateway(settings)
    jvm_log.parent.mkdir(parents=True, exist_ok=True)
    with jvm_log.open("ab") as sink:
        # its own session: a SIGTERM sent to etl-cli's process group (timeout, kill -TERM -PGID) reaches
        # etl-cli, which stops streaming queries gracefully, instead of killing the JVM under them; the JVM
        # still exits with etl-cli (it ends when its stdin, a pipe from etl-cli, closes)
        return launch_gateway(settings, {"stdout": sink, "stderr": sink, "start_new_session": True})


def _note_archive_writer(archive: ClassArchive) -> None:
    """The JVM just launched writes the class archive when it exits (spark-submit execs into it)."""
    from pyspark import SparkContext

    process = getattr(SparkContext._gateway, "proc", None)
    if process is None:
        return
    with contextlib.suppress(OSError):  # the claim then expires, and a later session writes the archive
        archive.writer_started(process.pid)


def _quiet_query_context_loggers() -> None:
    """PySpark logs each analysis error with its JVM stack trace to stderr; etl-cli reports the error itself."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def _java_options(ours: str, theirs: str) -> str:
    """etl-cli's JVM options followed by a pipeline's; the pipeline's collector, if it names one, is the only one."""
    if _GC_OPTION.search(theirs):
        ours = _GC_OPTION.sub("", ours)
    return " ".join(f"{ours} {theirs}".split())


def _conf_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
