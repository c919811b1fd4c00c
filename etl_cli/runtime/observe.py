"""Row counts without extra Spark jobs: observed metrics on each stage's DataFrame."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class RowCounter:
    """Attach to a DataFrame; after an action has run it, :meth:`rows` returns its row count."""

    def __init__(self, name: str):
        from pyspark.sql import Observation

        self._observation = Observation(f"etl_rows_{name}")

    def attach(self, df: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F

        return df.observe(self._observation, F.count(F.lit(1)).alias("rows"))

    def rows(self, timeout_s: float = 10.0) -> int | None:
        """The count, or None if the DataFrame was never executed (waiting would block forever)."""
        future = self._jvm_future()
        if future is not None:
            return self._poll(future, timeout_s)
        box: dict[str, Any] = {}

        def read() -> None:
            try:
                box["value"] = self._observation.get.get("rows")
            except Exception as exc:
                box["error"] = exc

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout_s)
        value = box.get("value")
        return int(value) if value is not None else None

    def _jvm_future(self) -> Any:
        """The JVM-side future of the count (classic sessions), which can be asked without blocking."""
        observation = getattr(self._observation, "_jo", None)
        return None if observation is None else observation.future()

    def _poll(self, future: Any, timeout_s: float) -> int | None:
        # Counts are read after the sinks' jobs, so they have nearly always arrived: asking the
        # future is one call, where a reader thread costs a new py4j connection per stage.
        deadline = time.monotonic() + timeout_s
        while not future.isCompleted():
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.005)
        value = self._observation.get.get("rows")
        return int(value) if value is not None else None
