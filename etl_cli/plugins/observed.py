"""Reading one observed metric (``Dataset.observe``) back from Spark, cheaply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import Observation


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
    reader = threading.Thread(target=lambda: box.update(observation.get), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return box
