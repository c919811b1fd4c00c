"""What a sink writing streaming micro-batches (``foreachBatch``) needs to write each one exactly once.

After a crash Spark replays the last micro-batch it had not marked done in the checkpoint: with the
same batch id and the same rows, even when the sink had already committed them. A sink that records
*which query* committed *which batch* in the same atomic commit as the rows can recognise the replay
and skip it. The query is named by its id, which Spark keeps in the checkpoint (``metadata``): the
same across restarts, a new one for a new checkpoint (whose batch ids start again at 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: the local property Spark sets on the thread running a streaming query's micro-batches
QUERY_ID_PROPERTY = "sql.streaming.queryId"


def query_id(batch: DataFrame) -> str | None:
    """The id of the streaming query whose micro-batch ``batch`` is, or None outside a query's thread
    (or over Spark Connect, where the driver's thread is out of reach)."""
    try:
        value = batch.sparkSession.sparkContext.getLocalProperty(QUERY_ID_PROPERTY)
    except Exception:  # Spark Connect: no SparkContext
        return None
    return str(value) if value else None
