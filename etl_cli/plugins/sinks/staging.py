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

Every rename is planned before the first and written ahead to the publish's journal
(:mod:`.journal`), so a process killed half-way is rolled back by the next run of the
pipeline; an overwrite checks just before its first rename that the target is still
etl-cli's (:mod:`.targets`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl_cli import tracing
from etl_cli.errors import ConfigError, Location, RunError
from etl_cli.plugins.api import PendingWrite
from etl_cli.plugins.s3 import bucket_of, is_s3a
from etl_cli.plugins.sinks.filetree import FileTree, LocalFiles
from etl_cli.plugins.sinks.journal import PublishJournal
from etl_cli.plugins.sinks.targets import foreign_target_message, local_path
from etl_cli.plugins.spark_session import is_connect

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class HadoopFileSystem(FileTree):
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

    def is_dir(self, uri: str) -> bool:
        return self.exists(uri) and bool(self._fs.getFileStatus(self._path(uri)).isDirectory())

    def delete(self, uri: str) -> None:
        self._fs.delete(self._path(uri), True)

    def listing(self, uri: str) -> list[tuple[str, bool]]:
        return [(str(s.getPath().getName()), bool(s.isDirectory())) for s in self._fs.listStatus(self._path(uri))]

    def write_text(self, uri: str, text: str) -> None:
        stream = self._fs.create(self._path(uri), True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def _make_folders(self, uri: str) -> None:
        self._fs.mkdirs(self._path(uri))

    def _move(self, source: str, destination: str) -> bool:
        return bool(self._fs.rename(self._path(source), self._path(destination)))


def file_tree(spark: SparkSession, uri: str) -> FileTree:
    """The file system of ``uri`` as this session reaches it: Hadoop's in its JVM, or over Spark Connect the local disk.

    A Spark Connect session has no JVM in this process: etl-cli then publishes local paths itself,
    which requires the server to see the same disk (a Connect server on this machine: the warm engine).
    """
    if not is_connect(spark):
        return HadoopFileSystem(spark, uri)
    if local_path(uri) is None:
        raise RunError(
            f"cannot publish {uri} over Spark Connect: etl-cli stages and publishes outputs through the "
            "Spark driver's file system, which only an in-process session reaches for this scheme",
            hint="run this pipeline with --master (an in-process session), or write to a local path",
        )
    return LocalFiles()


@dataclass(frozen=True)
class StagingLayout:
    """Where one sink's target, its staged data and the data it replaces live."""

    target: str
    staging: str
    replaced: str

    @classmethod
    def next_to(cls, fs: FileTree, target: str, run_id: str) -> StagingLayout:
        target = fs.normalize(target)
        parent, name = fs.parent(target), fs.name(target)
        return cls(
            target=target,
            staging=fs.child(parent, f".{name}.etl-staging-{run_id}"),
            replaced=fs.child(parent, f".{name}.etl-replaced-{run_id}"),
        )


def write_to_staging(
    fs: FileTree, layout: StagingLayout, write: Callable[[str], int], journal: PublishJournal | None = None
) -> int:
    """Run ``write`` into the staging folder; if it fails, remove what it left there (and the journal)."""
    try:
        return write(layout.staging)
    except BaseException:
        fs.delete(layout.staging)
        if journal is not None:
            journal.close()
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
        s3 = is_s3a(self.target)
        attributes = {"etl.target": self.target, "etl.mode": self.mode}
        with tracing.span("s3.commit" if s3 else "sink.commit", **attributes) as span:
            span.set("s3.bucket", bucket_of(self.target) if s3 else None)
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


@dataclass(frozen=True)
class Ownership:
    """What an overwrite may replace: only a target etl-cli wrote, unless the sink allows foreign content."""

    replace_foreign: bool = False
    #: the sink in the pipeline, for the error when the target holds foreign files
    location: Location | None = None


class StagedFiles(OneShotWrite):
    """Spark's complete output in the staging folder, published by :meth:`commit` as the mode says.

    With a journal, every step is written ahead (see :mod:`.journal`), so a process killed at any
    instant is rolled back by the next run; without one (a caller that holds no run lock), a
    failure half-way is still undone, in this process.
    """

    def __init__(
        self,
        fs: FileTree,
        layout: StagingLayout,
        mode: str,
        partition_depth: int,
        rows: int,
        journal: PublishJournal | None = None,
        ownership: Ownership = Ownership(),
    ):
        super().__init__(layout.target, mode)
        self.fs = fs
        self.layout = layout
        self.partition_depth = partition_depth
        self.rows = rows
        self.journal = journal
        self.ownership = ownership

    def _publish(self) -> None:
        exists = self.fs.exists(self.layout.target)
        if self.mode in ("error", "ignore") and exists:
            self._target_appeared()
        else:
            if self.mode == "overwrite" and exists:
                self._refuse_foreign()
            moves = self._plan(exists)
            self._journal("committing", moves)
            self._move(moves)
            self._journal("committed")
            self._remove(self.layout.replaced)
        self._remove(self.layout.staging)
        if self.journal is not None and "left_behind" not in self.details:
            self.journal.close()  # last: a folder left behind stays in the journal, for recovery to remove

    def _discard(self) -> None:
        self.fs.delete(self.layout.staging)
        self.fs.delete(self.layout.replaced)
        if self.journal is not None:
            self.journal.close()

    def _journal(self, phase: str, moves: list[tuple[str, str]] | None = None) -> None:
        if self.journal is not None:
            self.journal.write(phase, moves)

    def _target_appeared(self) -> None:
        """Another writer created the target since this run checked it."""
        if self.mode == "error":
            raise RunError(f"{self.layout.target} appeared while this run was writing (mode error)")
        self.rows = None
        self.details["skipped"] = "target exists"

    def _refuse_foreign(self) -> None:
        """Checked again just before the first rename: the target may have changed since the sink staged."""
        if not self.ownership.replace_foreign and self.fs.holds_foreign(self.layout.target):
            message, hint = foreign_target_message(self.layout.target)
            raise ConfigError(message, location=self.ownership.location, hint=hint)

    def _plan(self, target_exists: bool) -> list[tuple[str, str]]:
        """Every rename of this publish, in order (written to the journal before the first)."""
        layout = self.layout
        if not target_exists:
            return [(layout.staging, layout.target)]
        if self.mode == "append":
            return self._append_moves()
        if self.partition_depth:
            return self._partition_moves()
        return [(layout.target, layout.replaced), (layout.staging, layout.target)]

    def _partition_moves(self) -> list[tuple[str, str]]:
        """Dynamic partition overwrite: swap only the partitions present in the new data."""
        moves = []
        partitions = list(self.fs.folders_at_depth(self.layout.staging, self.partition_depth))
        for partition in partitions:
            current = self.fs.child(self.layout.target, partition)
            if self.fs.exists(current):
                moves.append((current, self.fs.child(self.layout.replaced, partition)))
            moves.append((self.fs.child(self.layout.staging, partition), current))
        self.details["partitions_replaced"] = len(partitions)
        return moves

    def _append_moves(self) -> list[tuple[str, str]]:
        """Move each staged data file into the target; Spark's part-file names are unique per job."""
        files = list(self.fs.files_under(self.layout.staging))
        self.details["files_added"] = len(files)
        return [(self.fs.child(self.layout.staging, f), self.fs.child(self.layout.target, f)) for f in files]

    def _move(self, moves: list[tuple[str, str]]) -> None:
        """Run the renames; on a failure, undo those done, newest first, and re-raise."""
        done: list[tuple[str, str]] = []
        try:
            for source, destination in moves:
                self.fs.rename(source, destination)
                done.append((source, destination))
        except BaseException as exc:
            stranded = self._undo(done)
            if stranded:
                self.state = "stranded"  # abort must not delete the staging folder recovery may still need
                raise RunError(
                    f"publishing {self.layout.target} failed and could not be undone: {exc}",
                    hint=self._stranded_hint(stranded),
                ) from exc
            self._remove(self.layout.replaced)
            raise

    def _undo(self, done: list[tuple[str, str]]) -> list[str]:
        """Move back everything moved; return the moves that could not be undone (empty when all were)."""
        stranded = []
        for source, destination in reversed(done):
            try:
                self.fs.rename(destination, source)
            except Exception:  # keep undoing the others, then report every one left behind
                stranded.append(f"{destination} (belongs at {source})")
        return stranded

    def _stranded_hint(self, stranded: list[str]) -> str:
        by_hand = "move back by hand: " + "; ".join(stranded)
        if self.journal is None:
            return by_hand
        return f"'etl-cli recover' retries from the journal {self.journal.path}, or {by_hand}"

    def _remove(self, uri: str) -> None:
        # Only called once the outcome is settled (published, or put back): a leftover folder of
        # ours is worth reporting, not worth failing the run over or hiding the real error behind.
        try:
            self.fs.delete(uri)
        except Exception:
            self.details.setdefault("left_behind", []).append(uri)
