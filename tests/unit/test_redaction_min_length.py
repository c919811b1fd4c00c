"""Secrets shorter than the redaction minimum are not masked inside other text, and the run says so once.

Masking a two-letter value turns every word holding those letters into noise ("table" →
"t********le") while the gaps show where the letters are; such values are left alone
and the run warns, naming the reference, never the value.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from etl_cli.secrets.redaction import MASK, MIN_MASKED_LENGTH, Redactor
from etl_cli.secrets.resolver import SecretResolver
from etl_cli.secrets.settings import ProviderContext

SHORT = "ab"  # inside "table"
PIN = "q7"  # a short value that ordinary words do not hold
LONG = "twelve-chars"  # 12 characters


def resolver(environ: dict[str, str]) -> SecretResolver:
    return SecretResolver({}, ProviderContext(Path("/p"), environ), Redactor())


def short_secret_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and "shorter than" in r.getMessage()]


def test_the_minimum_is_six_characters() -> None:
    assert MIN_MASKED_LENGTH == 6


def test_a_two_character_secret_no_longer_mangles_words() -> None:
    redactor = Redactor()
    redactor.register(SHORT)
    assert redactor.mask("the table has a cab") == "the table has a cab"


def test_a_twelve_character_secret_is_still_masked() -> None:
    redactor = Redactor()
    redactor.register(LONG)
    assert redactor.mask(f"login with {LONG} failed") == f"login with {MASK} failed"


def test_a_secret_of_exactly_the_minimum_length_is_masked() -> None:
    redactor = Redactor()
    redactor.register("sixsix")
    assert redactor.mask("pw=sixsix") == f"pw={MASK}"


def test_resolving_a_short_secret_warns_naming_the_reference_and_not_the_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    resolver({"PIN": PIN}).resolve("env:PIN")
    (record,) = short_secret_warnings(caplog)
    message = record.getMessage()
    assert "${secret:env:PIN}" in message
    assert f"shorter than {MIN_MASKED_LENGTH} characters" in message
    assert "not masked" in message
    assert PIN not in message


def test_the_warning_is_given_once_per_run(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    run = resolver({"PIN": PIN})
    run.resolve("env:PIN")
    run.refresh("env:PIN")
    run.resolve_value({"a": "${secret:env:PIN}", "b": "${secret:env:PIN}"})
    assert len(short_secret_warnings(caplog)) == 1


def test_a_long_secret_gives_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    resolver({"PW": LONG}).resolve("env:PW")
    assert short_secret_warnings(caplog) == []
