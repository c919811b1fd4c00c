"""``extends:``: a pipeline (or template) builds on a template from ``templates/``.

A template is a pipeline fragment with an optional ``params:`` block declaring the
parameters it takes (description, default, required, example). Parameters become ``vars``
of the lowest layer; the pipeline passes them with ``extends.params`` and may still
override any var in its own ``vars:``.

    extends:
      template: files_to_parquet
      params: {input_path: data/orders.csv}

``extends`` may also list several templates, merged in the order written (a later one
wins, the pipeline over them all), each with its own ``params``. A template marked
``library: true`` is a schema library: of the sources it writes, only those the pipeline
reads (a transform's ``inputs``, a sink's ``input``, a check's ``to``) are kept, so one
wide template can declare every table without each pipeline warning about, or reading,
the tables it does not use.

A template name is a path below a templates folder (``files/base``): never absolute,
never ``..``, and the file it names must not link outside that folder. Chains are
bounded by ``MAX_TEMPLATE_DEPTH`` (config/limits.py).
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.limits import MAX_TEMPLATE_DEPTH, LimitExceeded, chain_text, inside, is_relative_name
from etl_cli.config.nodes import Node
from etl_cli.config.overlay import merge
from etl_cli.config.yaml_loader import YamlFileError, load_yaml_file
from etl_cli.diagnostics import Diagnostic, did_you_mean, error

_PARAM_KEYS = ("description", "default", "required", "example")
_EXTENDS_FORMS = "write 'extends: NAME', 'extends: {template: NAME, params: {...}}' or a list of these"


def find_template(name: str, template_dirs: list[Path]) -> Path | None:
    """The file for template ``name``: ``<dir>/<name>.yaml`` in the first dir that has it."""
    for folder in template_dirs:
        for candidate in (folder / f"{name}.yaml", folder / f"{name}.yml", folder / name):
            if candidate.is_file():
                return candidate
    return None


def available_templates(template_dirs: list[Path]) -> list[str]:
    names: list[str] = []
    for folder in template_dirs:
        if folder.is_dir():
            names.extend(p.stem for p in sorted(folder.glob("*.y*ml")) if p.stem not in names)
    return names


class TemplateResolver:
    """Expands ``extends:`` recursively, reporting missing templates, params and loops."""

    def __init__(self, template_dirs: list[Path], diagnostics: list[Diagnostic]):
        self.template_dirs = template_dirs
        self.diagnostics = diagnostics
        self.files: list[Path] = []
        #: required parameters that were not given (already reported; interpolation leaves them alone)
        self.missing_params: set[str] = set()
        #: the files (as locations name them) of templates marked ``library: true``
        self.library_files: set[str] = set()

    def expand(self, doc: Node, chain: tuple[str, ...] = ()) -> Node:
        """Return ``doc`` with its ``extends`` (if any) merged underneath it.

        A list of templates is merged in the order written, each with its own parameters, so
        a later template wins over an earlier one and ``doc`` over them all.
        """
        extends = doc.value.pop("extends", None) if doc.is_mapping else None
        if extends is None:
            return doc
        entries = extends.value if extends.is_sequence else [extends]
        if not entries:
            self.diagnostics.append(error("extends-invalid", "extends lists no template", extends.loc, _EXTENDS_FORMS))
        base: Node | None = None
        for entry in entries:
            layer = self._layer(entry, chain)
            if layer is not None:
                base = layer if base is None else merge(base, layer, self.diagnostics)
        return doc if base is None else merge(base, doc, self.diagnostics)

    def _layer(self, extends: Node, chain: tuple[str, ...]) -> Node | None:
        """One template named by ``extends`` (an entry of the list), expanded, with its parameters bound as vars."""
        name, params = self._parse_extends(extends)
        if name is None:
            return None
        if name in chain:
            loop = " -> ".join([*chain, name])
            self.diagnostics.append(
                error("template-cycle", f"templates extend each other in a loop: {loop}", extends.loc)
            )
            return None
        if len(chain) >= MAX_TEMPLATE_DEPTH:
            raise LimitExceeded(
                error(
                    "template-depth",
                    f"templates extend more than {MAX_TEMPLATE_DEPTH} levels deep: {chain_text([*chain, name])}",
                    extends.loc,
                    "let a template carry more of the pipeline instead of extending one more template",
                )
            )
        path = self._find(name, extends)
        if path is None:
            return None
        try:
            template = load_yaml_file(path)
        except YamlFileError as exc:
            self.diagnostics.extend(exc.diagnostics)
            return None
        self.files.append(path)
        if not template.is_mapping:
            self.diagnostics.append(error("template-invalid", f"template '{name}' must be a mapping", template.loc))
            return None
        declared = template.value.pop("params", None)
        self._mark_library(name, template)
        base = self.expand(template, (*chain, name))
        param_vars = self._bind_params(name, declared, params, extends)
        if param_vars is not None:
            base = merge(base, Node({"vars": param_vars}, extends.loc), self.diagnostics)
        return base

    def _mark_library(self, name: str, template: Node) -> None:
        """Take the template's ``library:`` flag off the document, remembering its file when it is true."""
        flag = template.value.pop("library", None)
        if flag is None:
            return
        if not isinstance(flag.value, bool):
            self.diagnostics.append(
                error(
                    "template-invalid",
                    f"library of template '{name}' must be true or false",
                    flag.loc,
                    "library: true makes the sources the pipeline does not read drop out instead of warning",
                )
            )
        elif flag.value:
            self.library_files.add(template.loc.file)

    def _find(self, name: str, extends: Node) -> Path | None:
        """The template's file, inside a templates folder; ``None`` once the problem is reported."""
        if not is_relative_name(name):
            self.diagnostics.append(
                error(
                    "template-name",
                    f"'{name}' is not a template name: name a file below the templates folder, without '..'",
                    extends.loc,
                    self._known_hint(name),
                )
            )
            return None
        path = find_template(name, self.template_dirs)
        if path is None:
            looked = ", ".join(str(d) for d in self.template_dirs)
            self.diagnostics.append(
                error(
                    "template-not-found",
                    f"template '{name}' not found (looked in {looked})",
                    extends.loc,
                    self._known_hint(name),
                )
            )
            return None
        if not any(inside(path, folder) for folder in self.template_dirs):
            self.diagnostics.append(
                error(
                    "template-name",
                    f"template '{name}' links to {path.resolve()}, outside the templates folder",
                    extends.loc,
                    "copy the template into the templates folder instead of linking to it",
                )
            )
            return None
        return path

    def _known_hint(self, name: str) -> str | None:
        known = available_templates(self.template_dirs)
        return did_you_mean(name, known) or (f"available templates: {', '.join(known)}" if known else None)

    def _parse_extends(self, extends: Node) -> tuple[str | None, Node | None]:
        if isinstance(extends.value, str):
            return extends.value, None
        if extends.is_mapping and isinstance((extends.get("template") or Node(None, extends.loc)).value, str):
            unknown = set(extends.value) - {"template", "params"}
            for key in sorted(unknown):
                self.diagnostics.append(
                    error(
                        "unknown-key",
                        f"unknown key '{key}' in extends",
                        extends.value[key].key_loc,
                        did_you_mean(key, ["template", "params"]),
                    )
                )
            return extends.value["template"].value, extends.get("params")
        self.diagnostics.append(
            error(
                "extends-invalid",
                "extends must name a template",
                extends.loc,
                _EXTENDS_FORMS,
            )
        )
        return None, None

    def _check_param_keys(self, name: str, param: str, spec: Node) -> None:
        """A misspelt ``defualt:`` would silently make the parameter required: report it in the template. So would
        a value written in the parameter's place (``zone: eu-1`` for ``zone: {default: eu-1}``)."""
        if not spec.is_mapping and spec.value is not None:
            self.diagnostics.append(
                error(
                    "template-param",
                    f"parameter '{param}' of template '{name}' is declared as a value, not as its settings",
                    spec.loc,
                    f"write {param}: {{default: ...}} for a default, or {param}: with nothing after it for a "
                    "parameter the pipeline must give",
                )
            )
        for key, node in spec.value.items() if spec.is_mapping else ():
            if key not in _PARAM_KEYS:
                self.diagnostics.append(
                    error(
                        "template-param",
                        f"parameter '{param}' of template '{name}' has no key '{key}'",
                        node.key_loc,
                        did_you_mean(key, _PARAM_KEYS) or f"a parameter takes: {', '.join(_PARAM_KEYS)}",
                    )
                )

    def _bind_params(self, name: str, declared: Node | None, given: Node | None, extends: Node) -> Node | None:
        decl = declared.value if declared is not None and declared.is_mapping else {}
        given_items = given.value if given is not None and given.is_mapping else {}
        if given is not None and not given.is_mapping:
            self.diagnostics.append(error("extends-invalid", "extends.params must be a mapping", given.loc))
        bound: dict[str, Node] = {}
        for param, spec in decl.items():
            self._check_param_keys(name, param, spec)
            if param in given_items:
                bound[param] = given_items[param]
            elif spec.is_mapping and spec.get("default") is not None:
                default = spec.value["default"]
                default.key_loc = spec.key_loc
                bound[param] = default
            elif spec.is_mapping and spec.get("required") is not None and spec.value["required"].value is False:
                continue
            else:
                self.missing_params.add(param)
                self.diagnostics.append(
                    error(
                        "template-param",
                        f"template '{name}' needs parameter '{param}'",
                        extends.loc,
                        f"add it under extends.params: {param}: ...",
                    )
                )
        for param, node in given_items.items():
            if param not in decl:
                hint = did_you_mean(param, decl) or (
                    f"'{name}' takes: {', '.join(decl)}" if decl else f"'{name}' takes no parameters"
                )
                self.diagnostics.append(
                    error("template-param", f"template '{name}' has no parameter '{param}'", node.key_loc, hint)
                )
        return Node(bound, extends.loc) if bound else None


def drop_unread_library_sources(tree: Node, library_files: set[str]) -> Node:
    """``tree`` without the sources written in a library template that no stage or check reads."""
    sources = tree.get("sources")
    if not library_files or sources is None or not sources.is_sequence:
        return tree
    read = _read_names(tree)
    sources.value = [
        item
        for item in sources.value
        if not (item.is_mapping and _written_in(item, library_files) and item.item_name() not in read)
    ]
    return tree


def _written_in(item: Node, files: set[str]) -> bool:
    name = item.get("name")
    return name is not None and name.loc.file in files


def _read_names(tree: Node) -> set[str]:
    """The stage names read by transforms (``inputs``), sinks (``input``) and checks (``to``)."""
    read: set[str] = set()
    for section, key in (("transforms", "inputs"), ("sinks", "input"), ("checks", "to")):
        items = tree.get(section)
        for item in items.value if items is not None and items.is_sequence else ():
            found = item.get(key)
            values = found.value if found is not None and found.is_sequence else [found] if found is not None else []
            read.update(v.value for v in values if isinstance(v, Node) and isinstance(v.value, str))
    return read
