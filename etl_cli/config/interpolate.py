"""Interpolation of ``${env:VAR}``, ``${env:VAR:-default}``, ``${var:name}`` and ``${param:name}``.

Run-time parameters (config/params.py) are resolved in the same pass as vars, so a value
built from one parameter remembers where that parameter's value was set (its ``--param`` or
its default's line), as a value built from one var does.

``${secret:provider:path#key}`` references are left in place: secrets are resolved
only at run time, never by ``validate`` or ``render``. ``$${`` escapes a literal
``${`` and is unescaped in the same late pass that resolves secrets, so an escaped
reference can never be mistaken for a real one.

A var used ten times is copied ten times, so vars of vars grow exponentially: what
interpolation writes is counted against config/limits.py, and going over stops loading
with :class:`LimitExceeded` at the value that went over.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from etl_cli.config.limits import (
    MAX_COPIED_NODES,
    MAX_INTERPOLATED_CHARS,
    MAX_NESTING,
    MAX_VALUE_CHARS,
    MAX_VAR_DEPTH,
    LimitExceeded,
    chain_text,
)
from etl_cli.config.nodes import Node, from_plain
from etl_cli.config.params import ParamValue
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import ConfigError, Location

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_SCHEMES = ("env", "var", "param", "secret")


class Interpolator:
    """Resolves references in a merged tree; collects every problem, and stops only at a limit."""

    def __init__(
        self,
        vars_node: Node | None,
        environ: Mapping[str, str] | None = None,
        reported: frozenset[str] = frozenset(),
        params: Mapping[str, ParamValue] | None = None,
    ):
        #: vars whose absence was already reported (a missing template parameter): left as written
        self.reported = reported
        self.environ = os.environ if environ is None else environ
        self.vars: dict[str, Node] = dict(vars_node.value) if vars_node is not None and vars_node.is_mapping else {}
        #: the value of each declared run-time parameter (``${param:NAME}``)
        self.params: Mapping[str, ParamValue] = params or {}
        self.diagnostics: list[Diagnostic] = []
        self._resolved: dict[str, Any] = {}
        self._resolving: list[str] = []
        #: characters written so far (MAX_INTERPOLATED_CHARS) and nodes copied (MAX_COPIED_NODES)
        self._written = 0
        self._copied = 0

    def resolve_document(self, root: Node) -> Node:
        """Resolve every var first (so loops are named from the first var), then the whole tree."""
        for name, node in self.vars.items():
            self._var(name, node, _VAR_LEVEL)
        if root.is_mapping:  # ``params:`` declarations are written as is: config/params.py reports a reference
            root.value = {k: v if k == "params" else self.resolve_tree(v, 2) for k, v in root.value.items()}
            return root
        return self.resolve_tree(root)

    def resolve_tree(self, node: Node, level: int = 1) -> Node:
        """Resolve the references under ``node``, which sits at ``level`` of the document (the root is 1)."""
        if level > MAX_NESTING:
            raise self._limit("value-depth", f"values nest more than {MAX_NESTING} levels deep here", node)
        if node.is_mapping:
            node.value = {k: self.resolve_tree(v, level + 1) for k, v in node.value.items()}
        elif node.is_sequence:
            node.value = [self.resolve_tree(v, level + 1) for v in node.value]
        elif isinstance(node.value, str) and "${" in node.value:
            value = self._resolve_string(node, level)
            node.origin = self._origin(node.value)
            if isinstance(value, (dict, list)):
                self._count_copy(value, node, level)
                value = from_plain(value, node.loc).value
            node.value = value
            node.interpolated = True
            node.raw = node.value if isinstance(node.value, str) else None
        return node

    def _origin(self, text: str) -> Location | None:
        """Where the one var or parameter ``text`` refers to was set, so errors point there (None: none, or several)."""
        names = {
            (scheme, body.partition(":")[2].strip())
            for body in (m.group(1) for m in _REFERENCE.finditer(text))
            if body is not None and (scheme := body.partition(":")[0].strip()) in ("var", "param")
        }
        if len(names) != 1:
            return None
        scheme, name = names.pop()
        if scheme == "param":
            param = self.params.get(name)
            return None if param is None else param.origin
        var = self.vars.get(name)
        return None if var is None else var.origin or var.key_loc or var.loc

    def _resolve_string(self, node: Node, level: int) -> Any:
        text: str = node.value
        whole = _REFERENCE.fullmatch(text)
        if whole and whole.group(1) is not None and whole.group(1).startswith("var:"):
            name = whole.group(1)[4:].strip()
            value = text if name in self.reported and name not in self.vars else self._var(name, node, level)
            if isinstance(value, str):
                self._count_text(len(value), node)
            return value
        if whole and whole.group(1) is not None and whole.group(1).startswith("param:"):
            return self._param(whole.group(1)[6:].strip(), node)
        pieces: list[str] = []
        size = 0
        start = 0
        for match in _REFERENCE.finditer(text):
            body = match.group(1)
            written = match.group(0) if body is None else _as_text(self._reference(body, node, level))
            for piece in (text[start : match.start()], written):
                size += len(piece)
                pieces.append(piece)
            if size > MAX_VALUE_CHARS:
                raise self._too_large(node)
            start = match.end()
        pieces.append(text[start:])
        result = "".join(pieces)
        if len(result) > MAX_VALUE_CHARS:
            raise self._too_large(node)
        self._count_text(len(result), node)
        return result

    def _too_large(self, node: Node) -> LimitExceeded:
        within = f" (resolving {chain_text(self._resolving)})" if self._resolving else ""
        return self._limit(
            "value-size",
            f"this value grows past {MAX_VALUE_CHARS:,} characters (1 MiB) once its references are replaced{within}",
            node,
            "a var used N times is copied N times: use fewer copies, or keep large text in a file",
        )

    def _count_text(self, chars: int, node: Node) -> None:
        self._written += chars
        if self._written > MAX_INTERPOLATED_CHARS:
            raise self._limit(
                "interpolation-size",
                f"interpolation writes more than {MAX_INTERPOLATED_CHARS:,} characters (16 MiB) into this "
                "pipeline by this value",
                node,
                "a var used N times is copied N times: use fewer copies of large vars",
            )

    def _count_copy(self, value: dict[str, Any] | list[Any], node: Node, level: int) -> None:
        """Count a list or mapping that a whole-value ``${var:NAME}`` copies into the document at ``level``."""
        nodes, chars, height = _extent(value)
        if level + height - 1 > MAX_NESTING:
            raise self._limit("value-depth", f"this copy makes values nest more than {MAX_NESTING} levels deep", node)
        self._copied += nodes
        if self._copied > MAX_COPIED_NODES:
            raise self._limit(
                "interpolation-size",
                f"${{var:...}} copies of lists and mappings pass {MAX_COPIED_NODES:,} nodes in this pipeline here",
                node,
                "a var used N times is copied N times: use fewer copies of large lists",
            )
        self._count_text(chars, node)

    def _limit(self, code: str, message: str, node: Node, hint: str | None = None) -> LimitExceeded:
        return LimitExceeded(error(code, message, node.loc, hint))

    def _reference(self, body: str, node: Node, level: int) -> Any:
        """The value of ``${body}`` inside a longer text; the reference as written when it is left for later."""
        scheme, _, rest = body.partition(":")
        scheme = scheme.strip()
        if scheme == "env":
            return self._env(rest, node)
        if scheme == "var":
            if rest.strip() in self.reported and rest.strip() not in self.vars:
                return f"${{{body}}}"
            return self._var(rest.strip(), node, level)
        if scheme == "param":
            return self._param(rest.strip(), node)
        if scheme == "secret":
            return f"${{{body}}}"
        hint = (
            did_you_mean(scheme, _SCHEMES)
            or "write ${env:NAME}, ${var:name}, ${param:name} or ${secret:provider:path#key}; escape a literal with $${"
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

    def _param(self, name: str, node: Node) -> Any:
        """The typed value of run-time parameter ``name`` (config/params.py); an undeclared one is reported here."""
        if name in self.params:
            return self.params[name].value
        hint = did_you_mean(name, self.params) or (
            f"the parameters declared: {', '.join(self.params)}"
            if self.params
            else f"declare it under 'params:' ({name}: {{type: string}}) and give it with --param {name}=VALUE"
        )
        self.diagnostics.append(error("unknown-parameter", f"parameter '{name}' is not declared", node.loc, hint))
        return ""

    def _var(self, name: str, node: Node, level: int) -> Any:
        """The value of var ``name``, resolved once; ``level`` is where ``node`` uses it (for the nesting limit)."""
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
        if len(self._resolving) >= MAX_VAR_DEPTH:
            raise self._limit(
                "variable-depth",
                f"variables nest more than {MAX_VAR_DEPTH} deep: {chain_text([*self._resolving, name])}",
                node,
                "refer to fewer variables in a row: write one of them out",
            )
        self._resolving.append(name)
        try:
            value = _plain(self.resolve_tree(self.vars[name], level))
        finally:
            self._resolving.pop()
        self._resolved[name] = value
        return value


#: where each var's value sits in the document: root mapping, ``vars``, the value
_VAR_LEVEL = 3


def _extent(value: Any) -> tuple[int, int, int]:
    """Nodes, characters of text and levels of a plain value: what copying it adds to the document."""
    if not isinstance(value, (dict, list)):
        return 1, len(value) if isinstance(value, str) else 0, 1
    nodes, chars, height = 1, 0, 0
    for child in value.values() if isinstance(value, dict) else value:
        child_nodes, child_chars, child_height = _extent(child)
        nodes, chars, height = nodes + child_nodes, chars + child_chars, max(height, child_height)
    return nodes, chars, height + 1


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
