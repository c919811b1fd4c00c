"""The studio's view of one pipeline: its files as text, loaded and validated by the project's own code.

Edits are checked before anything is written: the files of the pipeline (the pipeline file,
its templates, its overlays) with their edited text go to a scratch copy of the project, where
:func:`etl_cli.config.loader.load_pipeline` and :func:`etl_cli.app.validate` read them as they
would read the real ones. Only the YAML files of the folders on the way to those files are
copied; everything else (data, other folders) is a link to the real thing, so relative paths
still find what they name. Every place a diagnostic or the provenance names in the copy is
mapped back to the real file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from etl_cli.config.loader import LoadedConfig, load_pipeline
from etl_cli.config.nodes import NodeInfo, Provenance
from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import Location

_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Places:
    """Maps what a scratch copy's locations say back to the real files of the project."""

    root: Path
    scratch: Path | None = None

    def real(self, shown: str) -> Path:
        """The real file a location's ``file`` names (relative names are relative to the working directory)."""
        path = Path(shown)
        path = path if path.is_absolute() else Path.cwd() / path
        if self.scratch is not None:
            for prefix in {self.scratch, self.scratch.resolve()}:
                if path.is_relative_to(prefix):
                    return self.root / path.relative_to(prefix)
        return path

    def relative(self, shown: str) -> str:
        """``shown`` relative to the project root (POSIX), or the absolute path of a file outside it."""
        path = self.real(shown)
        resolved = path.resolve() if path.exists() else path
        for base in (self.root, self.root.resolve()):
            if resolved.is_relative_to(base):
                return resolved.relative_to(base).as_posix()
        return str(path)

    def text(self, message: str) -> str:
        """A message with the scratch copy's folder replaced by the project's."""
        if self.scratch is None:
            return message
        for prefix in (str(self.scratch.resolve()), str(self.scratch)):
            message = message.replace(prefix, str(self.root))
        return message

    def location(self, location: Location | None) -> Location | None:
        if location is None or self.scratch is None:
            return location
        return Location(str(self.real(location.file)), location.line, location.column)

    def diagnostic(self, diagnostic: Diagnostic) -> Diagnostic:
        return replace(
            diagnostic,
            location=self.location(diagnostic.location),
            message=self.text(diagnostic.message),
            hint=self.text(diagnostic.hint) if diagnostic.hint else diagnostic.hint,
        )

    def provenance(self, provenance: Provenance) -> Provenance:
        """The provenance with every location in the real files (names as absolute paths)."""
        if self.scratch is None:
            return provenance
        entries = {
            path: NodeInfo(
                self.location(info.loc) or info.loc,
                self.location(info.key_loc),
                info.raw,
                info.interpolated,
                self.location(info.origin),
            )
            for path, info in provenance.entries.items()
        }
        templates = frozenset(str(self.real(name)) for name in provenance.templates)
        return Provenance(entries, templates)


@dataclass
class Loaded:
    """One load of a pipeline: the merged document and provenance (real places), its files and diagnostics."""

    config: LoadedConfig
    places: Places
    #: the real files the pipeline is made of (pipeline, templates, overlay), absolute
    files: list[Path]
    #: every diagnostic ``validate`` reports, in the real files
    diagnostics: list[Diagnostic]


def load(root: Path, pipeline_file: Path, env: str | None, texts: Mapping[Path, str] | None = None) -> Loaded:
    """Load and validate ``pipeline_file`` as :mod:`etl_cli.app` does; with ``texts``, as if those files held them."""
    from etl_cli import app

    if not texts:
        config = load_pipeline(pipeline_file, env, strict_param_names=False)
        reports = app.validate([pipeline_file], config.env)
        places = Places(root)
        return Loaded(config, places, [f.resolve() for f in config.files], reports[0].diagnostics if reports else [])
    with scratch_copy(root, texts) as scratch:
        places = Places(root, scratch)
        copied = scratch / pipeline_file.relative_to(root)
        config = load_pipeline(copied, env, strict_param_names=False)
        reports = app.validate([copied], config.env)
        config.provenance = places.provenance(config.provenance)
        config.diagnostics = [places.diagnostic(d) for d in config.diagnostics]
        config.pipeline_file = pipeline_file
        files = [places.real(str(f)) for f in config.files]
        config.files = files
        diagnostics = [places.diagnostic(d) for d in (reports[0].diagnostics if reports else [])]
    return Loaded(config, places, files, diagnostics)


@contextmanager
def scratch_copy(root: Path, texts: Mapping[Path, str]) -> Iterator[Path]:
    """A copy of the project at ``root`` in which the files of ``texts`` (inside ``root``) hold that text.

    The folders on the way to them are real folders holding copies of their YAML files; anything
    else is a symbolic link to the real file or folder. Removed when the block ends.
    """
    scratch = Path(tempfile.mkdtemp(prefix="etl-studio-"))
    try:
        wanted = {path.resolve(): text for path, text in texts.items()}
        real_root = root.resolve()
        folders = {real_root} | {
            parent for path in wanted for parent in path.parents if parent.is_relative_to(real_root)
        }
        _copy_folder(real_root, scratch, folders, wanted)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _copy_folder(source: Path, target: Path, folders: set[Path], texts: Mapping[Path, str]) -> None:
    target.mkdir(exist_ok=True)
    for entry in source.iterdir():
        real = entry.resolve()
        if entry.is_dir() and not entry.is_symlink() and real in folders:
            _copy_folder(real, target / entry.name, folders, texts)
        elif real in texts:
            (target / entry.name).write_text(texts[real], encoding="utf-8")
        elif entry.is_file() and entry.suffix in _YAML_SUFFIXES:
            shutil.copyfile(real, target / entry.name)
        else:
            (target / entry.name).symlink_to(real)
