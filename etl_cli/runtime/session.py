"""The Spark session factory: master, conf, quiet logs, JVM packages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.runtime.java import ensure_java

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOG4J_CONFIG = Path(__file__).with_name("resources") / "log4j2.properties"
DEFAULT_MASTER = "local[*]"


def session_settings(
    app_name: str,
    master: str | None = None,
    conf: Mapping[str, Any] | None = None,
    packages: Iterable[str] = (),
    jars: Iterable[str] = (),
    verbose: bool = False,
) -> dict[str, str]:
    """Every Spark setting etl-cli starts a session with (user ``conf`` wins)."""
    level = "warn" if verbose else "error"
    java_opts = f"-Dlog4j2.configurationFile=file:{LOG4J_CONFIG} -Detl.log.level={level}"
    settings = {
        "spark.app.name": app_name,
        "spark.master": master or DEFAULT_MASTER,
        "spark.driver.extraJavaOptions": java_opts,
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
    settings.update({key: _conf_text(value) for key, value in (conf or {}).items()})
    return settings


def build_session(
    app_name: str,
    master: str | None = None,
    conf: Mapping[str, Any] | None = None,
    packages: Iterable[str] = (),
    jars: Iterable[str] = (),
    verbose: bool = False,
    jvm_log: Path | None = None,
) -> SparkSession:
    """Start (or join) a Spark session configured for etl-cli.

    Unless ``verbose``, the JVM's own console output (log4j lines, launcher notices)
    goes to ``jvm_log`` instead of the user's terminal, and log4j keeps errors only.
    """
    ensure_java()
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    settings = session_settings(app_name, master, conf, packages, jars, verbose)
    if jvm_log is not None and not verbose and SparkContext._gateway is None:
        from pyspark.java_gateway import launch_gateway

        jvm_log.parent.mkdir(parents=True, exist_ok=True)
        with jvm_log.open("ab") as sink:
            conf_obj = SparkConf(loadDefaults=False).setAll(list(settings.items()))
            gateway = launch_gateway(conf_obj, popen_kwargs={"stdout": sink, "stderr": sink})
        SparkContext._ensure_initialized(gateway=gateway)
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN" if verbose else "ERROR")
    return session


def _conf_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
