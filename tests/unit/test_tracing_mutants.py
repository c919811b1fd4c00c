"""A pipeline's ``tracing:`` block as read (etl_cli/model/tracing.py), found untested by mutation testing (mutmut).

Pins :func:`tracing_of`: ``enabled: false`` is read (tracing off whatever the environment says), every setting is kept
with the place of the ``tracing:`` key, and the defaults of a block that writes nothing (on, no endpoint, no headers,
the default timeout); and :func:`tracing_installed`, which ``validate`` asks before warning about the tracing extra:
a module that cannot be looked up (its parent package missing or broken) is not installed.

Then :func:`check_tracing`, ``validate``'s warning for a ``tracing:`` block that is on while the extra is missing:
its exact text, hint and place (the ``tracing:`` key), and when it is not given (``enabled: false``, the extra
installed, no block).
"""

from __future__ import annotations

import importlib.util

import pytest

from etl_cli.config.nodes import to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.diagnostics import Diagnostic, warning
from etl_cli.errors import Location
from etl_cli.model import tracing
from etl_cli.model.tracing import DEFAULT_TIMEOUT_S, TracingSpec, check_tracing, tracing_installed, tracing_of


def read(text: str) -> TracingSpec | None:
    document, provenance = to_plain(load_yaml_text(text, "p.yaml"))
    return tracing_of(document, provenance)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        (
            "name: p\ntracing:\n  enabled: false\n  endpoint: http://otel:4318\n  headers: {X-Team: data}\n"
            "  service_name: nightly\n  timeout_s: 2\n",
            TracingSpec(False, "http://otel:4318", {"X-Team": "data"}, "nightly", 2.0, Location("p.yaml", 2, 1)),
        ),
        ("tracing: {}\n", TracingSpec(True, None, {}, None, DEFAULT_TIMEOUT_S, Location("p.yaml", 1, 1))),
    ],
    ids=["every-setting-and-enabled-false", "defaults"],
)
def test_the_tracing_block_is_read_with_its_settings_or_their_defaults(text: str, spec: TracingSpec) -> None:
    assert read(text) == spec


def test_a_tracing_module_that_cannot_be_looked_up_means_the_extra_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(name: str, package: str | None = None) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(importlib.util, "find_spec", broken)
    assert tracing_installed() is False


MISSING_EXTRA = warning(
    "missing-extra",
    "tracing: exporting traces needs the OpenTelemetry SDK and OTLP exporter, which are not installed",
    Location("p.yaml", 2, 1),
    "pip install 'etl-cli[tracing]', or set tracing.enabled: false",
)


@pytest.mark.parametrize(
    ("text", "installed", "expected"),
    [
        ("name: p\ntracing: {endpoint: http://otel:4318}\n", False, [MISSING_EXTRA]),
        ("name: p\ntracing: {enabled: true}\n", False, [MISSING_EXTRA]),
        ("name: p\ntracing: {enabled: false}\n", False, []),
        ("name: p\ntracing: {endpoint: http://otel:4318}\n", True, []),
        ("name: p\n", False, []),
    ],
    ids=["on-without-the-extra", "enabled-true-without-the-extra", "enabled-false", "extra-installed", "no-block"],
)
def test_validate_warns_at_the_tracing_key_only_when_tracing_is_on_and_the_extra_is_missing(
    monkeypatch: pytest.MonkeyPatch, text: str, installed: bool, expected: list[Diagnostic]
) -> None:
    monkeypatch.setattr(tracing, "tracing_installed", lambda: installed)
    document, provenance = to_plain(load_yaml_text(text, "p.yaml"))
    assert check_tracing(document, provenance) == expected
