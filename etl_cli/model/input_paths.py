"""``validate``'s warning for a local input that is not there: the run would fail with PATH_NOT_FOUND.

A warning, not an error: data often arrives after the pipeline is written (a nightly drop, the
output of another pipeline). Each ``path`` of a file source is resolved against the project root
by the run's own rule (:func:`etl_cli.plugins.api.resolve_path`); a glob (Hadoop's ``*``, ``?``,
``[...]``, ``{a,b}``) counts when it matches something. Remote URIs (``s3a://``, ``hdfs://``...)
and paths still holding a ``${`` reference are left alone: only the run can see those.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from etl_cli.config.loader import LoadedConfig
from etl_cli.diagnostics import Diagnostic, warning
from etl_cli.plugins.api import Source, resolve_path
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sinks.targets import local_path

INPUT_NOT_FOUND = "input-not-found"
_GLOB = re.compile(r"[*?\[{]")
_ALTERNATIVES = re.compile(r"\{([^{}]*)\}")
#: patterns a ``{a,b}`` glob expands to at most; a glob with more is not checked (no warning)
MAX_ALTERNATIVES = 256


def check_input_paths(document: dict[str, Any], loaded: LoadedConfig, registry: Registry) -> list[Diagnostic]:
    """A warning for every local input path of a file source that names nothing on this machine."""
    project = loaded.project
    found = []
    for name, key_path, value in _input_paths(document, registry):
        problem = missing_input(value, project.root)
        if problem is not None:
            where = loaded.provenance.user_location(key_path) or loaded.provenance.value_location(key_path)
            hint = f"fix the path, or ignore this if the input arrives before the run; {project.relative_paths_rule()}"
            found.append(warning(INPUT_NOT_FOUND, f"source '{name}' reads {problem}", where, hint))
    return found


def missing_input(value: str, project_root: Path) -> str | None:
    """How ``value``, a source's ``path``, fails to name anything here ("/abs/x.csv, which does not exist"), or None."""
    if "${" in value:
        return None
    local = local_path(resolve_path(value, project_root))
    if local is None or os.path.exists(local):
        return None
    if not _GLOB.search(local):
        return f"{local}, which does not exist"
    return None if _matches(local) else f"{local}, which matches nothing"


def _input_paths(document: dict[str, Any], registry: Registry) -> Iterator[tuple[str, tuple[str | int, ...], str]]:
    """(source name, key path, value) of each ``path`` of each file source (one path or a list)."""
    sources = document.get("sources")
    for index, item in enumerate(sources if isinstance(sources, list) else []):
        if not isinstance(item, dict) or not _reads_files(item, registry):
            continue
        paths = item.get("path")
        if isinstance(paths, str):
            yield str(item.get("name")), ("sources", index, "path"), paths
        for position, value in enumerate(paths if isinstance(paths, list) else []):
            if isinstance(value, str):
                yield str(item.get("name")), ("sources", index, "path", position), value


def _reads_files(item: dict[str, Any], registry: Registry) -> bool:
    """Whether ``item`` is a batch source whose ``path`` names what it reads (a file source)."""
    if item.get("type") not in registry.types("source"):
        return False
    plugin = registry.get("source", item["type"])
    return issubclass(plugin, Source) and "path" in plugin.options_schema and not plugin.is_streaming(item)


def _matches(pattern: str) -> bool:
    """Whether the Hadoop glob ``pattern`` matches a file or folder (True when it has too many alternatives)."""
    expanded = _alternatives(pattern.replace("[^", "[!"))
    if expanded is None:
        return True
    return any(next(glob.iglob(each, include_hidden=True), None) is not None for each in expanded)


def _alternatives(pattern: str) -> list[str] | None:
    """``pattern`` with every ``{a,b}`` expanded, innermost first; None past :data:`MAX_ALTERNATIVES`."""
    pending, done = [pattern], []
    while pending:
        current = pending.pop()
        found = _ALTERNATIVES.search(current)
        if found is None:
            done.append(current)
        else:
            head, tail = current[: found.start()], current[found.end() :]
            pending.extend(head + choice + tail for choice in found.group(1).split(","))
        if len(pending) + len(done) > MAX_ALTERNATIVES:
            return None
    return done


__all__ = ["INPUT_NOT_FOUND", "check_input_paths", "missing_input"]
