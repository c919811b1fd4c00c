"""Spark's progress while a stage runs, polled from its status tracker on a background thread.

Only reporters that show it (a terminal) ask for it: cron logs and JSON logs get stage
events only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from etl_cli.events import Reporter, SparkProgress
from etl_cli.runtime.spark.connect import is_connect

if TYPE_CHECKING:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

POLL_INTERVAL_S = 0.5


@contextmanager
def watch_spark_progress(
    spark: SparkSession, reporter: Reporter, interval_s: float = POLL_INTERVAL_S
) -> Iterator[None]:
    """Send :meth:`Reporter.spark_progress` events while the block runs, if the reporter wants them."""
    if not reporter.wants_spark_progress or is_connect(spark):  # over Spark Connect the status tracker is the server's
        yield
        return
    stop = threading.Event()
    poller = threading.Thread(
        target=_poll, args=(spark.sparkContext, reporter, stop, interval_s), name="etl-spark-progress", daemon=True
    )
    poller.start()
    try:
        yield
    finally:
        stop.set()
        poller.join(timeout=5)


def _poll(context: SparkContext, reporter: Reporter, stop: threading.Event, interval_s: float) -> None:
    last: SparkProgress | None = None
    while not stop.wait(interval_s):
        try:
            current = spark_progress(context)
        except Exception:  # the session is stopping: there is nothing more to show
            return
        if current != last:
            reporter.spark_progress(current)
            last = current


def spark_progress(context: SparkContext) -> SparkProgress | None:
    """Tasks and records of the active jobs' running stages, or None when no job runs."""
    jobs = tuple(sorted(context.statusTracker().getActiveJobsIds()))
    if not jobs:
        return None
    stages: Any = context._jsc.sc().statusStore().activeStages()
    tasks = done = running = rows_read = rows_written = 0
    for index in range(stages.size()):
        stage = stages.apply(index)
        tasks += stage.numTasks()
        done += stage.numCompleteTasks()
        running += stage.numActiveTasks()
        rows_read += stage.inputRecords()
        rows_written += stage.outputRecords()
    return SparkProgress(jobs, tasks, done, running, rows_read, rows_written)
