"""The one warm Spark session every in-process benchmark shares, and its start-up cost.

It is started by etl-cli's own session factory, so both variants of a benchmark run with
exactly the settings etl-cli runs pipelines with; the few settings added here apply to both.
Start-up is measured on its own (JVM launch + session, then a first tiny job that pays for
class loading), so the jobs' figures never include it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.measure import measure_call

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER = "local[*]"
#: shuffles of the complex benchmark: a few partitions per core (adaptive execution coalesces further)
SETTINGS = {"spark.sql.shuffle.partitions": "8"}


def start_session(
    work: Path, packages: Sequence[str] = (), settings: Mapping[str, str] | None = None
) -> tuple[SparkSession, dict[str, Any]]:
    """Start the shared session (with the JVM ``packages`` connectors need); return it and its start-up figures.

    ``settings``: what plug-ins need at session start (:meth:`Plugin.session_settings_for`: the Delta and
    Iceberg SQL extensions, an Iceberg catalog), added to :data:`SETTINGS`.
    """
    from etl_cli.runtime.spark.session import build_session

    conf = {**SETTINGS, **(settings or {})}
    sample, spark = measure_call(
        lambda: build_session(
            app_name="etl-cli-benchmarks",
            master=MASTER,
            conf=conf,
            packages=packages,
            jvm_log=work / "logs" / f"jvm-{int(time.time())}.log",
        )
    )
    first_job, _ = measure_call(lambda: spark.range(1000).selectExpr("sum(id)").collect())
    return spark, {
        "master": MASTER,
        "default_parallelism": spark.sparkContext.defaultParallelism,
        "settings": SETTINGS,
        "plugin_settings": dict(settings or {}),
        "packages": list(packages),
        "start_s": round(sample.wall_s, 3),
        "first_job_s": round(first_job.wall_s, 3),
        "driver_rss_after_start_mb": None if first_job.peak_rss_mb is None else round(first_job.peak_rss_mb, 1),
    }
