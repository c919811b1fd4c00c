"""The quality parts of a pipeline as plain frozen data: checks, schema contracts, the dead-letter queue.

They are read from the validated document (``checks:``, ``dead_letter:``, a stage's
``contract:``) when a run needs them; nothing here imports pyspark.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from etl_cli.config.nodes import Provenance
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


_CHECK_KEYS = {"name", "type", "stage", "action", "severity", "threshold", "samples", "description"}


def default_severity(action: str) -> Severity:
    """``fail`` stops the run, so its breaches are errors; the other actions only report."""
    return "error" if action == "fail" else "warning"


def check_from_item(item: Mapping[str, Any], location: Location | None = None) -> CheckSpec:
    """A CheckSpec from a validated ``checks:`` item."""
    action = item.get("action", "warn")
    threshold = item.get("threshold") or {}
    return CheckSpec(
        name=item["name"],
        type=item["type"],
        stage=item["stage"],
        action=action,
        severity=item.get("severity") or default_severity(action),
        threshold=Threshold(threshold.get("max_ratio"), threshold.get("max_count")),
        samples=int(item.get("samples", DEFAULT_SAMPLES)),
        options={k: v for k, v in item.items() if k not in _CHECK_KEYS},
        location=location,
        description=item.get("description"),
    )


def checks_of(document: Mapping[str, Any], provenance: Provenance) -> tuple[CheckSpec, ...]:
    """Every check of a validated pipeline document, in the order written."""
    return tuple(
        check_from_item(item, provenance.value_location(("checks", index)))
        for index, item in enumerate(document.get("checks") or ())
    )


@dataclass(frozen=True)
class ContractColumn:
    """A column a stage promises: its Spark SQL type (None: any) and whether nulls are allowed."""

    name: str
    type: str | None = None
    nullable: bool = True


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


def contract_of(stage: StageSpec, location: Location | None = None) -> ContractSpec | None:
    """The ``contract:`` of a source or transform, or None."""
    raw = stage.option("contract")
    if not raw:
        return None
    columns = []
    for name, declared in (raw.get("columns") or {}).items():
        if isinstance(declared, str):
            columns.append(ContractColumn(name, declared))
        else:
            declared = declared or {}
            columns.append(ContractColumn(name, declared.get("type"), bool(declared.get("nullable", True))))
    return ContractSpec(stage.name, tuple(columns), raw.get("policy", "strict"), location or stage.location)


def contract_location(provenance: Provenance, kind_section: str, index: int) -> Location | None:
    return provenance.key_location((kind_section, index, "contract"))


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


def dead_letter_of(document: Mapping[str, Any], provenance: Provenance) -> DeadLetterSpec | None:
    raw = document.get("dead_letter")
    if not raw:
        return None
    options = {k: v for k, v in raw.items() if k not in ("type", "description")}
    return DeadLetterSpec(raw["type"], options, provenance.key_location(("dead_letter",)))


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
