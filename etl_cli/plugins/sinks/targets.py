"""Where an overwrite may never go, and how etl-cli tells the datasets it wrote from anything else.

An overwrite deletes everything in its target. Two rules keep it from deleting what etl-cli did
not write (docs/run.md, "What overwrite refuses"):

- **Places.** The target may not be, or hold, a guarded place: the filesystem root, the home
  folder, the project root, etl-cli's state folder, the pipeline's files (the pipeline, the
  templates it extends, its environment overlays) or an input of one of its sources. ``validate``
  knows all of them from the document; a run checks again the ones a plug-in can see.
- **Foreign content.** Every dataset a file sink publishes carries :data:`MARKER`; an existing,
  non-empty target without it was written by something else, and an overwrite of it is refused
  unless the sink says ``replace_foreign: true``.

Nothing here imports pyspark: ``validate`` uses these rules offline.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

#: the marker file of every dataset etl-cli publishes; Spark, Hive and pyarrow readers skip names starting with "_"
MARKER = "_ETL_CLI"
#: the sink option that allows an overwrite of a non-empty target without :data:`MARKER`
REPLACE_FOREIGN = "replace_foreign"
_GLOB_CHARACTERS = frozenset("*?[{")


@dataclass(frozen=True)
class Guarded:
    """A place no overwrite may hit or hold: ``path`` (absolute, or a glob) and what it is, for the message."""

    path: str
    what: str


def local_path(uri: str) -> str | None:
    """The local filesystem path of ``uri`` (a plain path or ``file:``), or None for other schemes."""
    if uri.startswith("file://"):
        return uri[len("file://") :] or "/"
    if uri.startswith("file:"):
        return uri[len("file:") :] or "/"
    return None if "://" in uri else uri


def always_guarded(project_root: Path) -> list[Guarded]:
    """The places every run can name without the pipeline's document: home and the project root."""
    return [Guarded(str(Path.home()), "your home folder"), Guarded(str(project_root), "the project root")]


def refusal(target: str, guarded: Iterable[Guarded]) -> str | None:
    """Why an overwrite of ``target`` (a resolved path or URI) is refused, or None when it may go ahead.

    The reason reads "<target>, which is (or holds) <the guarded place>".
    """
    path = local_path(target)
    if path is None:
        parsed = urlparse(target)
        if parsed.path in ("", "/"):
            return f"{target}, which is the root of the bucket (or filesystem) {parsed.scheme}://{parsed.netloc}"
        return None
    forms = _forms(path)
    if any(form == PurePosixPath("/") for form in forms):
        return f"{target}, which is the filesystem root /"
    for place in guarded:
        for form in forms:
            relation = _relation(form, place.path)
            if relation:
                return f"{target}, which {relation} {place.what} ({place.path})"
    return None


def _forms(path: str) -> list[PurePosixPath]:
    """The path as written (normalised) and with symbolic links resolved: either may hit a guarded place."""
    written = PurePosixPath(os.path.normpath(os.path.abspath(path)))
    real = PurePosixPath(_real(path))
    return [written] if real == written else [written, real]


def _relation(target: PurePosixPath, guarded: str) -> str | None:
    """Whether ``target`` "is" ``guarded`` or "holds" it (a folder above it), matching a glob part by part."""
    parts = _glob_parts(guarded)
    for candidate in {tuple(parts), tuple(PurePosixPath(_real(guarded)).parts)}:
        if len(target.parts) > len(candidate):
            continue
        if all(_part_matches(t, g) for t, g in zip(target.parts, candidate, strict=False)):
            return "is" if len(target.parts) == len(candidate) else "holds"
    return None


def _real(path: str) -> str:
    """``path`` with symbolic links resolved; as written when it cannot be (a NUL byte no filesystem takes)."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


def _glob_parts(path: str) -> list[str]:
    return list(PurePosixPath(os.path.normpath(path)).parts)


def _part_matches(part: str, pattern: str) -> bool:
    if not _GLOB_CHARACTERS & set(pattern):
        return part == pattern
    # Hadoop globs also know {a,b}, which fnmatch does not: such a part may match anything
    return "{" in pattern or fnmatch.fnmatchcase(part, pattern)


def input_places(sources: Iterable[Mapping[str, object]], project_root: Path) -> list[Guarded]:
    """The local paths the sources read (``path``: one path or a list), resolved against the project root."""
    found = []
    for source in sources:
        paths = source.get("path")
        for item in paths if isinstance(paths, (list, tuple)) else [paths]:
            if not isinstance(item, str) or not item:
                continue
            path = local_path(item)
            if path is not None:
                resolved = path if os.path.isabs(path) else os.path.join(project_root, path)
                found.append(Guarded(os.path.normpath(resolved), f"the input of source '{source.get('name')}'"))
    return found


def marker_text(pipeline: str | None, sink: str, run_id: str) -> str:
    """What :data:`MARKER` holds: who wrote the dataset and when (readers only test that the file exists)."""
    written_at = datetime.now(UTC).isoformat(timespec="seconds")
    record = {"writer": "etl-cli", "pipeline": pipeline, "sink": sink, "run_id": run_id, "written_at": written_at}
    return json.dumps(record) + "\n"


def foreign_target_message(target: str) -> tuple[str, str]:
    """The error and its hint for an overwrite of a non-empty target that etl-cli did not write."""
    target = local_path(target) or target
    message = (
        f"refusing to overwrite {target}: it holds files etl-cli did not write (there is no {MARKER} marker), "
        "and an overwrite would delete them"
    )
    hint = (
        f"if an etl-cli older than the marker wrote this dataset, mark it once: create an empty file "
        f"{target.rstrip('/')}/{MARKER} (later runs keep it); if the sink really owns a folder other tools "
        f"write to, set '{REPLACE_FOREIGN}: true' on the sink; otherwise point the sink at a folder of its own"
    )
    return message, hint


UNSAFE_TARGET_HINT = (
    "an overwrite deletes everything in its target: point the sink at a folder of its own (output/<name>); "
    "if the path is built from variables, check that none is empty (path: ./${var:out} with out empty "
    "is the project root)"
)
