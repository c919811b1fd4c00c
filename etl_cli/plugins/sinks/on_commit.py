"""Writes to targets with no staging area, held by Spark while the run stages and published at commit.

A Kafka topic, a MongoDB collection, an OpenSearch index or an HTTP API cannot keep written
data out of sight until the run commits, and what they received cannot be taken back. So
their sinks compute and count their rows while staging (every computation error surfaces
then, while nothing is sent yet), keep them in Spark's block store (memory, spilling to disk),
and send them only at commit time, after every other sink of the run has committed
(:attr:`PendingWrite.irreversible`). A run that fails before the commit sends nothing.

A commit that fails half-way leaves what was sent; the held rows stay cached, so a retried
commit sends from the same rows, and an abort frees them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from etl_cli.plugins.sinks.staging import OneShotWrite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def held(df: DataFrame) -> tuple[DataFrame, int]:
    """``df`` persisted (memory, spilling to disk) and its row count: one Spark job, the rows kept for later."""
    from pyspark import StorageLevel

    kept = df.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return kept, kept.count()
    except BaseException:
        kept.unpersist()
        raise


class PublishOnCommit(OneShotWrite):
    """Rows held by Spark since staging, sent by :meth:`commit` (:meth:`_send`), after every other sink."""

    irreversible = True

    def __init__(self, rows_df: DataFrame, target: str, mode: str, rows: int):
        super().__init__(target, mode)
        self._rows_df = rows_df
        self.rows = rows

    def _publish(self) -> None:
        # on failure the rows stay cached: a retried commit sends from the same rows, and an abort frees them
        if self.rows:
            self._send(self._rows_df)
        self._rows_df.unpersist()

    def _discard(self) -> None:
        self._rows_df.unpersist()

    def _send(self, rows_df: DataFrame) -> None:
        raise NotImplementedError


class SaveOnCommit(PublishOnCommit):
    """Held rows saved at commit through a Spark connector (``format`` and its options), in append mode."""

    def __init__(
        self,
        rows_df: DataFrame,
        connector: str,
        settings: Mapping[str, str],
        target: str,
        mode: str,
        rows: int,
        delivery: str,
    ):
        super().__init__(rows_df, target, mode, rows)
        self._connector = connector
        self._settings = dict(settings)
        self.details["delivery"] = delivery

    def _send(self, rows_df: DataFrame) -> None:
        rows_df.write.format(self._connector).mode("append").options(**self._settings).save()
