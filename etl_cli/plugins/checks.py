"""The quality models of the plug-in API: checks, schema contracts, the dead-letter queue, as plain frozen data.

They sit at the bottom layer with :class:`~etl_cli.plugins.api.StageSpec`, so check plug-ins
(``plugins/quality``) and the pipeline model (the ``model`` package, which builds them from the
validated document) both import them and neither imports the other. Nothing here imports pyspark.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from etl_cli.errors import Location
from etl_cli.plugins.api import StageSpec

Action = Literal["warn", "drop", "quarantine", "fail"]
Severity = Literal["error", "warning"]
Policy = Literal["strict", "allow_extra", "evolve"]

ROW_ACTIONS: tuple[Action, ...] = ("warn", "drop", "quarantine", "fail")
DATASET_ACTIONS: tuple[Action, ...] = ("warn", "fail")
POLICIES: tuple[Policy, ...] = ("strict", "allow_extra", "evolve")
DEFAULT_SAMPLES = 3


@dataclass(frozen=True)
class Threshold:
    """How many failing rows a check tolerates: a ratio or a count (default: none at all)."""

    max_ratio: float | None = None
    max_count: int | None = None

    def breached(self, failed: int, evaluated: int) -> bool:
        """True when ``failed`` of ``evaluated`` rows is more than the limit allows."""
        if self.max_ratio is not None:
            return evaluated > 0 and failed / evaluated > self.max_ratio
        return failed > (self.max_count or 0)

    def describe(self) -> str:
        if self.max_ratio is not None:
            return f"max_ratio {self.max_ratio:g}"
        return f"max_count {self.max_count or 0}"

    def to_json(self) -> dict[str, Any]:
        return {"max_ratio": self.max_ratio} if self.max_ratio is not None else {"max_count": self.max_count or 0}


@dataclass(frozen=True)
class CheckSpec:
    """One item of ``checks:``: what to test on which stage, and what to do about failing rows."""

    name: str
    type: str
    stage: str
    action: Action
    severity: Severity
    threshold: Threshold = field(default_factory=Threshold)
    samples: int = DEFAULT_SAMPLES
    options: Mapping[str, Any] = field(default_factory=dict)
    location: Location | None = None
    description: str | None = None

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    @property
    def removes_rows(self) -> bool:
        return self.action in ("drop", "quarantine")

    @property
    def label(self) -> str:
        return f"check '{self.name}' ({self.type}) on stage '{self.stage}'"


@dataclass(frozen=True)
class ContractColumn:
    """A column a stage promises: its Spark SQL type (None: any), whether nulls are allowed, and its tags.

    The tags (``pii`` among them) describe the data; sinks that register in a catalog carry them there.
    """

    name: str
    type: str | None = None
    nullable: bool = True
    #: the column holds personal data (``pii: true``, or ``pii: <kind>``)
    pii: bool = False
    tags: tuple[str, ...] = ()
    #: the kind of personal data ``pii: <kind>`` names (email, name, phone...; etl_cli/model/tags.py)
    pii_kind: str | None = None


@dataclass(frozen=True)
class ContractSpec:
    """A stage's declared schema and how strictly its actual schema must match it."""

    stage: str
    columns: tuple[ContractColumn, ...]
    policy: Policy = "strict"
    location: Location | None = None

    @property
    def required_non_null(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if not c.nullable)


@dataclass(frozen=True)
class DeadLetterSpec:
    """Where rejected rows go: a sink type and its options (``path``, ``table``, ``topic``...)."""

    type: str
    options: Mapping[str, Any]
    location: Location | None = None

    def as_sink(self) -> StageSpec:
        """The dead-letter queue as a sink stage named ``dead_letter``, written with the other sinks."""
        return StageSpec("dead_letter", "sink", self.type, (), self.options, self.location, "dead-letter queue")

    def as_source(self) -> StageSpec:
        """The same place as a source stage, for ``etl-cli dlq`` to read it back."""
        return StageSpec("dead_letter", "source", self.type, (), self.options, self.location, "dead-letter queue")

    @property
    def target(self) -> str:
        for key in ("path", "table", "topic"):
            if key in self.options:
                return str(self.options[key])
        return self.type


_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?", re.IGNORECASE)
_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


def parse_duration(text: str) -> float:
    """Seconds in ``"2 days"``, ``"36h"``, ``"1 day 12 hours"``; raises ValueError otherwise."""
    total, position = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        unit = match.group(2).lower()
        if unit not in _UNITS:
            raise ValueError(f"unknown unit '{match.group(2)}' in '{text}'")
        total += float(match.group(1)) * _UNITS[unit]
        position = match.end()
    if position == 0 or text[position:].strip():
        raise ValueError(f"'{text}' is not a duration")
    return total


DURATION_HINT = 'write a number and a unit: "30 minutes", "12 hours", "2 days", "1 day 12 hours"'
