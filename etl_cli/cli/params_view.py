"""How ``render`` shows the run-time parameters' values: comment lines above the YAML, rows of ``--explain``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etl_cli.config.params import ParamValue

#: what each :attr:`ParamValue.source` (config/params.py) is called here
_SOURCES = {
    "--param": "from --param",
    "default": "its default",
    "placeholder": "placeholder: no value given",
}


def params_header(params: Mapping[str, ParamValue]) -> str:
    """``# param ds = 2026-01-31  (from --param)``, one line per parameter, so the YAML stays the document."""
    return "".join(
        f"# param {name} = {_shown(value)}  ({_SOURCES.get(value.source, 'no value')})\n"
        for name, value in params.items()
    )


def param_rows(params: Mapping[str, ParamValue]) -> list[tuple[str, str, str]]:
    """``render --explain`` rows: ``${param:ds}``, its value as JSON, and what set it."""
    return [(f"${{param:{name}}}", json.dumps(value.value), _where(value)) for name, value in params.items()]


def _shown(value: ParamValue) -> str:
    if value.value is None:
        return "(unset)"
    return json.dumps(value.value) if isinstance(value.value, bool) else str(value.value)


def _where(value: ParamValue) -> str:
    if value.source == "--param":
        return str(value.origin)
    return f"{value.origin} ({_SOURCES.get(value.source, 'no value')})"
