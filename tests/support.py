"""Test doubles and frozen data shared by the suite: one copy each, so they cannot drift apart.

Expected values stay in the tests; what lives here only records or shapes inputs.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from etl_cli.events import Reporter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def frozen(value: Any) -> Any:
    """Options as a validated pipeline holds them: read-only mappings and tuples, all the way down."""
    if isinstance(value, dict):
        return MappingProxyType({key: frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(frozen(item) for item in value)
    return value


#: the catalog tests' orders by path in the project: data/orders.csv two days of them, data/more.csv a third
ORDERS_BY_DAY = {
    "data/orders.csv": """\
        id,email,amount,day
        1,ann@example.com,10.50,2024-03-01
        2,bob@example.com,7.25,2024-03-01
        3,cy@example.com,3.00,2024-03-02
        """,
    "data/more.csv": """\
        id,email,amount,day
        4,dee@example.com,1.00,2024-03-03
        """,
}


def orders_source(id_type: str) -> str:
    """The catalog tests' ``sources:``: ``raw`` reads ``${var:data}`` (a file of :data:`ORDERS_BY_DAY`), ``id``
    typed ``id_type``, and its contract tags ``email`` pii and contact."""
    return f"""\
sources:
  - name: raw
    type: csv
    path: ${{var:data}}
    schema: {{id: {id_type}, email: STRING, amount: "DECIMAL(10,2)", day: STRING}}
    contract:
      policy: evolve
      columns:
        email: {{type: string, pii: true, tags: [contact]}}
"""


def rows(df: DataFrame) -> list[tuple[Any, ...]]:
    """The rows of ``df`` as sorted tuples (None sorts first), for comparisons that ignore Spark's row order."""
    return sorted((tuple(r) for r in df.collect()), key=lambda r: [(v is not None, v) for v in r])


class Retry(NamedTuple):
    """One :meth:`Reporter.retrying` event: try ``attempt`` of ``attempts`` failed, the next is in ``delay_s``."""

    operation: str
    endpoint: str
    attempt: int
    attempts: int
    delay_s: float
    error: str


class CircuitChange(NamedTuple):
    """One :meth:`Reporter.circuit_changed` event: the breaker of ``endpoint`` moved from ``old`` to ``new``."""

    endpoint: str
    old: str
    new: str
    failures: int


class RecordingReporter(Reporter):
    """A reporter that keeps, in order, what the core told the user, so tests can assert on it."""

    def __init__(self) -> None:
        #: (level, text) of every :meth:`message`
        self.messages: list[tuple[str, str]] = []
        #: every :meth:`quality_report`
        self.reports: list[dict[str, Any]] = []
        self.retries: list[Retry] = []
        self.changes: list[CircuitChange] = []

    @property
    def texts(self) -> list[str]:
        """The text of every message, without its level."""
        return [text for _, text in self.messages]

    def message(self, level: str, text: str) -> None:
        self.messages.append((level, text))

    def quality_report(self, report: dict[str, Any]) -> None:
        self.reports.append(report)

    def retrying(self, operation: str, endpoint: str, attempt: int, attempts: int, delay_s: float, error: str) -> None:
        self.retries.append(Retry(operation, endpoint, attempt, attempts, delay_s, error))

    def circuit_changed(self, endpoint: str, old: str, new: str, failures: int) -> None:
        self.changes.append(CircuitChange(endpoint, old, new, failures))
