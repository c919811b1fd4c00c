"""What the wizard knows about a template: its description, its parameters and where each is used.

A parameter used whole as the value of a stage option (``path: ${var:output_path}``) is
asked like that option: choices for ``type`` and ``mode``, the option's own JSON Schema
otherwise, a hidden prompt for credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from etl_cli.config.templates import available_templates, find_template
from etl_cli.model.schema import build_schema
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND, Kind, Sink
from etl_cli.plugins.registry import Registry

_WHOLE_VAR = re.compile(r"^\$\{var:([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class ParamUse:
    """Where a parameter lands: the option ``key`` of a stage of ``kind`` and ``type`` (None: a var type)."""

    kind: Kind
    stage_type: str | None
    key: str
    #: every key the template writes in that stage: a parameter filling ``type`` may only name a type taking them
    stage_keys: frozenset[str] = frozenset()
    #: the name of that stage (None when the template does not name it)
    stage_name: str | None = None


@dataclass(frozen=True)
class TemplateParam:
    """One declared parameter of a template."""

    name: str
    description: str
    default: Any = None
    required: bool = True
    use: ParamUse | None = None
    #: what an answer looks like (``example:``), shown as an example and never taken as the answer
    example: str | None = None


@dataclass(frozen=True)
class TemplateInfo:
    """A template the wizard can offer."""

    name: str
    path: Path
    description: str
    params: tuple[TemplateParam, ...]
    #: (kind, type) of every stage; a type written as ${var:p} is p's default
    stage_types: tuple[tuple[Kind, str | None], ...]
    #: names of the template's stages by kind
    stage_names: dict[str, tuple[str, ...]]
    #: the stage each sink reads, by sink name
    sink_inputs: dict[str, str]
    #: each source's keys as written (``${var:p}`` left in), by source name: where the wizard looks for columns
    source_items: dict[str, dict[str, Any]]

    def bound_source(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Source ``name`` as written, each whole ``${var:p}`` replaced by the answer to p (else its default)."""
        values = {p.name: p.default for p in self.params} | params
        bound: dict[str, Any] = {}
        for key, value in self.source_items.get(name, {}).items():
            match = _WHOLE_VAR.match(value) if isinstance(value, str) else None
            bound[key] = values.get(match.group(1)) if match else value
        return bound

    def usable_with(self, registry: Registry) -> bool:
        """Every stage type it names is registered (a connector that is not installed hides its templates)."""
        return all(t is not None and t in registry.types(kind) for kind, t in self.stage_types)


def load_template(path: Path, registry: Registry) -> TemplateInfo | None:
    """Read a template file; None when it is not a mapping of stages."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    declared: dict[str, Any] = data["params"] if isinstance(data.get("params"), dict) else {}
    uses = _param_uses(data, registry)
    params = tuple(_param(name, spec, uses.get(name)) for name, spec in declared.items())
    defaults = {p.name: p.default for p in params}
    stage_types = tuple((kind, _resolved_type(item, defaults)) for kind, item in _stages(data))
    names = {SECTION_OF_KIND[k]: tuple(str(i.get("name")) for kk, i in _stages(data) if kk == k) for k in KINDS}
    sink_inputs = {str(i.get("name")): str(i.get("input")) for k, i in _stages(data) if k == "sink"}
    sources = {str(i.get("name")): dict(i) for k, i in _stages(data) if k == "source"}
    return TemplateInfo(
        path.stem,
        path,
        " ".join(str(data.get("description") or _first_comment(path) or path.stem).split()),
        params,
        stage_types,
        names,
        sink_inputs,
        sources,
    )


def usable_templates(template_dirs: list[Path], registry: Registry) -> list[TemplateInfo]:
    """Templates whose stage types are all registered, by name."""
    found = []
    for name in available_templates(template_dirs):
        path = find_template(name, template_dirs)
        info = load_template(path, registry) if path else None
        if info is not None and info.usable_with(registry):
            found.append(info)
    return found


def _stages(data: dict[str, Any]) -> list[tuple[Kind, dict[str, Any]]]:
    found: list[tuple[Kind, dict[str, Any]]] = []
    for kind in KINDS:
        section = data.get(SECTION_OF_KIND[kind])
        if isinstance(section, list):
            found.extend((kind, item) for item in section if isinstance(item, dict))
    return found


def _resolved_type(item: dict[str, Any], defaults: dict[str, Any]) -> str | None:
    written = item.get("type")
    match = _WHOLE_VAR.match(written) if isinstance(written, str) else None
    if match:
        default = defaults.get(match.group(1))
        return str(default) if default is not None else None
    return str(written) if written is not None else None


def _param_uses(data: dict[str, Any], registry: Registry) -> dict[str, ParamUse]:
    uses: dict[str, ParamUse] = {}
    for kind, item in _stages(data):
        type_text = item.get("type")
        literal_type = type_text if isinstance(type_text, str) and not _WHOLE_VAR.match(type_text) else None
        for key, value in item.items():
            match = _WHOLE_VAR.match(value) if isinstance(value, str) else None
            if match and match.group(1) not in uses:
                name = str(item["name"]) if item.get("name") is not None else None
                uses[match.group(1)] = ParamUse(kind, literal_type, str(key), frozenset(map(str, item)), name)
    return uses


def _param(name: str, spec: Any, use: ParamUse | None) -> TemplateParam:
    spec = spec if isinstance(spec, dict) else {}
    default = spec.get("default")
    required = bool(spec.get("required", default is None))
    example = str(spec["example"]) if spec.get("example") is not None else None
    return TemplateParam(name, str(spec.get("description") or name), default, required, use, example)


def _first_comment(path: Path) -> str | None:
    """The template's first comment paragraph (up to an empty ``#`` line), whole: a description is never cut."""
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.lstrip("#").strip()
        if not line.startswith("#") or (lines and not text):
            break
        lines.extend([text] if text else [])
    return " ".join(lines) or None


def option_schema(registry: Registry, use: ParamUse) -> dict[str, Any]:
    """The JSON Schema of the option a parameter fills ({} when unknown)."""
    if use.key == "type":
        return {"enum": fitting_types(registry, use)}
    if use.stage_type is None or use.stage_type not in registry.types(use.kind):
        return {}
    plugin = registry.get(use.kind, use.stage_type)
    if use.key == "mode" and issubclass(plugin, Sink):
        return {"enum": list(plugin.modes), "description": "What to do when the target exists."}
    return dict(plugin.options_schema.get(use.key, {}))


def fitting_types(registry: Registry, use: ParamUse) -> list[str]:
    """The types of ``use.kind`` the template's stage can be: each key it writes is an option of the type, and
    each option the type requires is written (a files template's source is never offered as jdbc or kafka)."""
    schemas = build_schema(registry)["$defs"]
    written = use.stage_keys - {"type"}
    fitting = []
    for type_name in registry.types(use.kind):
        schema = schemas.get(f"{use.kind}.{type_name}", {})
        allowed, required = set(schema.get("properties", ())), set(schema.get("required", ())) - {"type"}
        if written <= allowed and required <= written:
            fitting.append(type_name)
    return fitting
