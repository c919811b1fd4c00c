"""``alerts:`` in ``etl-project.yaml``: the thresholds of the alerting rules ``etl-cli alerts export`` writes.

```yaml
alerts:
  grace: 1h                 # a scheduled pipeline is missing when its longest gap plus this has passed
  max_age: 26h              # unscheduled pipelines: missing after this long without a success
  dead_letter_rows: 100     # alert when a run sends more rows than this to the dead-letter queue
  for: {watermark_lag: 10m} # how long a condition must hold before the alert fires (one duration: every rule)
  labels: {team: data}
  pipelines:
    daily_revenue: {max_age: 2d, labels: {team: finance}}
```

Read by hand, like the rest of the project file, each problem at its ``file:line:col``; durations are
Prometheus' (``90s``, ``1h30m``, ``2d``) or whole seconds. A pipeline's entry is laid over the project's
values key by key (``labels`` and ``for`` name by name); which pipelines exist is checked by the export,
which loads them (etl_cli/orchestration/alerts.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from etl_cli.config.nodes import Node, to_plain
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import Location

#: the rules the export can write, by the name ``for:`` keys them with
RULE_KINDS = (
    "run_failed",
    "run_missing",
    "quality_failed",
    "dead_letters",
    "circuit_open",
    "watermark_lag",
    "consumer_lag",
    "stream_stalled",
)
#: labels every rule sets itself: ``labels:`` may not replace them
RESERVED_LABELS = ("alertname", "severity", "pipeline", "env")
#: where the rules' ``runbook_url`` annotations point (each rule adds its ``#anchor``) unless ``runbook_url:`` says
DEFAULT_RUNBOOK = "docs/observability.md"
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DURATION_KEYS = ("grace", "max_age", "watermark_lag", "stalled_after")
_COUNT_KEYS = ("dead_letter_rows", "consumer_lag")
_PIPELINE_KEYS = (*_DURATION_KEYS, *_COUNT_KEYS, "for", "labels")
_KEYS = (*_PIPELINE_KEYS, "runbook_url", "pipelines")


@dataclass(frozen=True)
class AlertThresholds:
    """The values one pipeline's rules are written with (durations in seconds)."""

    #: added to the longest gap between two fire times of the schedule
    grace_s: int = 3600
    #: without a schedule: how long without a success makes the pipeline missing; None: no such rule
    max_age_s: int | None = None
    #: a run sending more rows than this to the dead-letter queue fires
    dead_letter_rows: int = 0
    #: a streaming query's watermark further behind wall time than this fires
    watermark_lag_s: int = 900
    #: a streaming query further behind the latest Kafka offsets of a topic than this (messages) fires
    consumer_lag: int = 10000
    #: a streaming query with no progress for this long fires
    stalled_after_s: int = 600
    #: the ``for:`` of each rule kind, in seconds
    for_s: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({k: 300 if k.endswith("_lag") else 0 for k in RULE_KINDS})
    )
    #: labels added to every rule
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class AlertSettings:
    """The project's ``alerts:``: its thresholds, and each pipeline's where it has an entry."""

    defaults: AlertThresholds = field(default_factory=AlertThresholds)
    runbook_url: str = DEFAULT_RUNBOOK
    #: the thresholds of pipelines with an entry under ``pipelines:`` (laid over ``defaults``), by name
    pipelines: Mapping[str, AlertThresholds] = field(default_factory=lambda: MappingProxyType({}))
    #: where each of those entries is written, for "no such pipeline"
    locations: Mapping[str, Location | None] = field(default_factory=lambda: MappingProxyType({}))

    def for_pipeline(self, name: str) -> AlertThresholds:
        return self.pipelines.get(name, self.defaults)


def parse_duration(value: object) -> int | None:
    """Seconds of a Prometheus duration (``1h30m``, ``2d``, ``0s``) or of a whole number ≥ 0; None: neither."""
    if type(value) is int:
        return value if value >= 0 else None
    if not isinstance(value, str) or not value:
        return None
    match = _DURATION.match(value)
    if match is None:
        return None
    return sum(int(amount or 0) * unit for amount, (_, unit) in zip(match.groups(), _UNIT_SECONDS, strict=True))


def format_duration(seconds: int) -> str:
    """``seconds`` as Prometheus writes durations: ``1h30m``, ``26h``, ``0s``."""
    if seconds == 0:
        return "0s"
    parts = []
    for name, unit in _UNIT_SECONDS[2:]:  # hours and below: thresholds read best in hours
        amount, seconds = divmod(seconds, unit)
        if amount:
            parts.append(f"{amount}{name}")
    return "".join(parts)


def read_alerts(node: Node | None, problems: list[Diagnostic]) -> AlertSettings:
    """The ``alerts:`` block (defaults when absent); every problem is appended to ``problems``."""
    if node is None or node.value is None:
        return AlertSettings()
    if not node.is_mapping:
        problems.append(error("wrong-type", f"alerts must be a mapping, got {_show(node)}", node.loc, _EXAMPLE))
        return AlertSettings()
    _unknown_keys(node.value, _KEYS, "alerts", problems)
    defaults = _thresholds(node.value, AlertThresholds(), "alerts", problems)
    runbook = node.value.get("runbook_url")
    runbook_url = DEFAULT_RUNBOOK
    if runbook is not None:
        if isinstance(runbook.value, str) and runbook.value:
            runbook_url = runbook.value
        else:
            problems.append(error("wrong-type", f"alerts.runbook_url must be a URL, got {_show(runbook)}", runbook.loc))
    pipelines, locations = _pipelines(node.value.get("pipelines"), defaults, problems)
    return AlertSettings(defaults, runbook_url, MappingProxyType(pipelines), MappingProxyType(locations))


_EXAMPLE = "for example: alerts: {grace: 1h, max_age: 26h}"


def _pipelines(
    node: Node | None, defaults: AlertThresholds, problems: list[Diagnostic]
) -> tuple[dict[str, AlertThresholds], dict[str, Location | None]]:
    if node is None or node.value is None:
        return {}, {}
    if not node.is_mapping:
        message = f"alerts.pipelines must map pipeline names to their settings, got {_show(node)}"
        problems.append(error("wrong-type", message, node.loc, "for example: pipelines: {orders: {max_age: 2d}}"))
        return {}, {}
    found, locations = {}, {}
    for name, entry in node.value.items():
        where = f"alerts.pipelines.{name}"
        if not entry.is_mapping:
            problems.append(error("wrong-type", f"{where} must be a mapping, got {_show(entry)}", entry.loc))
            continue
        _unknown_keys(entry.value, _PIPELINE_KEYS, where, problems)
        found[name] = _thresholds(entry.value, defaults, where, problems)
        locations[name] = entry.key_loc
    return found, locations


def _thresholds(
    data: dict[str, Node], base: AlertThresholds, where: str, problems: list[Diagnostic]
) -> AlertThresholds:
    """``base`` with the values of ``data`` that are right; the others become problems."""
    changes: dict[str, Any] = {}
    for key in _DURATION_KEYS:
        node = data.get(key)
        if node is None:
            continue
        if key == "max_age" and node.value is None:
            changes["max_age_s"] = None
            continue
        seconds = parse_duration(node.value)
        if seconds is None:
            message = f"{where}.{key} must be a duration such as 90s, 30m, 1h30m or 2d, got {_show(node)}"
            problems.append(error("invalid-duration", message, node.loc))
        else:
            changes[f"{key}_s"] = seconds
    for key in _COUNT_KEYS:
        node = data.get(key)
        if node is not None and (type(node.value) is not int or node.value < 0):
            message = f"{where}.{key} must be a whole number of at least 0, got {_show(node)}"
            problems.append(error("wrong-type", message, node.loc))
        elif node is not None:
            changes[key] = node.value
    for_s = _for(data.get("for"), base.for_s, where, problems)
    labels = _labels(data.get("labels"), base.labels, where, problems)
    return replace(base, **changes, for_s=MappingProxyType(for_s), labels=MappingProxyType(labels))


def _for(node: Node | None, base: Mapping[str, int], where: str, problems: list[Diagnostic]) -> dict[str, int]:
    """``for:``: one duration for every rule, or a duration by rule kind (the others keep theirs)."""
    found = dict(base)
    if node is None:
        return found
    if not node.is_mapping:
        seconds = parse_duration(node.value)
        if seconds is None:
            message = f"{where}.for must be a duration, or a duration by rule ({', '.join(RULE_KINDS)})"
            problems.append(error("invalid-duration", f"{message}, got {_show(node)}", node.loc, "for example: 5m"))
            return found
        return dict.fromkeys(RULE_KINDS, seconds)
    _unknown_keys(node.value, RULE_KINDS, f"{where}.for", problems)
    for kind, value in node.value.items():
        seconds = parse_duration(value.value)
        if kind not in RULE_KINDS:
            continue
        if seconds is None:
            message = f"{where}.for.{kind} must be a duration such as 0s, 5m or 1h, got {_show(value)}"
            problems.append(error("invalid-duration", message, value.loc))
        else:
            found[kind] = seconds
    return found


def _labels(node: Node | None, base: Mapping[str, str], where: str, problems: list[Diagnostic]) -> dict[str, str]:
    found = dict(base)
    if node is None or node.value is None:
        return found
    if not node.is_mapping:
        message = f"{where}.labels must map label names to values, got {_show(node)}"
        problems.append(error("wrong-type", message, node.loc, "for example: labels: {team: data}"))
        return found
    for name, value in node.value.items():
        if not _LABEL_NAME.match(name) or name in RESERVED_LABELS:
            why = "is set by every rule" if name in RESERVED_LABELS else "is not a Prometheus label name"
            problems.append(error("invalid-label", f"{where}.labels: '{name}' {why}", value.key_loc))
        elif not isinstance(value.value, str | int | float) or isinstance(value.value, bool):
            problems.append(error("wrong-type", f"{where}.labels.{name} must be text, got {_show(value)}", value.loc))
        else:
            found[name] = str(value.value)
    return found


def _unknown_keys(data: dict[str, Node], known: tuple[str, ...], within: str, problems: list[Diagnostic]) -> None:
    for key, node in data.items():
        if key not in known:
            hint = did_you_mean(key, known) or f"known keys: {', '.join(sorted(known))}"
            problems.append(error("unknown-key", f"unknown key '{key}' in {within}", node.key_loc, hint))


def _show(node: Node) -> str:
    value = to_plain(node)[0]
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
