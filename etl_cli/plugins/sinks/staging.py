"""Atomic publishing of file outputs: Spark writes into a hidden staging directory next to
the target, and only a commit makes the data visible, by renames.

For a target ``<parent>/<name>`` and a run ``<run_id>``:

- ``<parent>/.<name>.etl-staging-<run_id>`` holds the new data, written completely by Spark;
- ``<parent>/.<name>.etl-replaced-<run_id>`` holds the data being replaced while it is swapped.

Both names start with a dot, so Spark and Hive readers of ``<parent>`` skip them. A failed
Spark job never touches the target; a failed swap puts back what it had moved. Renames go
through the target's Hadoop FileSystem (file:, hdfs:, s3a:...). On local disks and HDFS a
directory rename is atomic, but replacing a folder takes two renames (old aside, new in), so
a reader listing the target at that instant may miss the folder being swapped; on object
stores a rename is a copy, which widens that window. No reader ever sees the output of a
failed job or half of a folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl_cli.errors import RunError
from etl_cli.plugins.api import PendingWrite

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def is_hidden(name: str) -> bool:
    """Spark's rule for files that are not data: _SUCCESS, _temporary, .crc checksums, our staging dirs."""
    return name.startswith(("_", "."))


class HadoopFileSystem:
    """The Hadoop FileSystem of one path, through the session's JVM, so every Hadoop scheme works alike."""

    def __init__(self, spark: SparkSession, uri: str):
        jvm = spark._jvm
        assert jvm is not None, "file sinks need a classic (non-Connect) Spark session"
        self._path_class = jvm.org.apache.hadoop.fs.Path
        self._fs = self._path(uri).getFileSystem(spark._jsc.hadoopConfiguration())

    def _path(self, uri: str) -> Any:
        return self._path_class(uri)

    def normalize(self, uri: str) -> str:
        return str(self._path(uri).toString())

    def parent(self, uri: str) -> str:
        parent = self._path(uri).getParent()
        if parent is None:
            raise RunError(f"cannot write to {uri}: a target needs a parent folder to stage next to")
        return str(parent.toString())

    def name(self, uri: str) -> str:
        return str(self._path(uri).getName())

    def child(self, uri: str, relative: str) -> str:
        return str(self._path_class(self._path(uri), relative).toString())

    def exists(self, uri: str) -> bool:
        return bool(self._fs.exists(self._path(uri)))

    def delete(self, uri: str) -> None:
        self._fs.delete(self._path(uri), True)

    def entries(self, uri: str) -> list[tuple[str, bool]]:
        """(name, is a directory) of each entry of folder ``uri`` that is data, not hidden."""
        statuses = self._fs.listStatus(self._path(uri))
        found = [(str(s.getPath().getName()), bool(s.isDirectory())) for s in statuses]
        return sorted(entry for entry in found if not is_hidden(entry[0]))

    def rename(self, source: str, destination: str) -> None:
        """Move ``source`` to ``destination``, which must not exist (renaming onto a folder would nest)."""
        if self.exists(destination):
            raise RunError(f"cannot move {source} to {destination}: the destination exists")
        self._fs.mkdirs(self._path(self.parent(destination)))
        if not self._fs.rename(self._path(source), self._path(destination)):
            raise RunError(f"could not move {source} to {destination}")

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


@dataclass(frozen=True)
class StagingLayout:
    """Where one sink's target, its staged data and the data it replaces live."""

    target: str
    staging: str
    replaced: str

    @classmethod
    def next_to(cls, fs: HadoopFileSystem, target: str, run_id: str) -> StagingLayout:
        target = fs.normalize(target)
        parent, name = fs.parent(target), fs.name(target)
        return cls(
            target=target,
            staging=fs.child(parent, f".{name}.etl-staging-{run_id}"),
            replaced=fs.child(parent, f".{name}.etl-replaced-{run_id}"),
        )


class RenameJournal:
    """The renames of one publish, so a failure half-way can undo them in reverse order."""

    def __init__(self, fs: HadoopFileSystem):
        self.fs = fs
        self.done: list[tuple[str, str]] = []

    def move(self, source: str, destination: str) -> None:
        self.fs.rename(source, destination)
        self.done.append((source, destination))

    def undo(self) -> list[str]:
        """Move everything back; return the moves that could not be undone (empty when all were)."""
        stranded = []
        for source, destination in reversed(self.done):
            try:
                self.fs.rename(destination, source)
            except Exception:  # keep undoing the others, then report every one left behind
                stranded.append(f"{destination} (belongs at {source})")
        return stranded


def write_to_staging(fs: HadoopFileSystem, layout: StagingLayout, write: Callable[[str], int]) -> int:
    """Run ``write`` into the staging folder; if it fails, remove what it left there."""
    try:
        return write(layout.staging)
    except BaseException:
        fs.delete(layout.staging)
        raise


class OneShotWrite(PendingWrite):
    """A pending write that is committed or aborted once; commit after abort is refused."""

    def __init__(self, target: str, mode: str):
        self.target = target
        self.mode = mode
        self.state = "pending"
        self.details: dict[str, Any] = {"target": target, "mode": mode}

    def commit(self) -> None:
        if self.state != "pending":
            raise RunError(f"cannot commit the write to {self.target}: it was already {self.state}")
        self._publish()
        self.state = "committed"

    def abort(self) -> None:
        # After a commit this does nothing: the executor aborts every pending write when a later
        # sink fails, and data already published must stay.
        if self.state == "pending":
            self._discard()
            self.state = "aborted"

    def _publish(self) -> None:
        raise NotImplementedError

    def _discard(self) -> None:
        raise NotImplementedError


class SkippedWrite(OneShotWrite):
    """Mode ``ignore`` on an existing target: nothing was written, nothing to publish."""

    def __init__(self, target: str):
        super().__init__(target, "ignore")
        self.details["skipped"] = "target exists"

    def _publish(self) -> None:
        """Nothing to publish."""

    def _discard(self) -> None:
        """Nothing was staged."""


class StagedFiles(OneShotWrite):
    """Spark's complete output in the staging folder, published by :meth:`commit` as the mode says."""

    def __init__(self, fs: HadoopFileSystem, layout: StagingLayout, mode: str, partition_depth: int, rows: int):
        super().__init__(layout.target, mode)
        self.fs = fs
        self.layout = layout
        self.partition_depth = partition_depth
        self.rows = rows

    def _publish(self) -> None:
        if self.mode in ("error", "ignore") and self.fs.exists(self.layout.target):
            self._target_appeared()
        elif not self.fs.exists(self.layout.target):
            self._guarded(lambda journal: journal.move(self.layout.staging, self.layout.target))
        elif self.mode == "append":
            self._guarded(self._append)
        elif self.partition_depth:
            self._guarded(self._replace_partitions)
        else:
            self._guarded(self._replace_all)
        self._remove(self.layout.staging)

    def _discard(self) -> None:
        self.fs.delete(self.layout.staging)

    def _target_appeared(self) -> None:
        """Another writer created the target since this run checked it."""
        if self.mode == "error":
            raise RunError(f"{self.layout.target} appeared while this run was writing (mode error)")
        self.rows = None
        self.details["skipped"] = "target exists"

    def _guarded(self, moves: Callable[[RenameJournal], None]) -> None:
        journal = RenameJournal(self.fs)
        try:
            moves(journal)
        except BaseException as exc:
            stranded = journal.undo()
            if stranded:
                raise RunError(
                    f"publishing {self.layout.target} failed and could not be undone: {exc}",
                    hint="move back by hand: " + "; ".join(stranded),
                ) from exc
            self._remove(self.layout.replaced)
            raise
        self._remove(self.layout.replaced)

    def _replace_all(self, journal: RenameJournal) -> None:
        journal.move(self.layout.target, self.layout.replaced)
        journal.move(self.layout.staging, self.layout.target)

    def _replace_partitions(self, journal: RenameJournal) -> None:
        """Dynamic partition overwrite: swap only the partitions present in the new data."""
        partitions = list(self.fs.folders_at_depth(self.layout.staging, self.partition_depth))
        for partition in partitions:
            current = self.fs.child(self.layout.target, partition)
            if self.fs.exists(current):
                journal.move(current, self.fs.child(self.layout.replaced, partition))
            journal.move(self.fs.child(self.layout.staging, partition), current)
        self.details["partitions_replaced"] = len(partitions)

    def _append(self, journal: RenameJournal) -> None:
        """Move each staged data file into the target; Spark's part-file names are unique per job."""
        files = list(self.fs.files_under(self.layout.staging))
        for relative in files:
            journal.move(self.fs.child(self.layout.staging, relative), self.fs.child(self.layout.target, relative))
        self.details["files_added"] = len(files)

    def _remove(self, uri: str) -> None:
        # Only called once the outcome is settled (published, or put back): a leftover folder of
        # ours is worth reporting, not worth failing the run over or hiding the real error behind.
        try:
            self.fs.delete(uri)
        except Exception:
            self.details.setdefault("left_behind", []).append(uri)
