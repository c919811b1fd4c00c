"""Interpolation of ``${env:VAR}``, ``${env:VAR:-default}`` and ``${var:name}``.

``${secret:provider:path#key}`` references are left in place: secrets are resolved
only at run time, never by ``validate`` or ``render``. ``$${`` escapes a literal
``${`` and is unescaped in the same late pass that resolves secrets, so an escaped
reference can never be mistaken for a real one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from etl_cli.config.nodes import Node, from_plain
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import ConfigError

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_SCHEMES = ("env", "var", "secret")


class Interpolator:
    """Resolves references in a merged tree; collects every problem instead of stopping."""

    def __init__(
        self,
        vars_node: Node | None,
        environ: Mapping[str, str] | None = None,
        reported: frozenset[str] = frozenset(),
    ):
        #: vars whose absence was already reported (a missing template parameter): left as written
        self.reported = reported
        self.environ = os.environ if environ is None else environ
        self.vars: dict[str, Node] = dict(vars_node.value) if vars_node is not None and vars_node.is_mapping else {}
        self.diagnostics: list[Diagnostic] = []
        self._resolved: dict[str, Any] = {}
        self._resolving: list[str] = []

    def resolve_document(self, root: Node) -> Node:
        """Resolve every var first (so loops are named from the first var), then the whole tree."""
        for name, node in self.vars.items():
            self._var(name, node)
        return self.resolve_tree(root)

    def resolve_tree(self, node: Node) -> Node:
        if node.is_mapping:
            node.value = {k: self.resolve_tree(v) for k, v in node.value.items()}
        elif node.is_sequence:
            node.value = [self.resolve_tree(v) for v in node.value]
        elif isinstance(node.value, str) and "${" in node.value:
            value = self._resolve_string(node)
            node.value = from_plain(value, node.loc).value if isinstance(value, (dict, list)) else value
            node.interpolated = True
            node.raw = node.value if isinstance(node.value, str) else None
        return node

    def _resolve_string(self, node: Node) -> Any:
        text: str = node.value
        whole = _REFERENCE.fullmatch(text)
        if whole and whole.group(1) is not None and whole.group(1).startswith("var:"):
            name = whole.group(1)[4:].strip()
            return text if name in self.reported and name not in self.vars else self._var(name, node)

        def replace(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return match.group(0)
            value = self._reference(match.group(1), node)
            return match.group(0) if value is None else _as_text(value)

        return _REFERENCE.sub(replace, text)

    def _reference(self, body: str, node: Node) -> Any:
        scheme, _, rest = body.partition(":")
        scheme = scheme.strip()
        if scheme == "env":
            return self._env(rest, node)
        if scheme == "var":
            if rest.strip() in self.reported and rest.strip() not in self.vars:
                return None
            return self._var(rest.strip(), node)
        if scheme == "secret":
            return None
        hint = (
            did_you_mean(scheme, _SCHEMES)
            or "write ${env:NAME}, ${var:name} or ${secret:provider:path#key}; escape a literal with $${"
        )
        self.diagnostics.append(error("interpolation", f"unknown reference '${{{body}}}'", node.loc, hint))
        return ""

    def _env(self, rest: str, node: Node) -> str:
        name, sep, default = rest.partition(":-")
        name = name.strip()
        if name in self.environ:
            return self.environ[name]
        if sep:
            return default
        self.diagnostics.append(
            error(
                "unset-variable",
                f"environment variable {name} is not set",
                node.loc,
                f"export {name}=... before running, or give a default: ${{env:{name}:-value}}",
            )
        )
        return ""

    def _var(self, name: str, node: Node) -> Any:
        if name in self._resolved:
            return self._resolved[name]
        if name not in self.vars:
            hint = did_you_mean(name, self.vars) or "declare it under 'vars:' (or pass --set vars.NAME=value)"
            self.diagnostics.append(error("unset-variable", f"variable '{name}' is not defined", node.loc, hint))
            return ""
        if name in self._resolving:
            loop = " -> ".join([*self._resolving[self._resolving.index(name) :], name])
            self.diagnostics.append(
                error("variable-cycle", f"variables refer to each other in a loop: {loop}", node.loc)
            )
            return ""
        self._resolving.append(name)
        try:
            value = _plain(self.resolve_tree(self.vars[name]))
        finally:
            self._resolving.pop()
        self._resolved[name] = value
        return value


def _plain(node: Node) -> Any:
    if node.is_mapping:
        return {k: _plain(v) for k, v in node.value.items()}
    if node.is_sequence:
        return [_plain(v) for v in node.value]
    return node.value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


SecretResolver = Callable[[str], str]


def resolve_runtime_value(value: Any, resolve_secret: SecretResolver) -> Any:
    """Resolve ``${secret:...}`` references and unescape ``$${`` in a finished value.

    Called by the runtime only, on the fields a stage actually uses.
    """
    if isinstance(value, dict):
        return {k: resolve_runtime_value(v, resolve_secret) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_runtime_value(v, resolve_secret) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "${"
        body = match.group(1)
        if not body.startswith("secret:"):
            raise ConfigError(f"unresolved reference '${{{body}}}' at run time")
        return resolve_secret(body[len("secret:") :])

    return _REFERENCE.sub(replace, value)
