"""The few filesystem operations publishing and recovery need, over Hadoop (any scheme) or the local disk.

A run publishes through :class:`~etl_cli.plugins.sinks.staging.HadoopFileSystem`, so ``s3a:``,
``hdfs:`` and ``file:`` targets behave alike. Recovery of a local target needs no JVM:
:class:`LocalFiles` does the same operations in Python, with Hadoop's local conventions (each
data file ``part-0`` may have a checksum ``.part-0.crc`` beside it, which moves and goes with it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

from etl_cli.errors import RunError
from etl_cli.plugins.sinks.targets import MARKER, local_path


def is_hidden(name: str) -> bool:
    """Spark's rule for files that are not data: _SUCCESS, _temporary, .crc checksums, our staging dirs."""
    return name.startswith(("_", "."))


class FileTree:
    """Operations on one filesystem's paths (URIs); subclasses provide the primitives."""

    def normalize(self, uri: str) -> str:
        raise NotImplementedError

    def parent(self, uri: str) -> str:
        raise NotImplementedError

    def name(self, uri: str) -> str:
        raise NotImplementedError

    def child(self, uri: str, relative: str) -> str:
        raise NotImplementedError

    def exists(self, uri: str) -> bool:
        raise NotImplementedError

    def is_dir(self, uri: str) -> bool:
        raise NotImplementedError

    def delete(self, uri: str) -> None:
        """Remove ``uri`` and everything below it (nothing when it does not exist)."""
        raise NotImplementedError

    def listing(self, uri: str) -> list[tuple[str, bool]]:
        """(name, is a directory) of every entry of folder ``uri``, hidden ones included."""
        raise NotImplementedError

    def write_text(self, uri: str, text: str) -> None:
        raise NotImplementedError

    def _move(self, source: str, destination: str) -> bool:
        """Rename ``source`` to ``destination`` (whose parent exists); False when the filesystem refused."""
        raise NotImplementedError

    def _make_folders(self, uri: str) -> None:
        raise NotImplementedError

    def entries(self, uri: str) -> list[tuple[str, bool]]:
        """(name, is a directory) of each entry of folder ``uri`` that is data, not hidden."""
        return sorted(entry for entry in self.listing(uri) if not is_hidden(entry[0]))

    def rename(self, source: str, destination: str) -> None:
        """Move ``source`` to ``destination``, which must not exist (renaming onto a folder would nest)."""
        if self.exists(destination):
            raise RunError(f"cannot move {source} to {destination}: the destination exists")
        self._make_folders(self.parent(destination))
        if not self._move(source, destination):
            raise RunError(f"could not move {source} to {destination}")

    def holds_foreign(self, uri: str) -> bool:
        """Whether ``uri`` holds something etl-cli did not write: a file, or a non-empty folder without MARKER."""
        if not self.exists(uri):
            return False
        if not self.is_dir(uri):
            return True
        if self.exists(self.child(uri, MARKER)):
            return False  # the usual case, without listing what may be thousands of partitions
        return bool(self.listing(uri))

    def files_under(self, uri: str, prefix: str = "") -> Iterator[str]:
        """Paths, relative to ``uri``, of every data file below it (hidden files and folders skipped)."""
        for name, is_dir in self.entries(self.child(uri, prefix) if prefix else uri):
            relative = f"{prefix}/{name}" if prefix else name
            if is_dir:
                yield from self.files_under(uri, relative)
            else:
                yield relative

    def folders_at_depth(self, uri: str, depth: int, prefix: str = "") -> Iterator[str]:
        """Relative paths of the folders ``depth`` levels below ``uri``: the partitions of a partitioned output."""
        if depth == 0:
            yield prefix
            return
        for name, is_dir in self.entries(self.child(uri, prefix) if prefix else uri):
            if is_dir:
                yield from self.folders_at_depth(uri, depth - 1, f"{prefix}/{name}" if prefix else name)


class LocalFiles(FileTree):
    """The local disk, in Python (no JVM): ``file:`` URIs and plain paths, answered as plain paths."""

    def normalize(self, uri: str) -> str:
        path = local_path(uri)
        if path is None:
            raise RunError(f"{uri} is not on the local disk")
        return os.path.normpath(os.path.abspath(path))

    def parent(self, uri: str) -> str:
        return os.path.dirname(self.normalize(uri))

    def name(self, uri: str) -> str:
        return os.path.basename(self.normalize(uri))

    def child(self, uri: str, relative: str) -> str:
        return os.path.join(self.normalize(uri), relative)

    def exists(self, uri: str) -> bool:
        return os.path.lexists(self.normalize(uri))

    def is_dir(self, uri: str) -> bool:
        return os.path.isdir(self.normalize(uri))

    def delete(self, uri: str) -> None:
        path = self.normalize(uri)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
            _checksum(path, os.unlink)

    def listing(self, uri: str) -> list[tuple[str, bool]]:
        with os.scandir(self.normalize(uri)) as found:
            return [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in found]

    def write_text(self, uri: str, text: str) -> None:
        with open(self.normalize(uri), "w", encoding="utf-8") as out:
            out.write(text)

    def _make_folders(self, uri: str) -> None:
        os.makedirs(self.normalize(uri), exist_ok=True)

    def _move(self, source: str, destination: str) -> bool:
        source, destination = self.normalize(source), self.normalize(destination)
        try:
            os.rename(source, destination)
        except OSError:
            return False
        _checksum(source, lambda crc: os.rename(crc, _crc_of(destination)))
        return True


def _crc_of(path: str) -> str:
    """Hadoop's checksum file of a local data file."""
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.crc")


def _checksum(path: str, action: Callable[[str], None]) -> None:
    """Apply ``action`` to the checksum file of ``path`` when it has one (Hadoop moves and deletes them together)."""
    crc = _crc_of(path)
    if os.path.isfile(crc):
        action(crc)
