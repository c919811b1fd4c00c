"""``audit:`` in ``etl-project.yaml``: how the audit trail is keyed and where its records are shipped.

```yaml
audit:
  hmac_key: ${secret:vault:etl/audit#key}   # optional: records are HMAC-SHA256 chained with this key
  ship:                                     # optional: each record also goes to a Kafka topic
    kafka:
      bootstrap_servers: ${secret:env:AUDIT_KAFKA}
      topic: etl-audit
      config: {security.protocol: SSL}      # more producer settings (librdkafka names), optional
```

Read by hand, like the rest of the project file, each problem at its ``file:line:col``. The values stay
as written (``${secret:...}`` references included): the run and ``etl-cli audit`` resolve them when they
need them, so ``validate`` never reads a secret. The trail itself is runtime/bookkeeping/audit_trail.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from etl_cli.config.nodes import Node, to_plain
from etl_cli.diagnostics import Diagnostic, did_you_mean, error

_KEYS = ("hmac_key", "ship")
_SHIP_TARGETS = ("kafka",)
_KAFKA_KEYS = ("bootstrap_servers", "topic", "config")


@dataclass(frozen=True)
class KafkaShipping:
    """``audit.ship.kafka``: the topic each record is produced to (the record's JSON line as the value)."""

    bootstrap_servers: str
    topic: str
    #: more producer settings by their librdkafka names (values may hold ``${secret:...}``)
    config: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class AuditSettings:
    """``audit:``: the key of the chain's HMAC (a ``${secret:...}`` reference) and where records are shipped."""

    hmac_key: str | None = None
    ship: KafkaShipping | None = None


def read_audit_settings(node: Node | None, problems: list[Diagnostic]) -> AuditSettings:
    """``audit:`` as written, every problem appended to ``problems``; unset: no key, no shipping."""
    if node is None or node.value is None:
        return AuditSettings()
    if not node.is_mapping:
        problems.append(error("wrong-type", f"audit must be a mapping, got {_show(node)}", node.loc))
        return AuditSettings()
    data: dict[str, Node] = dict(node.value)
    _unknown(data, _KEYS, "audit", problems)
    return AuditSettings(_hmac_key(data.get("hmac_key"), problems), _ship(data.get("ship"), problems))


def _hmac_key(node: Node | None, problems: list[Diagnostic]) -> str | None:
    """A ``${secret:...}`` reference: a key written in the project file would be readable by whoever edits the trail."""
    if node is None or node.value is None:
        return None
    value = node.value
    if not isinstance(value, str) or not value.startswith("${secret:") or not value.endswith("}"):
        hint = "for example hmac_key: ${secret:vault:etl/audit#key} (docs/data-security.md)"
        problems.append(error("wrong-type", "audit.hmac_key must be one ${secret:...} reference", node.loc, hint))
        return None
    return value


def _ship(node: Node | None, problems: list[Diagnostic]) -> KafkaShipping | None:
    if node is None or node.value is None:
        return None
    if not node.is_mapping:
        message = f"audit.ship must be a mapping naming one target, got {_show(node)}"
        problems.append(error("wrong-type", message, node.loc, "for example ship: {kafka: {bootstrap_servers: ..."))
        return None
    data: dict[str, Node] = dict(node.value)
    _unknown(data, _SHIP_TARGETS, "audit.ship", problems)
    kafka = data.get("kafka")
    if kafka is None:
        return None
    if not kafka.is_mapping:
        problems.append(error("wrong-type", f"audit.ship.kafka must be a mapping, got {_show(kafka)}", kafka.loc))
        return None
    settings: dict[str, Node] = dict(kafka.value)
    _unknown(settings, _KAFKA_KEYS, "audit.ship.kafka", problems)
    texts = {}
    for key in ("bootstrap_servers", "topic"):
        value = settings.get(key)
        if value is None or not isinstance(value.value, str) or not value.value:
            where = value.loc if value is not None else kafka.loc
            problems.append(error("wrong-type", f"audit.ship.kafka.{key} must be a non-empty string", where))
            continue
        texts[key] = value.value
    config = _config(settings.get("config"), problems)
    if len(texts) < 2 or config is None:
        return None
    return KafkaShipping(texts["bootstrap_servers"], texts["topic"], MappingProxyType(config))


def _config(node: Node | None, problems: list[Diagnostic]) -> dict[str, str] | None:
    if node is None or node.value is None:
        return {}
    plain = to_plain(node)[0]
    if not isinstance(plain, dict) or not all(isinstance(v, (str, int, float, bool)) for v in plain.values()):
        message = "audit.ship.kafka.config must map producer setting names to values"
        problems.append(error("wrong-type", message, node.loc, "for example config: {acks: all}"))
        return None
    return {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in plain.items()}


def _unknown(data: dict[str, Node], known: tuple[str, ...], within: str, problems: list[Diagnostic]) -> None:
    for key, node in data.items():
        if key not in known:
            hint = did_you_mean(key, known) or f"known keys: {', '.join(known)}"
            problems.append(error("unknown-key", f"unknown key '{key}' in {within}", node.key_loc, hint))


def _show(node: Node) -> str:
    value = to_plain(node)[0]
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
