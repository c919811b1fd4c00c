"""``extends:``: a pipeline (or template) builds on a template from ``templates/``.

A template is a pipeline fragment with an optional ``params:`` block declaring the
parameters it takes (description, default, required, example). Parameters become ``vars``
of the lowest layer; the pipeline passes them with ``extends.params`` and may still
override any var in its own ``vars:``.

    extends:
      template: files_to_parquet
      params: {input_path: data/orders.csv}

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

    def expand(self, doc: Node, chain: tuple[str, ...] = ()) -> Node:
        """Return ``doc`` with its ``extends`` (if any) merged underneath it."""
        extends = doc.value.pop("extends", None) if doc.is_mapping else None
        if extends is None:
            return doc
        name, params = self._parse_extends(extends)
        if name is None:
            return doc
        if name in chain:
            loop = " -> ".join([*chain, name])
            self.diagnostics.append(
                error("template-cycle", f"templates extend each other in a loop: {loop}", extends.loc)
            )
            return doc
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
            return doc
        try:
            template = load_yaml_file(path)
        except YamlFileError as exc:
            self.diagnostics.extend(exc.diagnostics)
            return doc
        self.files.append(path)
        if not template.is_mapping:
            self.diagnostics.append(error("template-invalid", f"template '{name}' must be a mapping", template.loc))
            return doc
        declared = template.value.pop("params", None)
        base = self.expand(template, (*chain, name))
        param_vars = self._bind_params(name, declared, params, extends)
        if param_vars is not None:
            base = merge(base, Node({"vars": param_vars}, extends.loc), self.diagnostics)
        return merge(base, doc, self.diagnostics)

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
                "extends must name a template: 'extends: NAME' or 'extends: {template: NAME, params: {...}}'",
                extends.loc,
            )
        )
        return None, None

    def _check_param_keys(self, name: str, param: str, spec: Node) -> None:
        """A misspelt ``defualt:`` would silently make the parameter required: report it in the template."""
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
