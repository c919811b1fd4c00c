"""The offline half of "an overwrite never deletes what etl-cli did not write".

A sink in mode ``overwrite`` whose (interpolated) ``path`` is, or holds, a guarded place is an
error at its ``path`` line: the filesystem root, the home folder, the project root or a folder
above it, etl-cli's state folder, the pipeline file, the templates it extends, its environment
overlays, or what a source reads (for globs: any folder the glob can match). For URIs other than
``file:`` only a bucket (or filesystem) root is refused. The rules live in
:mod:`etl_cli.plugins.sinks.targets`; what only the disk can tell (a target holding foreign
files) is checked by ``dry-run`` and at run time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from etl_cli.config.loader import LoadedConfig, overlay_envs, overlay_file
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.plugins.api import Sink, resolve_path
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sinks.targets import UNSAFE_TARGET_HINT, Guarded, always_guarded, input_places, refusal

CODE = "unsafe-target"


def check_sink_targets(document: dict[str, Any], loaded: LoadedConfig, registry: Registry) -> list[Diagnostic]:
    """An error for every overwriting sink whose path is, or holds, a guarded place."""
    root = loaded.project.root
    guarded = guarded_places(loaded) + input_places(_mappings(document.get("sources")), root)
    found = []
    for index, sink in _overwriting_sinks(document, registry):
        target = resolve_path(sink["path"], root)
        reason = refusal(target, guarded)
        if reason:
            found.append(
                error(
                    CODE,
                    f"sink '{sink.get('name')}' (mode overwrite) would delete everything in {reason}",
                    loaded.provenance.value_location(("sinks", index, "path")),
                    UNSAFE_TARGET_HINT,
                )
            )
    return found


def guarded_places(loaded: LoadedConfig) -> list[Guarded]:
    """Home, the project, the state folder and every file the pipeline is made of, in every environment."""
    pipeline_file = loaded.pipeline_file.resolve()
    places = [
        *always_guarded(loaded.project.root),
        Guarded(str(loaded.project.run_state_dir()), "etl-cli's state folder"),
        Guarded(str(pipeline_file), "the pipeline file"),
    ]
    overlays = {overlay_file(pipeline_file, env).resolve() for env in overlay_envs(pipeline_file)}
    places += [Guarded(str(path), "an environment overlay of the pipeline") for path in sorted(overlays)]
    for path in loaded.files:
        resolved = path.resolve()
        if resolved != pipeline_file and resolved not in overlays:
            places.append(Guarded(str(resolved), "a template the pipeline extends"))
    return places


def _overwriting_sinks(document: dict[str, Any], registry: Registry) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, sink) of each sink with a ``path`` option that overwrites (its own mode, or its plug-in's default)."""
    sinks = document.get("sinks")
    for index, sink in enumerate(sinks if isinstance(sinks, list) else []):
        if not isinstance(sink, dict) or not isinstance(sink.get("path"), str):
            continue
        plugin = registry.get("sink", sink["type"]) if sink.get("type") in registry.types("sink") else None
        if plugin is None or not issubclass(plugin, Sink) or "path" not in plugin.options_schema:
            continue
        if sink.get("mode", plugin.default_mode) == "overwrite":
            yield index, sink


def _mappings(section: Any) -> list[dict[str, Any]]:
    return [item for item in section if isinstance(item, dict)] if isinstance(section, list) else []


__all__ = ["CODE", "check_sink_targets", "guarded_places"]
