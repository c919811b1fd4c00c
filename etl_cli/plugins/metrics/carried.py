"""The one number a run's metrics take over from the run before: when the pipeline last succeeded.

Both exporters replace everything the previous run left (the Pushgateway group, the
textfile), so a failed run never shows an older run's rows or checks beside its status.
``etl_run_last_success_timestamp_seconds`` is the exception an alert on "no success for N
hours" needs: only a successful run measures it, so a run that did not succeed copies the
previous value over from what it replaces.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

LAST_SUCCESS = "etl_run_last_success_timestamp_seconds"


def carry_last_success(
    registry: CollectorRegistry, labels: Mapping[str, str], previous: Mapping[str, str], text: str | None
) -> None:
    """Add the last success time found in ``text`` (the previous run's exposition) to ``registry``, unless this
    run measured one.

    ``labels`` are the labels the registry's samples carry, ``previous`` the ones the last success sample
    carries in ``text``; None for ``text``: there was no previous run.
    """
    if text is None or registry.get_sample_value(LAST_SUCCESS, dict(labels)) is not None:
        return
    value = last_success_in(text, previous)
    if value is not None:
        registry.register(_Carried(value, dict(labels)))


def last_success_in(text: str, labels: Mapping[str, str]) -> float | None:
    """The value of the last success sample labelled exactly ``labels`` in Prometheus' text format, if any.

    A Pushgateway exposes an empty ``instance`` label on groups pushed without one: it counts as absent.
    """
    from prometheus_client.parser import text_string_to_metric_families

    wanted = dict(labels)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found = {k: v for k, v in sample.labels.items() if not (k == "instance" and v == "" and k not in wanted)}
            if sample.name == LAST_SUCCESS and found == wanted:
                return float(sample.value)
    return None


class _Carried:
    """A collector yielding the last success time of an earlier run."""

    def __init__(self, value: float, labels: dict[str, str]):
        self.value, self.labels = value, labels

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            LAST_SUCCESS, "When the pipeline last succeeded (Unix time).", labels=list(self.labels)
        )
        family.add_metric(list(self.labels.values()), self.value)
        yield family
