"""Row counts without extra Spark jobs: observed metrics on each stage's DataFrame."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from etl_cli.plugins.observed import observe_rows, observed_metrics

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class RowCounter:
    """Attach to a DataFrame; after an action has run it, :meth:`rows` returns its row count."""

    def __init__(self, name: str):
        from pyspark.sql import Observation

        self._observation = Observation(f"etl_rows_{name}")

    def attach(self, df: DataFrame) -> DataFrame:
        return observe_rows(df, self._observation)

    def rows(self, timeout_s: float = 10.0) -> int | None:
        """The count, or None if the DataFrame was never executed (waiting would block forever)."""
        observation = getattr(self._observation, "_jo", None)  # the JVM side (classic sessions)
        if observation is not None:
            return self._poll(observation, timeout_s)
        value = observed_metrics(self._observation, timeout_s).get("rows")
        return int(value) if value is not None else None

    def _poll(self, observation: Any, timeout_s: float) -> int | None:
        # Counts are read after the sinks' jobs, so they have nearly always arrived: asking the JVM
        # future is one call, where a reader thread costs a new py4j connection per stage.
        future = observation.future()
        deadline = time.monotonic() + timeout_s
        while not future.isCompleted():
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.005)
        value = observation.getAsJava().get("rows")  # one value, not the whole map copied over
        return int(value) if value is not None else None
