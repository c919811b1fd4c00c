"""The studio's edits: applied to round-trip copies of a pipeline's YAML files, in the file provenance names.

Each file is read with ruamel.yaml's round-trip loader, so what an edit does not touch (comments,
key order, quoting, flow or block style, blank lines) is written back as it was; the indentation
of each file is measured and kept. An edit lands where the value it changes was written:

- ``set_option`` changes the value in the file that set it (the pipeline, a template it extends, or
  the environment's overlay, as :class:`~etl_cli.config.nodes.Provenance` says); a value built from one
  ``${var:NAME}`` is changed where NAME was given. A key not set yet goes to the file that defines the
  stage, or, for a stage a template defines, to an item of the same name in the pipeline file (named
  items merge). ``null`` removes the key from the pipeline file and the overlay; one a template sets
  gets ``key: !delete`` in the pipeline file (the template, which other pipelines may extend, stays).
- ``add_stage`` appends to the pipeline file; ``remove_stage`` removes the stage's items (a stage a
  template defines gets a ``!delete`` item in the pipeline file); ``rename_stage`` renames the items
  and every ``input``/``inputs``/check ``stage`` that names the stage.
- ``connect``/``disconnect`` change a sink's ``input`` or a transform's ``inputs``.

A value that is not a ``${secret:...}`` reference for a key that holds a credential (password, token,
secret...) is refused. Nothing here writes: :func:`apply_edits` returns the new text of each changed
file, which the caller validates (:mod:`etl_cli.studio.workbench`) and only then writes
(:func:`write_atomically`).
"""

from __future__ import annotations

import copy
import io
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import YAMLError
from ruamel.yaml.tag import Tag

from etl_cli.config.limits import is_name
from etl_cli.config.nodes import DELETE_TAG
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.model.credentials import is_credential_key, secret_references
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND
from etl_cli.studio.workbench import Loaded, load

EDIT_CODE = "studio-edit"
SECRET_CODE = "literal-credential"
OPS = ("add_stage", "remove_stage", "connect", "disconnect", "set_option", "rename_stage")
_KIND_OF_SECTION = {section: kind for kind, section in SECTION_OF_KIND.items()}


class EditError(Exception):
    """An edit that cannot be applied (the message says why); the edits after it are not applied either."""

    def __init__(self, message: str, stage: str | None = None, code: str = EDIT_CODE, hint: str | None = None):
        super().__init__(message)
        self.diagnostic = error(code, message, None, hint)
        self.stage = stage


@dataclass
class EditOutcome:
    """What applying a list of edits gave: the new text of each changed file, and the edits refused."""

    #: absolute path → new text, for each file an edit changed
    texts: dict[Path, str] = field(default_factory=dict)
    #: the refused edit (with the stage it is about), if any: the edits after it were not applied
    refused: list[tuple[Diagnostic, str | None]] = field(default_factory=list)
    #: the pipeline as loaded after the edits (validated)
    loaded: Loaded | None = None


@dataclass
class _Document:
    """One file as a round-trip document, with the indentation it is written with."""

    path: Path
    data: Any
    yaml: YAML
    original: str

    def text(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()


def apply_edits(root: Path, pipeline_file: Path, env: str | None, edits: Sequence[Mapping[str, Any]]) -> EditOutcome:
    """Apply ``edits`` in order to round-trip copies of the pipeline's files; nothing is written.

    The pipeline is loaded again after each edit, so an edit sees what the ones before it did
    (provenance included). The first edit refused stops there: the outcome holds the texts so far.
    """
    outcome = EditOutcome()
    documents: dict[Path, _Document] = {}
    loaded = load(root, pipeline_file, env)
    for edit in edits:
        try:
            _Editor(root, pipeline_file, loaded, documents).apply(edit)
        except EditError as refused:
            outcome.refused.append((refused.diagnostic, refused.stage))
            break
        outcome.texts = {path: doc.text() for path, doc in documents.items()}
        loaded = load(root, pipeline_file, env, outcome.texts)
    outcome.texts = {path: text for path, text in outcome.texts.items() if text != documents[path].original}
    outcome.loaded = load(root, pipeline_file, env, outcome.texts) if outcome.texts else loaded
    return outcome


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a temporary file beside it, then ``os.replace``), mode kept."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".studio-tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_document(path: Path) -> _Document:
    """``path`` as a round-trip document written back with the indentation it has."""
    text = path.read_text(encoding="utf-8")
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line the user wrote on one
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        raise EditError(f"{path.name} cannot be read as YAML: {exc}") from None
    mapping, sequence, offset = _indentation(data, text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    if data is None:
        data = CommentedMap()
    return _Document(path, data, yaml, text)


def _indentation(data: Any, text: str) -> tuple[int, int, int]:
    """The mapping indent, the sequence indent and the dash offset the file is written with (2, 4, 2 by default)."""
    lines = text.splitlines()
    mapping = sequence = offset = None
    for parent, child in _block_pairs(data):
        if isinstance(child, CommentedMap) and mapping is None and child:
            mapping = child.lc.col - parent
        if isinstance(child, CommentedSeq) and sequence is None and child:
            line, col = child.lc.item(0)
            dash = lines[line].find("-") if line < len(lines) else -1
            if 0 <= dash < col:
                sequence, offset = col - parent, dash - parent
    if not mapping or mapping < 1:  # no nested mapping yet: as far in as the list dashes are, else 2
        mapping = offset if offset else 2
    if sequence is None or offset is None or sequence <= offset or offset < 0:
        sequence, offset = mapping + 2, mapping
    return mapping, sequence, offset


def _block_pairs(node: Any, column: int = 0) -> list[tuple[int, Any]]:
    """(column of the parent key, value) of every block mapping and sequence below ``node``."""
    found: list[tuple[int, Any]] = []
    if isinstance(node, CommentedMap) and not node.fa.flow_style():
        for key, value in node.items():
            if isinstance(value, (CommentedMap, CommentedSeq)) and not value.fa.flow_style():
                col = node.lc.key(key)[1]
                found.append((col, value))
                found += _block_pairs(value, col)
    elif isinstance(node, CommentedSeq) and not node.fa.flow_style():
        for index, value in enumerate(node):
            if isinstance(value, CommentedMap) and not value.fa.flow_style() and value:
                found += _block_pairs(value, node.lc.item(index)[1])
    return found


class _Editor:
    """Applies one edit, choosing the file from the pipeline's provenance."""

    def __init__(self, root: Path, pipeline_file: Path, loaded: Loaded, documents: dict[Path, _Document]):
        self.root = root.resolve()
        self.pipeline_file = pipeline_file.resolve()
        self.loaded = loaded
        self.document = loaded.config.document if isinstance(loaded.config.document, dict) else {}
        self.provenance = loaded.config.provenance
        self.documents = documents

    # -- helpers

    def doc(self, path: Path) -> _Document:
        path = path.resolve()
        if path not in self.documents:
            self.documents[path] = read_document(path)
        return self.documents[path]

    def editable(self, path: Path | None) -> bool:
        """A file of this pipeline, inside the project (a bundled template is never written)."""
        return path is not None and path.resolve().is_relative_to(self.root) and path.resolve() in self._files()

    def _files(self) -> set[Path]:
        return {f.resolve() for f in self.loaded.files}

    def layers(self) -> list[Path]:
        """The pipeline's editable files, lowest layer first (templates, pipeline, overlay)."""
        return [f for f in self.loaded.files if self.editable(f)]

    def find_stage(self, name: str) -> tuple[str, int, dict[str, Any]]:
        for kind in KINDS:
            section = SECTION_OF_KIND[kind]
            for index, item in enumerate(self.document.get(section) or []):
                if isinstance(item, dict) and item.get("name") == name:
                    return section, index, item
        raise EditError(f"no stage named '{name}'", name)

    def file_of(self, path: tuple[str | int, ...]) -> Path | None:
        info = self.provenance.info(path)
        if info is None:
            return None
        where = info.key_loc or info.loc
        return Path(where.file) if where.line > 0 else None

    def defining_file(self, section: str, index: int) -> Path:
        """The file that gives the stage its ``type`` when that file may be edited, else the pipeline file."""
        found = self.file_of((section, index, "type"))
        usable = found is not None and self.editable(found) and found.resolve() not in self._template_files()
        return found if found is not None and usable else self.pipeline_file

    def item_in(self, doc: _Document, section: str, name: str, create: bool) -> CommentedMap | None:
        """The item named ``name`` of ``section`` in ``doc`` (an override item is appended when ``create``)."""
        if not isinstance(doc.data, CommentedMap):
            raise EditError(f"{doc.path.name} is not a YAML mapping")
        items = doc.data.get(section)
        for item in items if isinstance(items, CommentedSeq) else []:
            if isinstance(item, CommentedMap) and item.get("name") == name:
                return item
        if not create:
            return None
        item = CommentedMap()
        item["name"] = name
        _add_item(doc.data, section, item)
        return item

    # -- the edits

    def apply(self, edit: Mapping[str, Any]) -> None:
        op = edit.get("op")
        if op not in OPS:
            raise EditError(f"unknown edit '{op}'", hint=f"edits: {', '.join(OPS)}")
        try:
            getattr(self, op)(edit)
        except (KeyError, TypeError, ValueError) as exc:
            raise EditError(f"{op}: malformed edit ({type(exc).__name__}: {exc})") from None

    def add_stage(self, edit: Mapping[str, Any]) -> None:
        kind, name, type_name = edit["kind"], edit["name"], edit["type"]
        if kind not in SECTION_OF_KIND:
            raise EditError(f"add_stage: kind must be one of {', '.join(KINDS)}, not '{kind}'", name)
        if not isinstance(name, str) or not is_name(name):
            raise EditError(f"add_stage: '{name}' is not a stage name", hint="use letters, digits, '_', '-', '.'")
        if any(item.get("name") == name for s in SECTION_OF_KIND.values() for item in self.document.get(s) or []):
            raise EditError(f"add_stage: a stage named '{name}' exists", name)
        options = dict(edit.get("options") or {})
        inputs = list(edit.get("inputs") or [])
        for key, value in options.items():
            _refuse_literal_secret((key,), value, name)
        item = CommentedMap()
        item["name"] = name
        item["type"] = type_name
        if kind == "sink" and inputs:
            item["input"] = inputs[0]
        elif kind == "transform":
            item["inputs"] = _flow(inputs)
        elif kind == "source" and inputs:
            raise EditError("add_stage: a source reads no other stage", name)
        for key, value in options.items():
            if key not in ("name", "type", "input", "inputs"):
                item[key] = _node(value)
        doc = self.doc(self.pipeline_file)
        if not isinstance(doc.data, CommentedMap):
            raise EditError(f"{doc.path.name} is not a YAML mapping")
        _add_item(doc.data, SECTION_OF_KIND[kind], item)

    def remove_stage(self, edit: Mapping[str, Any]) -> None:
        name = edit["name"]
        section, _, _ = self.find_stage(name)
        removed_everywhere = True
        for path in self.loaded.files:
            if not self.editable(path):
                removed_everywhere = False if self._file_defines(path, section, name) else removed_everywhere
                continue
            doc = self.doc(path)
            items = doc.data.get(section) if isinstance(doc.data, CommentedMap) else None
            if not isinstance(items, CommentedSeq):
                continue
            found = [i for i, item in enumerate(items) if isinstance(item, CommentedMap) and item.get("name") == name]
            if found and path.resolve() in self._template_files():
                removed_everywhere = False  # another pipeline may extend this template: it keeps the stage
            elif found and len(found) == len(items):
                _remove_key(doc.data, section)
            else:
                for index in reversed(found):
                    _remove(items, index)
        if not removed_everywhere:
            doc = self.doc(self.pipeline_file)
            tombstone = CommentedMap()
            tombstone["name"] = name
            tombstone.yaml_set_ctag(Tag(suffix=DELETE_TAG))
            _add_item(doc.data, section, tombstone)

    def _template_files(self) -> set[Path]:
        return {Path(name).resolve() for name in self.provenance.templates}

    def _file_defines(self, path: Path, section: str, name: str) -> bool:
        return any(
            (info.key_loc or info.loc).file == str(path)
            for key, info in self.provenance.entries.items()
            if len(key) == 3 and key[0] == section and key[2] == "name"
            and self._name_at(key) == name
        )  # fmt: skip

    def _name_at(self, key: tuple[str | int, ...]) -> Any:
        section, index = key[0], key[1]
        items = self.document.get(str(section)) or []
        return items[int(index)].get("name") if isinstance(index, int) and index < len(items) else None

    def connect(self, edit: Mapping[str, Any]) -> None:
        source, target = edit["from"], edit["to"]
        self.find_stage(source)
        section, index, item = self.find_stage(target)
        if section == "sources":
            raise EditError(f"connect: '{target}' is a source, which reads no other stage", target)
        if section == "sinks":
            self._set(target, section, index, ("input",), source)
            return
        current = list(item.get("inputs") or [])
        if source in current:
            return
        self._set(target, section, index, ("inputs",), [*current, source], in_place=True)

    def disconnect(self, edit: Mapping[str, Any]) -> None:
        source, target = edit["from"], edit["to"]
        section, index, item = self.find_stage(target)
        if section == "sinks":
            if item.get("input") == source:
                self._set(target, section, index, ("input",), None)
            return
        current = list(item.get("inputs") or [])
        if source in current:
            self._set(target, section, index, ("inputs",), [i for i in current if i != source], in_place=True)

    def set_option(self, edit: Mapping[str, Any]) -> None:
        stage = edit["stage"]
        path = tuple(edit["path"])
        if not path or not all(isinstance(p, (str, int)) and not isinstance(p, bool) for p in path):
            raise EditError("set_option: 'path' must be a non-empty list of keys", stage)
        if path[0] in ("name", "type"):
            how = "rename_stage" if path[0] == "name" else "removing the stage and adding one of the new type"
            raise EditError(f"set_option: the stage's {path[0]} is changed by {how}", stage)
        section, index, _ = self.find_stage(stage)
        self._set(stage, section, index, path, edit.get("value"))

    def rename_stage(self, edit: Mapping[str, Any]) -> None:
        name, new = edit["name"], edit["new_name"]
        if not isinstance(new, str) or not is_name(new):
            hint = "use letters, digits, '_', '-', '.'"
            raise EditError(f"rename_stage: '{new}' is not a stage name", name, hint=hint)
        section, _, _ = self.find_stage(name)
        if any(item.get("name") == new for s in SECTION_OF_KIND.values() for item in self.document.get(s) or []):
            raise EditError(f"rename_stage: a stage named '{new}' exists", name)
        templates = self._template_files()
        for path in self.loaded.files:
            if (path.resolve() in templates or not self.editable(path)) and self._file_defines(path, section, name):
                raise EditError(
                    f"rename_stage: '{name}' is defined by the template {path.name}, which other pipelines may use",
                    name,
                    hint="add a stage under the new name instead, or rename it in the template",
                )
        for path in self.layers():
            doc = self.doc(path)
            if not isinstance(doc.data, CommentedMap):
                continue
            for each in SECTION_OF_KIND.values():
                for item in doc.data.get(each) or []:
                    if not isinstance(item, CommentedMap):
                        continue
                    if each == section and item.get("name") == name:
                        item["name"] = new
                    if item.get("input") == name:
                        item["input"] = new
                    inputs = item.get("inputs")
                    if isinstance(inputs, list):
                        for i, value in enumerate(inputs):
                            if value == name:
                                inputs[i] = new
            for check in doc.data.get("checks") or []:
                if isinstance(check, CommentedMap):
                    for key in ("stage", "to"):
                        if check.get(key) == name:
                            check[key] = new

    # -- setting one value where it was written

    def _set(
        self,
        stage: str,
        section: str,
        index: int,
        path: tuple[str | int, ...],
        value: Any,
        in_place: bool = False,
    ) -> None:
        _refuse_literal_secret(path, value, stage)
        doc_path = (section, index, *path)
        if value is None:
            self._delete(stage, section, path)
            return
        info = self.provenance.info(doc_path)
        if info is not None and info.origin is not None and info.origin.line > 0:
            origin = Path(info.origin.file)
            if self.editable(origin) and _set_at(self.doc(origin).data, info.origin.line, info.origin.column, value):
                return
        written = self.file_of(doc_path) if info is not None else None
        if written is not None and self.editable(written):
            item = self.item_in(self.doc(written), section, stage, create=False)
            if item is not None and _set_path(item, path, value, create=False, in_place=in_place):
                return
        target = self.defining_file(section, index)
        item = self.item_in(self.doc(target), section, stage, create=True)
        assert item is not None
        _set_path(item, path, value, create=True, in_place=in_place)

    def _delete(self, stage: str, section: str, path: tuple[str | int, ...]) -> None:
        """Remove the key from the pipeline and its overlay; one a template sets gets ``!delete`` in the pipeline."""
        templates = self._template_files()
        below = False
        for file in self.loaded.files:
            if file.resolve() in templates or not self.editable(file):
                item = self.item_in(read_document(file), section, stage, create=False)
                below = below or (item is not None and _has_path(item, path))
            else:
                item = self.item_in(self.doc(file), section, stage, create=False)
                if item is not None:
                    _delete_path(item, path)
        if below and isinstance(path[-1], str):
            item = self.item_in(self.doc(self.pipeline_file), section, stage, create=True)
            assert item is not None
            _set_path(item, path, None, create=True, in_place=False)
            _set_value(item, path, TaggedScalar(value="", tag=DELETE_TAG))


# --------------------------------------------------------------------------- round-trip helpers


def _refuse_literal_secret(path: tuple[str | int, ...], value: Any, stage: str | None) -> None:
    """A credential key must hold a ``${secret:...}`` reference, never the credential itself."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            _refuse_literal_secret((*path, str(key)), child, stage)
        return
    if isinstance(value, list):
        for position, child in enumerate(value):
            _refuse_literal_secret((*path, position), child, stage)
        return
    keys = [p for p in path if isinstance(p, str)]
    if not keys or not is_credential_key(keys[-1]) or value in (None, ""):
        return
    if isinstance(value, str) and any(True for _ in secret_references(value)):
        return
    raise EditError(
        f"{'.'.join(map(str, path))} holds a credential: enter it as a ${{secret:...}} reference, not as text",
        stage,
        SECRET_CODE,
        "for example ${secret:keyring:my_pipeline/password}; store the value with `etl-cli secrets set`",
    )


def _node(value: Any) -> Any:
    """A plain JSON value as round-trip data (lists of scalars in flow style, as people write them)."""
    if isinstance(value, Mapping):
        mapping = CommentedMap()
        for key, child in value.items():
            mapping[str(key)] = _node(child)
        return mapping
    if isinstance(value, list):
        items = [_node(v) for v in value]
        return _flow(items) if all(not isinstance(v, (dict, list)) for v in items) else CommentedSeq(items)
    return value


def _flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _set_path(item: CommentedMap, path: tuple[str | int, ...], value: Any, create: bool, in_place: bool) -> bool:
    """Set ``path`` below ``item``; False when a key on the way is missing and ``create`` is false."""
    node: Any = item
    for part in path[:-1]:
        if isinstance(node, CommentedMap) and isinstance(part, str):
            if part not in node:
                if not create:
                    return False
                _append_key(node, part, CommentedMap())
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False
    last = path[-1]
    if isinstance(node, CommentedMap) and isinstance(last, str):
        if last not in node and not create:
            return False
        old = node.get(last)
        if in_place and isinstance(old, CommentedSeq) and isinstance(value, list):
            _replace_items(old, value)
        elif last in node:
            node[last] = _keep_style(old, _node(value))
        elif len(path) == 1 and last in ("input", "inputs") and "type" in node and list(node)[-1] != "type":
            node.insert(list(node).index("type") + 1, last, _node(value))  # where people write it
        else:
            _append_key(node, last, _node(value))
        return True
    if isinstance(node, CommentedSeq) and isinstance(last, int) and 0 <= last <= len(node):
        if last == len(node):
            _append(node, _node(value))
        else:
            node[last] = _keep_style(node[last], _node(value))
        return True
    return False


def _keep_style(old: Any, new: Any) -> Any:
    """A new list or mapping keeps the flow or block style of the one it replaces."""
    if isinstance(old, (CommentedMap, CommentedSeq)) and isinstance(new, (CommentedMap, CommentedSeq)):
        if old.fa.flow_style():
            new.fa.set_flow_style()
        else:
            new.fa.set_block_style()
    return new


def _replace_items(seq: CommentedSeq, values: list[Any]) -> None:
    """Make ``seq`` hold ``values``: remove the items not wanted, append the new ones (style and comments kept)."""
    for index in reversed(range(len(seq))):
        if seq[index] not in values:
            _remove(seq, index)
    for value in values:
        if value not in seq:
            _append(seq, _node(value))


def _holds(node: Any, part: str | int) -> bool:
    """Whether ``node`` (a mapping or a list) has the key or index ``part``."""
    if isinstance(node, CommentedMap):
        return isinstance(part, str) and part in node
    return isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node)


def _has_path(item: Any, path: tuple[str | int, ...]) -> bool:
    node = item
    for part in path:
        if _holds(node, part):
            node = node[part]
        else:
            return False
    return True


def _set_value(item: Any, path: tuple[str | int, ...], value: Any) -> None:
    node = item
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _delete_path(item: CommentedMap, path: tuple[str | int, ...]) -> None:
    node: Any = item
    for part in path[:-1]:
        if _holds(node, part):
            node = node[part]
        else:
            return
    last = path[-1]
    if isinstance(node, CommentedMap) and isinstance(last, str) and last in node:
        _remove_key(node, last)
    elif isinstance(node, CommentedSeq) and isinstance(last, int) and 0 <= last < len(node):
        _remove(node, last)


def _set_at(data: Any, line: int, column: int, value: Any) -> bool:
    """Set the value whose key (or the value itself) is written at ``line``:``column`` (1-based)."""
    if isinstance(data, CommentedMap):
        for key in list(data):
            key_at = data.lc.key(key)
            value_at = data.lc.value(key)
            if (key_at[0] + 1, key_at[1] + 1) == (line, column) or (value_at[0] + 1, value_at[1] + 1) == (line, column):
                if isinstance(data[key], (CommentedMap, CommentedSeq)):
                    return False
                data[key] = _node(value)
                return True
            if _set_at(data[key], line, column, value):
                return True
    elif isinstance(data, CommentedSeq):
        return any(_set_at(child, line, column, value) for child in data)
    return False


def _add_item(document: Any, section: str, item: CommentedMap) -> None:
    """Append ``item`` to the list ``section`` of ``document``, adding the section where it belongs if missing."""
    if not isinstance(document, CommentedMap):
        raise EditError("the file is not a YAML mapping")
    items = document.get(section)
    if isinstance(items, CommentedSeq):
        _append(items, item)
    else:
        _insert_section(document, section, CommentedSeq([item]))


def _insert_section(document: CommentedMap, section: str, value: CommentedSeq) -> None:
    """Add a stage section after the sections that come before it (sources, transforms, sinks)."""
    order = list(SECTION_OF_KIND.values())
    before = order[: order.index(section)]
    keys = list(document)
    earlier = [i for i, key in enumerate(keys) if key in before]
    later = [i for i, key in enumerate(keys) if key in order[order.index(section) + 1 :]]
    position = earlier[-1] + 1 if earlier else (later[0] if later else len(keys))
    if position >= len(keys):  # last: the blank lines before it stay where they are
        document[section] = value
        return
    # between two keys: the blank lines after the one before it come after it too
    spacing = _trailing_blank(document, keys[position - 1]) if position > 0 else None
    document.insert(position, section, value)
    if spacing is not None:
        _give_trailing(document, section, spacing)


def _trailing_blank(container: Any, key: Any) -> Any:
    """A blank line to put after a new section, when one follows the value at ``key`` (else None)."""
    token = _peek_trailing(container, key)
    if token is None:
        return None
    text = token.value
    kept = _EOL_COMMENT.match(text)
    rest = text[kept.end() :] if kept else text[1:] if text.startswith("\n") else text
    if not rest.startswith("\n"):
        return None
    blank = copy.copy(token)
    blank.value = "\n\n"
    return blank


def _peek_trailing(container: Any, key: Any) -> Any:
    """What follows the value at ``key`` (the token :func:`_take_trailing` would take), left in place."""
    return _trailing(container, key, take=False)


def _append_key(mapping: CommentedMap, key: str, value: Any) -> None:
    """Add ``key`` last, moving the blank lines and comments that followed the old last key after the new one."""
    token = _take_trailing(mapping, list(mapping)[-1]) if mapping else None
    mapping[key] = value
    if token is not None:
        _give_trailing(mapping, key, token)


def _append(seq: CommentedSeq, value: Any) -> None:
    token = _take_trailing(seq, len(seq) - 1) if seq else None
    seq.append(value)
    if token is not None:
        _give_trailing(seq, len(seq) - 1, token)


def _remove(seq: CommentedSeq, index: int) -> None:
    """Remove an item; the blank lines or comments after the last item stay after the new last one."""
    token = _take_trailing(seq, index) if index == len(seq) - 1 else None
    del seq[index]
    if token is not None and seq:
        _give_trailing(seq, len(seq) - 1, token)


def _remove_key(mapping: CommentedMap, key: str) -> None:
    keys = list(mapping)
    token = _take_trailing(mapping, key)
    del mapping[key]
    mapping.ca.items.pop(key, None)
    if token is not None and mapping:
        position = keys.index(key)
        neighbour = keys[position - 1] if position > 0 else next(iter(mapping))
        _take_trailing(mapping, neighbour)  # the lines that led to the key removed go with it
        _give_trailing(mapping, neighbour, token)


_EOL_COMMENT = re.compile(r"^[ \t]*#[^\n]*\n")


def _take_trailing(container: Any, key: Any) -> Any:
    """Take what follows the value at ``key`` (blank lines, comment lines), leaving its end-of-line comment."""
    return _trailing(container, key, take=True)


def _trailing(container: Any, key: Any, take: bool) -> Any:
    """What follows the value at ``key``, as one token whose text starts at the end of the value's line.

    ruamel.yaml keeps the lines after a value in one of two places: with the last scalar (the token of its
    key or item, which starts with that line's end-of-line comment, if any) or, after a flow collection that
    ends a block, as the ``end`` lines of the enclosing block collection. Both are looked at, innermost first.
    With ``take``, the lines are removed (the end-of-line comment stays) and returned to be given elsewhere.
    """
    entry = container.ca.items.get(key)
    slot = 2 if isinstance(container, CommentedMap) else 0
    token = entry[slot] if entry and len(entry) > slot else None
    if token is None:
        child = container[key]
        if isinstance(child, (CommentedMap, CommentedSeq)) and child and not child.fa.flow_style():
            inner = _trailing(child, list(child)[-1] if isinstance(child, CommentedMap) else len(child) - 1, take)
            return _joined(inner, child.ca.end, take)
        return None
    if not take:
        return token
    text = token.value
    kept = _EOL_COMMENT.match(text)
    if kept is None:
        entry[slot] = None
        return token
    rest = text[kept.end() :]
    if not rest:
        return None
    token.value = text[: kept.end()]
    moved = copy.copy(token)
    moved.value = "\n" + rest  # the end of the line the token follows, then what came after the comment
    return moved


def _joined(inner: Any, end: list[Any] | None, take: bool) -> Any:
    """``inner`` (a token from the last value of a block collection, or None) followed by the collection's ``end``
    lines, as one token; with ``take`` the ``end`` lines are removed from the collection."""
    if not end:
        return inner
    lines = "".join(" " * t.column + t.value if t.value.startswith("#") else t.value for t in end)
    joined = copy.copy(inner if inner is not None else end[0])
    joined.value = (inner.value if inner is not None else "\n") + lines
    if take:
        end.clear()
    return joined


def _give_trailing(container: Any, key: Any, token: Any) -> None:
    child = container[key]
    if isinstance(child, CommentedMap) and child and not child.fa.flow_style():
        _give_trailing(child, list(child)[-1], token)
        return
    if isinstance(child, CommentedSeq) and child and not child.fa.flow_style():
        _give_trailing(child, len(child) - 1, token)
        return
    if isinstance(container, CommentedMap):
        entry, slot = container.ca.items.setdefault(key, [None, None, None, None]), 2
    else:
        entry, slot = container.ca.items.setdefault(key, [None, None]), 0
    kept = _EOL_COMMENT.match(entry[slot].value) if entry[slot] is not None else None
    if kept is not None and token.value.startswith("\n"):  # the value's end-of-line comment stays, then the lines
        entry[slot].value = entry[slot].value[: kept.end()] + token.value[1:]
    else:
        entry[slot] = token
