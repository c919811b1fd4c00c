"""Run-time parameters: the ``params:`` block of a pipeline and the ``--param NAME=VALUE`` that set them.

A parameter is declared once, typed, and used as ``${param:NAME}`` wherever ``${var:...}`` may be::

    params:
      ds: {type: date, description: the day to load}
      country: {type: string, default: NO, choices: [NO, SE, DK]}

Each value is read by its type (``string``, ``int``, ``float``, ``bool``, ``date``, ``timestamp``)
before anything uses it, so a wrong value stops the command at once: a ``--param`` that is not
of its type, names no declared parameter, or is missing for a required parameter (when the
command runs the pipeline) is a :class:`UsageError` (exit 2) naming the parameter and the line
that declares it. A default or choice of the wrong type is a diagnostic at its own line.

Commands that only look at a pipeline (``validate``, ``render``) never fail for a missing
value: a parameter without one takes its default, else a placeholder of its type
(:data:`PLACEHOLDERS`: a date is 1970-01-01, a string is the parameter's name...), so the whole
pipeline is still checked.

A parameter's value is text where it is part of a longer string, and the typed value where
``${param:NAME}`` is the whole value (``limit: ${param:n}`` stays a number). Dates are written
``YYYY-MM-DD`` and timestamps in ISO 8601 (``2026-01-31T00:00:00``, with the offset when one was given).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from etl_cli.config.nodes import Node
from etl_cli.diagnostics import Diagnostic, did_you_mean, error, with_article
from etl_cli.errors import Location, UsageError

#: the types a parameter can have, in the order the docs list them
PARAM_TYPES = ("string", "int", "float", "bool", "date", "timestamp")

#: what a parameter without a value or default stands for where nothing runs (validate, render)
PLACEHOLDERS: Mapping[str, str] = {
    "int": "0",
    "float": "0.0",
    "bool": "false",
    "date": "1970-01-01",
    "timestamp": "1970-01-01T00:00:00",
}

#: how a value of each type is written, for messages
EXPECTED: Mapping[str, str] = {
    "string": "any text",
    "int": "a whole number, e.g. 42",
    "float": "a number, e.g. 0.5",
    "bool": "true or false",
    "date": "YYYY-MM-DD, e.g. 2026-01-31",
    "timestamp": "YYYY-MM-DDTHH:MM:SS, e.g. 2026-01-31T06:00:00, optionally with Z or +HH:MM",
}

#: where a value came from (:attr:`ParamValue.source`)
GIVEN, DEFAULT, PLACEHOLDER, UNSET = "--param", "default", "placeholder", "unset"

_INT = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)


@dataclass(frozen=True)
class ParamDecl:
    """One entry of ``params:``, its values already read by its type."""

    name: str
    type: str
    #: where the parameter's name is written: every message about the parameter points here
    loc: Location
    default: Any = None
    #: the default's own line (a ``${param:NAME}`` that takes the default was set there)
    default_loc: Location | None = None
    has_default: bool = False
    required: bool = True
    choices: tuple[Any, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class ParamValue:
    """The value one parameter has in this load, and where it came from."""

    decl: ParamDecl
    #: typed: str, int, float, bool; dates and timestamps as their ISO text; None when unset
    value: Any
    #: :data:`GIVEN`, :data:`DEFAULT`, :data:`PLACEHOLDER` or :data:`UNSET`
    source: str
    #: what set it: the ``--param`` itself, the default's line, or the declaration for a placeholder
    origin: Location

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "type": self.decl.type, "source": self.source}


def parse_value(kind: str, text: str) -> Any:
    """``text`` read as a value of type ``kind``; ValueError when it is not one (its message is for people)."""
    reader = _READERS.get(kind, str)
    return reader(text.strip() if kind != "string" else text)


def _int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise ValueError(f"'{text}' is not a whole number")
    return int(text)


def _float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"'{text}' is not a finite number")
    return number


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"'{text}' is neither true nor false")
    return lowered == "true"


def _date(text: str) -> str:
    if not _DATE.fullmatch(text):
        raise ValueError(f"'{text}' is not written YYYY-MM-DD")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a day of the calendar ({exc})") from None


def _timestamp(text: str) -> str:
    if not _TIMESTAMP.fullmatch(text):
        raise ValueError(f"'{text}' is not written YYYY-MM-DDTHH:MM:SS")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a moment of the calendar ({exc})") from None


_READERS: Mapping[str, Callable[[str], Any]] = {
    "string": str,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "date": _date,
    "timestamp": _timestamp,
}


def declared_params(block: Node | None, diagnostics: list[Diagnostic]) -> dict[str, ParamDecl]:
    """The parameters ``params:`` declares; a default or choice not of its type is reported at its line.

    The block's shape (keys, type names) is the JSON Schema's to check: what it reports is
    skipped here rather than reported twice.
    """
    if block is None or not block.is_mapping:
        return {}
    decls: dict[str, ParamDecl] = {}
    for name, entry in block.value.items():
        if _has_reference(entry):
            diagnostics.append(
                error(
                    "param-reference",
                    f"parameter '{name}' is declared with a ${{...}} reference; a declaration is written as is",
                    _first_reference(entry),
                    "give a literal default; set the value at run time with --param " + f"{name}=VALUE",
                )
            )
            continue
        decls[name] = _declaration(name, entry, diagnostics)
    return decls


def _has_reference(node: Node) -> bool:
    return _first_reference(node) is not None


def _first_reference(node: Node) -> Location | None:
    if node.is_mapping:
        children: list[Node] = list(node.value.values())
    elif node.is_sequence:
        children = list(node.value)
    else:
        return node.loc if isinstance(node.value, str) and "${" in node.value else None
    return next((loc for loc in map(_first_reference, children) if loc is not None), None)


def _declaration(name: str, entry: Node, diagnostics: list[Diagnostic]) -> ParamDecl:
    loc = entry.key_loc or entry.loc
    fields = entry.value if entry.is_mapping else {}
    kind_node = fields.get("type")
    kind = kind_node.value if kind_node is not None and kind_node.value in PARAM_TYPES else "string"
    default_node = fields.get("default")
    default = _typed(name, kind, default_node, "default", diagnostics) if default_node is not None else None
    choices = tuple(
        _typed(name, kind, choice, "choice", diagnostics)
        for choice in (fields["choices"].value if "choices" in fields and fields["choices"].is_sequence else [])
    )
    if default_node is not None and default is not None and choices and default not in choices:
        diagnostics.append(
            error(
                "param-default",
                f"the default of parameter '{name}' ({_text(default)}) is not one of its choices",
                default_node.loc,
                f"choose one of {', '.join(_text(c) for c in choices)}",
            )
        )
    required_node = fields.get("required")
    has_default = default_node is not None and default_node.value is not None
    required = bool(required_node.value) if required_node is not None else not has_default
    description = fields.get("description")
    return ParamDecl(
        name,
        kind,
        loc,
        default=default,
        default_loc=default_node.loc if default_node is not None else None,
        has_default=has_default,
        required=required,
        choices=choices,
        description=description.value if description is not None and isinstance(description.value, str) else None,
    )


def _typed(name: str, kind: str, node: Node, what: str, diagnostics: list[Diagnostic]) -> Any:
    """A default or choice as a value of the parameter's type (None, reported, when it is not one)."""
    if node.value is None:
        return None
    text = node.raw if node.raw is not None else _yaml_text(node.value)
    if text is None:
        diagnostics.append(error("param-default", f"the {what} of parameter '{name}' must be one value", node.loc))
        return None
    try:
        return parse_value(kind, text)
    except ValueError as exc:
        diagnostics.append(
            error(
                "param-default",
                f"the {what} of parameter '{name}' is not {with_article(kind)}: {exc}",
                node.loc,
                f"write {EXPECTED[kind]}",
            )
        )
        return None


def _yaml_text(value: Any) -> str | None:
    """A scalar YAML read (a quoted string, a date) as the text a ``--param`` would give."""
    if isinstance(value, (dict, list)):
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_assignments(assignments: Sequence[str]) -> dict[str, str]:
    """``--param NAME=VALUE`` options by name (the last one given wins, as for ``--set``)."""
    given: dict[str, str] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise UsageError(
                f"--param expects NAME=VALUE, got '{assignment}'", hint="for example --param ds=2026-01-31"
            )
        given[name.strip()] = value
    return given


def resolve_params(
    decls: Mapping[str, ParamDecl],
    given: Mapping[str, str],
    *,
    require: bool,
    pipeline: str,
    strict_names: bool = True,
) -> dict[str, ParamValue]:
    """The value of every declared parameter: given, else its default, else (``require`` false) a placeholder.

    Raises UsageError for a given value not of its type or not among its choices, a name no
    parameter has (with ``strict_names``), and with ``require`` a required parameter not given.
    """
    unknown = [name for name in given if name not in decls]
    if unknown and strict_names:
        raise _unknown_param(unknown[0], decls, pipeline)
    values: dict[str, ParamValue] = {}
    for name, decl in decls.items():
        if name in given:
            values[name] = ParamValue(
                decl, _given(decl, given[name]), GIVEN, Location(f"--param {name}={given[name]}", 0, 0)
            )
        elif decl.has_default and decl.default is not None:
            values[name] = ParamValue(decl, decl.default, DEFAULT, decl.default_loc or decl.loc)
        elif decl.required and require:
            raise UsageError(
                f"parameter '{name}' of {pipeline} is required: it has no default and no --param {name}=VALUE "
                f"was given; it is declared at {decl.loc}",
                hint=f"add --param {name}=VALUE ({EXPECTED[decl.type]})",
            )
        elif decl.required or decl.has_default:  # a default that is not of its type is reported at its line
            values[name] = ParamValue(decl, placeholder(decl), PLACEHOLDER, decl.loc)
        else:
            values[name] = ParamValue(decl, None, UNSET, decl.loc)
    return values


def placeholder(decl: ParamDecl) -> Any:
    """What stands for a parameter without a value where nothing runs: its first choice, else by type."""
    if decl.choices and decl.choices[0] is not None:
        return decl.choices[0]
    return parse_value(decl.type, PLACEHOLDERS.get(decl.type, decl.name))


def _given(decl: ParamDecl, text: str) -> Any:
    try:
        value = parse_value(decl.type, text)
    except ValueError as exc:
        raise UsageError(
            f"--param {decl.name}={text}: {exc}; parameter '{decl.name}' is a {decl.type} "
            f"(expected {EXPECTED[decl.type]}), declared at {decl.loc}",
            hint=f"write --param {decl.name}=VALUE with VALUE {EXPECTED[decl.type]}",
        ) from None
    if decl.choices and value not in decl.choices:
        raise UsageError(
            f"--param {decl.name}={text}: not one of the choices of parameter '{decl.name}' (declared at {decl.loc})",
            hint=f"choose one of {', '.join(_text(c) for c in decl.choices)}",
        )
    return value


def _unknown_param(name: str, decls: Mapping[str, ParamDecl], pipeline: str) -> UsageError:
    hint = did_you_mean(name, decls) or (
        f"its parameters: {', '.join(decls)}" if decls else "declare it under 'params:' in the pipeline"
    )
    return UsageError(f"--param {name}: {pipeline} declares no parameter '{name}'", hint=hint)


__all__ = [
    "PARAM_TYPES",
    "PLACEHOLDERS",
    "ParamDecl",
    "ParamValue",
    "declared_params",
    "parse_assignments",
    "parse_value",
    "resolve_params",
]
