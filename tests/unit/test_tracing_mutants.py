"""A pipeline's ``tracing:`` block as read (etl_cli/model/tracing.py), found untested by mutation testing (mutmut).

Pins :func:`tracing_of`: ``enabled: false`` is read (tracing off whatever the environment says), every setting is kept
with the place of the ``tracing:`` key, and the defaults of a block that writes nothing (on, no endpoint, no headers,
the default timeout); and :func:`tracing_installed`, which ``validate`` asks before warning about the tracing extra:
a module that cannot be looked up (its parent package missing or broken) is not installed.
"""

from __future__ import annotations

import importlib.util

import pytest

from etl_cli.config.nodes import to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.errors import Location
from etl_cli.model.tracing import DEFAULT_TIMEOUT_S, TracingSpec, tracing_installed, tracing_of


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
