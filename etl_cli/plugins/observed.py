"""Reading one observed metric (``Dataset.observe``) back from Spark, cheaply."""

from __future__ import annotations

import contextlib
import weakref
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.spark_session import is_connect

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, Observation

#: one ``count(1) AS rows`` column per Spark context: building it costs a dozen JVM calls, and a
#: run attaches one to every counted stage and sink (a column holds no data, so any plan can share it)
_ROW_COUNTS: weakref.WeakKeyDictionary[Any, Column] = weakref.WeakKeyDictionary()


def observe_rows(df: DataFrame, observation: Observation) -> DataFrame:
    """``df`` with ``observation`` counting its rows as the metric ``rows`` (read once an action ran it)."""
    session = df.sparkSession
    # over Spark Connect a column is an expression on the client: one per session is as cheap
    context: Any = session if is_connect(session) else session.sparkContext
    count = _ROW_COUNTS.get(context)
    if count is None:
        from pyspark.sql import functions as F

        count = _ROW_COUNTS[context] = F.count(F.lit(1)).alias("rows")
    # over Spark Connect (Spark 4.0) a write reports the observed metrics of its own stage only: the counts
    # of the stages beneath stay unknown (docs/cluster.md)
    return df.observe(observation, count)


def observed_value(observation: Observation, name: str) -> Any:
    """The metric ``name`` of ``observation``, waiting for the action that runs it to finish.

    ``Observation.get`` copies the whole map over py4j, and the end of py4j's iterator is a
    Java exception that PySpark converts (about a dozen more JVM calls): 25 ms per read on a
    busy two-core machine, for every run. Asking the JVM side for one value is one call.
    """
    jvm_side = getattr(observation, "_jo", None)  # classic sessions; Spark Connect has none
    if jvm_side is None:
        return observation.get.get(name)
    return jvm_side.getAsJava().get(name)


def observed_metrics(observation: Observation, timeout_s: float = 10.0) -> dict[str, Any]:
    """Every value of ``observation``, or {} when no action ran the observed plan (waiting would block for ever)."""
    import threading

    box: dict[str, Any] = {}

    def read() -> None:
        # a failed action fails the observation too: its error is the action's, reported there
        with contextlib.suppress(Exception):
            box.update(observation.get)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    return box
