"""Parse one YAML file into a located :class:`Node` tree.

PyYAML's composer gives nodes with marks; we build our own tree from them so that
duplicate keys are reported (PyYAML silently keeps the last one) and every scalar
keeps its source text and position.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from etl_cli.config.nodes import DELETE_TAG, REPLACE_TAG, Node
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import ConfigError, Location

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

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
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise YamlFileError([_syntax_diagnostic(exc, shown, text)]) from None
    except yaml.YAMLError as exc:
        raise YamlFileError([error("yaml-syntax", f"invalid YAML: {exc}", Location(shown, 1, 1))]) from None
    if root is None:
        return Node({}, Location(shown, 1, 1))
    builder = _TreeBuilder(shown)
    tree = builder.build(root)
    if builder.diagnostics:
        raise YamlFileError(builder.diagnostics)
    return tree


def _syntax_diagnostic(exc: yaml.MarkedYAMLError, shown: str, text: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or str(exc)
    hint = None
    bad_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    if "\t" in problem or "'\\t'" in problem or ("\t" in bad_line[: column + 1]):
        problem = "tab character used for indentation"
        hint = "YAML indents with spaces only; replace the tab with spaces"
    elif exc.context:
        problem = f"{problem} ({exc.context})"
    if "mapping values are not allowed" in problem:
        hint = "a key on this line needs its own line or a quoted value; check indentation and ':' inside values"
    return error("yaml-syntax", f"invalid YAML: {problem}", Location(shown, line, column), hint)


class _TreeBuilder:
    def __init__(self, shown: str):
        self.shown = shown
        self.diagnostics: list[Diagnostic] = []
        self._constructor = yaml.SafeLoader("")

    def loc(self, node: yaml.Node) -> Location:
        return Location(self.shown, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node) -> Node:
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
        plain = not node.style
        return Node(value, self.loc(node), raw=node.value if plain else None)

    def _mapping(self, node: yaml.MappingNode) -> dict[str, Node]:
        result: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.diagnostics.append(
                    error(
                        "yaml-merge-key",
                        "YAML merge keys ('<<') are not supported",
                        self.loc(key_node),
                        "use a template with 'extends:' or an environment overlay instead",
                    )
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.diagnostics.append(error("yaml-key", "mapping keys must be plain strings", self.loc(key_node)))
                continue
            key = str(key_node.value)
            child = self.build(value_node)
            child.key_loc = self.loc(key_node)
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
