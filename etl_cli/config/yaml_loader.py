"""Parse one YAML file into a located :class:`Node` tree.

PyYAML's composer gives nodes with marks; we build our own tree from them so that
duplicate keys are reported (PyYAML silently keeps the last one) and every scalar
keeps its source text and position.

An alias makes a copy of its anchor's nodes, so a few lines of aliases of aliases can
ask for billions of nodes: the composer keeps each alias with its place, and the
builder counts what aliases copy and how deep the tree goes (config/limits.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from etl_cli.config.limits import MAX_ALIAS_NODES, MAX_NESTING
from etl_cli.config.nodes import DELETE_TAG, REPLACE_TAG, Node
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import ConfigError, Location


class _PurePythonParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """The event parser when PyYAML was built without libyaml."""

    def __init__(self, stream: str):  # pragma: no cover - libyaml missing
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


def _event_parser() -> type:
    """libyaml's parser (fast), or PyYAML's own when it was built without libyaml."""
    try:
        from yaml import _yaml
    except ImportError:  # pragma: no cover - libyaml missing
        return _PurePythonParser
    return _yaml.CParser


_Parser: type = _event_parser()

_CUSTOM_TAGS = {DELETE_TAG, REPLACE_TAG}
_STANDARD_TAG_PREFIX = "tag:yaml.org,2002:"


class YamlFileError(ConfigError):
    """A YAML file could not be read or parsed; carries the diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        first = diagnostics[0]
        super().__init__(first.message, location=first.location, hint=first.hint)


def display_path(path: Path) -> str:
    """The path as users should see it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_yaml_file(path: Path) -> Node:
    """Load ``path`` into a located tree, or raise :class:`YamlFileError` with every problem."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlFileError([error("file-not-found", f"file not found: {shown}", Location(shown, 0, 0))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlFileError([error("file-unreadable", f"cannot read {shown}: {exc}", Location(shown, 0, 0))]) from None
    return load_yaml_text(text, shown)


def load_yaml_text(text: str, shown: str) -> Node:
    """Parse YAML ``text`` whose file name (for messages) is ``shown``."""
    try:
        loader = _Composer(text, shown)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise YamlFileError([_syntax_diagnostic(exc, shown, text)]) from None
    except yaml.reader.ReaderError as exc:  # the one error without a mark: a character YAML does not allow
        raise YamlFileError([_character_diagnostic(exc, shown, text)]) from None
    if root is None:
        return Node({}, Location(shown, 1, 1))
    builder = _TreeBuilder(shown)
    tree = builder.build(root)
    if builder.diagnostics:
        raise YamlFileError(builder.diagnostics)
    return tree


def _character_diagnostic(exc: yaml.reader.ReaderError, shown: str, text: str) -> Diagnostic:
    """A character YAML does not allow (a control character), at its line and column.

    The parser gives only an offset (libyaml's counts UTF-8 bytes, PyYAML's own counts characters), and it
    stops at the first such character, which is therefore the first in the text that equals it.
    """
    code: int = exc.character
    at = text.find(chr(code))
    line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
    return error(
        "yaml-syntax",
        f"invalid YAML: character U+{code:04X} is not allowed in YAML text",
        Location(shown, line, column),
        f'remove it; a value that needs it can be written in double quotes as "\\u{code:04X}"',
    )


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, shown: str, text: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or str(exc)
    hint = None
    bad_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    # the line's indentation, list dashes included (``  -\tkey: x`` indents ``key`` with a tab)
    indentation = bad_line[: len(bad_line) - len(bad_line.lstrip(" \t-"))]
    if "\t" in problem or "'\\t'" in problem or "\t" in indentation[: column + 1]:
        problem = "tab character used for indentation"
        hint = "YAML indents with spaces only; replace the tab with spaces"
    elif exc.context:
        problem = f"{problem} ({exc.context})"
    if "mapping values are not allowed" in problem:
        hint = "a key on this line needs its own line or a quoted value; check indentation and ':' inside values"
    partly_quoted = _partly_quoted(bad_line, shown, line)
    return partly_quoted or error("yaml-syntax", f"invalid YAML: {problem}", Location(shown, line, column), hint)


#: a block value that opens with a quote: ``key: 'x'``, ``- key: "x"`` or ``- 'x'``
_QUOTED_VALUE = re.compile(r"^(?P<lead>\s*(?:-\s+)*(?:(?P<key>[^\s'\"#:][^#:]*?)\s*:\s+)?)(?P<quote>['\"])")
_QUOTED_END = {"'": re.compile(r"'(?:[^']|'')*'"), '"': re.compile(r'"(?:[^"\\]|\\.)*"')}


def _partly_quoted(text: str, shown: str, line: int) -> Diagnostic | None:
    """The error of a value that starts with a quoted string and goes on: ``'1998-09-02' >= l_shipdate``.

    YAML takes the quotes as the whole value, so the rest is a syntax error whose own message
    (a block scalar, an expected key) says nothing about the cause: a SQL expression that starts
    with a literal. The fix is to quote the whole expression.
    """
    match = _QUOTED_VALUE.match(text)
    if match is None:
        return None
    start = match.end("lead")
    literal = _QUOTED_END[match.group("quote")].match(text, start)
    rest = text[literal.end() :].strip() if literal else ""
    if literal is None or not rest or rest[0] in "#:,]}":
        return None
    value = text[start:].rstrip()
    quoted = f'"{value}"' if '"' not in value else "'" + value.replace("'", "''") + "'"
    fix = f"{match.group('key')}: {quoted}" if match.group("key") else f"- {quoted}"
    return error(
        "yaml-syntax",
        f"invalid YAML: the value starts with the quoted string {literal.group()} and goes on after it "
        "(YAML reads a quoted string as the whole value)",
        Location(shown, line, start + 1),
        f"quote the whole expression, e.g. {fix}",
    )


@dataclass(frozen=True)
class _Alias:
    """An alias where it was written, and the anchored node it stands for."""

    target: yaml.Node
    anchor: str
    start_mark: yaml.Mark


class _Composer(yaml.composer.Composer, _Parser, yaml.resolver.Resolver):
    """PyYAML's composer over libyaml's parser: aliases stay visible, nesting is bounded."""

    def __init__(self, text: str, shown: str):
        _Parser.__init__(self, text)  # type: ignore[misc]
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.shown = shown
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | _Alias | None:  # type: ignore[override]
        event: Any = self.peek_event()
        if self.check_event(yaml.AliasEvent):
            if event.anchor not in self.anchors:
                problem = f"alias *{event.anchor} has no anchor &{event.anchor} before it"
                raise YamlFileError([_anchor_problem(problem, self._at(event))])
            target = super().compose_node(parent, index)
            assert target is not None  # an alias always stands for a node composed before it
            return _Alias(target, event.anchor, event.start_mark)
        if event.anchor in self.anchors:
            first = self.anchors[event.anchor].start_mark.line + 1
            problem = f"anchor &{event.anchor} is defined twice (first on line {first})"
            raise YamlFileError([_anchor_problem(problem, self._at(event))])
        if self._depth >= MAX_NESTING:
            raise YamlFileError([_too_deep(self._at(event))])
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _at(self, event: Any) -> Location:
        return Location(self.shown, event.start_mark.line + 1, event.start_mark.column + 1)


def _anchor_problem(message: str, where: Location) -> Diagnostic:
    return error("yaml-anchor", message, where, "each anchor (&name) needs one name, defined before its aliases")


def _too_deep(where: Location) -> Diagnostic:
    return error(
        "yaml-depth",
        f"values nest more than {MAX_NESTING} levels deep here",
        where,
        "flatten the structure; no pipeline setting needs this depth",
    )


class _TreeBuilder:
    def __init__(self, shown: str):
        self.shown = shown
        self.diagnostics: list[Diagnostic] = []
        self._constructor = yaml.SafeLoader("")
        #: the nodes being built, outermost first (an alias to one of them would never end)
        self._open: list[yaml.Node] = []
        #: the aliases being expanded, outermost first
        self._aliases: list[_Alias] = []
        self._copied = 0

    def loc(self, node: yaml.Node | _Alias) -> Location:
        return Location(self.shown, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node | _Alias) -> Node:
        if isinstance(node, _Alias):
            return self._expand(node)
        self._enter(node)
        try:
            return self._build(node)
        finally:
            self._open.pop()

    def _expand(self, alias: _Alias) -> Node:
        """Build a copy of the anchored node, refusing an alias inside its own anchor."""
        if any(node is alias.target for node in self._open):
            self._stop(
                error(
                    "yaml-alias",
                    f"alias *{alias.anchor} is inside its own anchor &{alias.anchor}: its copy would never end",
                    self.loc(alias),
                    "an alias may only repeat a value that is complete before it",
                )
            )
        self._aliases.append(alias)
        try:
            return self.build(alias.target)
        finally:
            self._aliases.pop()

    def _enter(self, node: yaml.Node) -> None:
        """Count the node against the limits before building it."""
        outer = self._aliases[0] if self._aliases else None
        if outer is not None:
            self._copied += 1
            if self._copied > MAX_ALIAS_NODES:
                self._stop(
                    error(
                        "yaml-alias",
                        f"YAML aliases copy more than {MAX_ALIAS_NODES:,} nodes by here (alias *{outer.anchor})",
                        self.loc(outer),
                        "each alias copies everything under its anchor: write the values out, or share them "
                        "with a template ('extends:') or ${var:NAME}",
                    )
                )
        if len(self._open) >= MAX_NESTING:
            self._stop(_too_deep(self.loc(outer or node)))
        self._open.append(node)

    def _stop(self, diagnostic: Diagnostic) -> NoReturn:
        raise YamlFileError([*self.diagnostics, diagnostic])

    def _build(self, node: yaml.Node) -> Node:
        tag = node.tag if node.tag in _CUSTOM_TAGS else None
        if node.tag and not node.tag.startswith(_STANDARD_TAG_PREFIX) and tag is None:
            self.diagnostics.append(
                error(
                    "yaml-tag",
                    f"unknown YAML tag {node.tag}",
                    self.loc(node),
                    "etl-cli understands !delete and !replace in overlays",
                )
            )
        if isinstance(node, yaml.MappingNode):
            return Node(self._mapping(node), self.loc(node), tag=tag)
        if isinstance(node, yaml.SequenceNode):
            return Node([self.build(item) for item in node.value], self.loc(node), tag=tag)
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, tag)

    def _scalar(self, node: yaml.ScalarNode, tag: str | None) -> Node:
        if tag is not None or (node.tag and not node.tag.startswith(_STANDARD_TAG_PREFIX)):
            return Node(node.value or None, self.loc(node), tag=tag)
        try:
            value = self._constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self.diagnostics.append(error("yaml-value", f"invalid value: {exc.problem}", self.loc(node)))
            value = node.value
        except (ValueError, KeyError, AttributeError):  # how PyYAML's int, float, bool and timestamp readers fail
            kind = node.tag.rsplit(":", 1)[-1]
            self.diagnostics.append(
                error(
                    "yaml-value",
                    f"invalid value: '{node.value}' is not a valid {kind}",
                    self.loc(node),
                    f"quote it to keep it as text: '{node.value}'",
                )
            )
            value = node.value
        plain = not node.style
        return Node(value, self.loc(node), raw=node.value if plain else None)

    def _mapping(self, node: yaml.MappingNode) -> dict[str, Node]:
        result: dict[str, Node] = {}
        for written_key, value_node in node.value:
            key_node = written_key.target if isinstance(written_key, _Alias) else written_key
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.diagnostics.append(
                    error(
                        "yaml-merge-key",
                        "YAML merge keys ('<<') are not supported",
                        self.loc(written_key),
                        "use a template with 'extends:' or an environment overlay instead",
                    )
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.diagnostics.append(error("yaml-key", "mapping keys must be plain strings", self.loc(written_key)))
                continue
            key = str(key_node.value)
            child = self.build(value_node)
            child.key_loc = self.loc(written_key)
            if key in result:
                first = result[key].key_loc
                self.diagnostics.append(
                    error(
                        "duplicate-key",
                        f"duplicate key '{key}' (first defined at line {first.line if first else '?'})",
                        child.key_loc,
                        "remove one of the two; YAML keeps only one of them",
                    )
                )
                continue
            result[key] = child
        return result
