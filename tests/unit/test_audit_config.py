"""``audit:`` of the project file read in-process (etl_cli/config/audit.py): the HMAC key reference, shipping to
Kafka with its producer settings, and every problem's code, message, hint and place.

tests/unit/test_audit_trail.py checks the trail through ``etl-cli``; mutation testing (docs/testing.md) sees
only tests that call the module in the test's own process.
"""

from __future__ import annotations

import pytest

from etl_cli.config.audit import AuditSettings, KafkaShipping, read_audit_settings
from etl_cli.diagnostics import Diagnostic

from .helpers import column, project_block, said

HMAC_HINT = "for example hmac_key: ${secret:vault:etl/audit#key} (docs/data-security.md)"


def read(text: str) -> tuple[AuditSettings, list[Diagnostic]]:
    """The audit of a project file whose text is ``text``, and the problems found."""
    found, problems = project_block(read_audit_settings, "audit", text)
    return found, problems


def test_everything_set() -> None:
    settings, problems = read(
        "audit:\n"
        "  hmac_key: ${secret:vault:etl/audit#key}\n"
        "  ship:\n"
        "    kafka:\n"
        "      bootstrap_servers: ${secret:env:AUDIT_KAFKA}\n"
        "      topic: etl-audit\n"
        "      config: {security.protocol: SSL, linger.ms: 5, enable.idempotence: true, ratio: 0.5, x: False}\n"
    )
    assert problems == []
    assert settings.hmac_key == "${secret:vault:etl/audit#key}"
    assert settings.ship == KafkaShipping(
        "${secret:env:AUDIT_KAFKA}",
        "etl-audit",
        {"security.protocol": "SSL", "linger.ms": "5", "enable.idempotence": "true", "ratio": "0.5", "x": "false"},
    )


@pytest.mark.parametrize("text", ["name: x\n", "audit:\n", "audit: {}\n", "audit: {hmac_key: null, ship: null}\n"])
def test_nothing_set_is_no_key_and_no_shipping(text: str) -> None:
    assert read(text) == (AuditSettings(None, None), [])


def test_kafka_without_config_has_no_producer_settings() -> None:
    settings, problems = read("audit:\n  ship: {kafka: {bootstrap_servers: 'b:9092', topic: t, config: null}}\n")
    assert problems == []
    assert settings.ship is not None and dict(settings.ship.config) == {}
    settings, problems = read("audit:\n  ship: {kafka: {bootstrap_servers: 'b:9092', topic: t}}\n")
    assert problems == [] and settings.ship == KafkaShipping("b:9092", "t")


def test_ship_without_kafka_ships_nowhere() -> None:
    assert read("audit:\n  ship: {}\n") == (AuditSettings(None, None), [])


def test_audit_that_is_not_a_mapping() -> None:
    settings, (problem,) = read("audit: [a]\n")
    assert settings == AuditSettings()
    assert said(problem) == ("wrong-type", "audit must be a mapping, got ['a']", None, 1, 8)


def test_unknown_keys_at_each_level_with_the_closest_or_the_known_ones() -> None:
    lines = [
        "audit:",
        "  hmac: ${secret:env:K}",
        "  ship:",
        "    kafak: {}",
        "    kafka:",
        "      topik: t",
        "      topic: t",
        "      bootstrap_servers: b",
    ]
    settings, problems = read("\n".join(lines) + "\n")
    assert [said(p) for p in problems] == [
        ("unknown-key", "unknown key 'hmac' in audit", "did you mean 'hmac_key'?", 2, 3),
        ("unknown-key", "unknown key 'kafak' in audit.ship", "did you mean 'kafka'?", 4, 5),
        ("unknown-key", "unknown key 'topik' in audit.ship.kafka", "did you mean 'topic'?", 6, 7),
    ]
    # the unknown keys are reported, the rest still read
    assert settings == AuditSettings(None, KafkaShipping("b", "t"))
    _, problems = read("audit:\n  zzz: 1\n  ship: {qqq: 1, kafka: {bootstrap_servers: b, topic: t, www: 1}}\n")
    assert [p.hint for p in problems] == [
        "known keys: hmac_key, ship",
        "known keys: kafka",
        "known keys: bootstrap_servers, topic, config",
    ]


@pytest.mark.parametrize("value", ["plain-key", "'${env:K}'", "'${secret:vault:a#b'", "42", "'x${secret:env:K}'"])
def test_the_hmac_key_must_be_one_secret_reference(value: str) -> None:
    line = f"  hmac_key: {value}"
    settings, (problem,) = read(f"audit:\n{line}\n")
    assert settings.hmac_key is None
    message = "audit.hmac_key must be one ${secret:...} reference"
    assert said(problem) == ("wrong-type", message, HMAC_HINT, 2, column(line, value))


def test_ship_that_is_not_a_mapping() -> None:
    line = "  ship: kafka"
    settings, (problem,) = read(f"audit:\n{line}\n")
    assert settings.ship is None
    message = "audit.ship must be a mapping naming one target, got 'kafka'"
    hint = "for example ship: {kafka: {bootstrap_servers: ..."
    assert said(problem) == ("wrong-type", message, hint, 2, column(line, "kafka"))


def test_kafka_that_is_not_a_mapping() -> None:
    line = "  ship: {kafka: [b, t]}"
    settings, (problem,) = read(f"audit:\n{line}\n")
    assert settings.ship is None
    assert said(problem) == (
        "wrong-type",
        "audit.ship.kafka must be a mapping, got ['b', 't']",
        None,
        2,
        column(line, "[b"),
    )


@pytest.mark.parametrize("key", ["bootstrap_servers", "topic"])
def test_servers_and_topic_must_be_non_empty_strings(key: str) -> None:
    other = "topic: t" if key == "bootstrap_servers" else "bootstrap_servers: b"
    for value in ("''", "9092", "[a]"):
        line = f"  ship: {{kafka: {{{other}, {key}: {value}}}}}"
        settings, (problem,) = read(f"audit:\n{line}\n")
        assert settings.ship is None
        message = f"audit.ship.kafka.{key} must be a non-empty string"
        assert said(problem) == ("wrong-type", message, None, 2, column(line, f"{key}: {value}") + len(f"{key}: "))
    line = f"  ship: {{kafka: {{{other}}}}}"
    settings, (problem,) = read(f"audit:\n{line}\n")
    assert settings.ship is None
    # missing: at the kafka mapping
    at = column(line, "{kafka: ") + len("{kafka: ")
    assert said(problem) == ("wrong-type", f"audit.ship.kafka.{key} must be a non-empty string", None, 2, at)


def test_both_missing_are_two_problems() -> None:
    settings, problems = read("audit:\n  ship: {kafka: {}}\n")
    assert settings.ship is None
    assert [p.message for p in problems] == [
        "audit.ship.kafka.bootstrap_servers must be a non-empty string",
        "audit.ship.kafka.topic must be a non-empty string",
    ]


@pytest.mark.parametrize("config", ["[acks]", "all", "{acks: [all]}", "{acks: {x: 1}}", "{acks: null}"])
def test_config_must_map_names_to_plain_values(config: str) -> None:
    line = f"  ship: {{kafka: {{bootstrap_servers: b, topic: t, config: {config}}}}}"
    settings, (problem,) = read(f"audit:\n{line}\n")
    assert settings.ship is None
    message = "audit.ship.kafka.config must map producer setting names to values"
    at = column(line, f"config: {config}") + len("config: ")
    assert said(problem) == ("wrong-type", message, "for example config: {acks: all}", 2, at)
