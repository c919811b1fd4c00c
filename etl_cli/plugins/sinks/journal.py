"""The write-ahead journal of a file sink's publish, and how recovery puts a killed publish right.

A file sink publishes by renames (:mod:`.staging`): the new data goes from a hidden staging
folder into the target, and what it replaces goes aside into a hidden ``replaced`` folder first.
A process killed between two renames (SIGKILL, a crash, a lost machine) would leave a mix of old
and new data, so each publish keeps a journal: one JSON file per run and sink,
``<journal dir>/<run_id>.<sink>.json``, written to a temporary file, flushed to disk and renamed
into place, in three phases:

- ``staging``: written before Spark starts writing the staging folder; the target is untouched.
- ``committing``: every planned move (source → destination, in order), written before the first.
- ``committed``: every move is done; the replaced and staging folders are left to delete.

The journal is deleted last, once those folders are gone. Recovery (the next run of the pipeline,
holding its lock, or ``etl-cli recover``) reads each journal a dead run left:

- ``staging``: deletes the staging folder: nothing was published.
- ``committing``: **rolls back**: undoes the moves that happened, newest first, so the target is
  exactly as it was before the run, then deletes the staging and replaced folders. Back, not
  forward: the killed run never saved what comes after its sinks (incremental watermarks, dead
  letters, run results), so its next run reads the same rows again and writes them once.
- ``committed``: finishes: deletes the replaced and staging folders.

Which moves happened is read from the filesystem, not recorded one by one: the moves run one at
a time and each is one rename, so the moves done are the first *k*, and move *k* is the last one
whose source is gone and whose destination exists (a later move can bring back an earlier
move's source, never its own). Undoing is idempotent: a recovery killed half-way resumes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl_cli.errors import RunError
from etl_cli.plugins.sinks.filetree import FileTree

JOURNAL_VERSION = 1
PHASES = ("staging", "committing", "committed")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass
class PublishRecord:
    """What a journal file holds: one sink's publish in one run."""

    run_id: str
    sink: str
    target: str
    staging: str
    replaced: str
    mode: str
    phase: str = "staging"
    moves: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["moves"] = [list(move) for move in self.moves]
        return {"version": JOURNAL_VERSION, **data, "updated_at": datetime.now(UTC).isoformat(timespec="seconds")}

    @classmethod
    def from_json(cls, data: Any) -> PublishRecord:
        if not isinstance(data, dict) or data.get("version") != JOURNAL_VERSION or data.get("phase") not in PHASES:
            raise ValueError("not a publish journal of this etl-cli version")
        fields = {key: data[key] for key in ("run_id", "sink", "target", "staging", "replaced", "mode", "phase")}
        moves = [(str(source), str(destination)) for source, destination in data.get("moves") or []]
        return cls(**{key: str(value) for key, value in fields.items()}, moves=moves)


class PublishJournal:
    """The journal file of one publish; every write is durable before it returns."""

    def __init__(self, folder: Path, record: PublishRecord):
        self.record = record
        self.path = folder / f"{_UNSAFE_NAME.sub('_', record.run_id)}.{_UNSAFE_NAME.sub('_', record.sink)}.json"

    @classmethod
    def begin(cls, folder: Path, record: PublishRecord) -> PublishJournal:
        """Write the ``staging`` phase (before anything is written to the staging folder)."""
        journal = cls(folder, record)
        journal.write("staging")
        return journal

    def write(self, phase: str, moves: Sequence[tuple[str, str]] | None = None) -> None:
        self.record.phase = phase
        if moves is not None:
            self.record.moves = list(moves)
        write_durably(self.path, json.dumps(self.record.to_json(), indent=1) + "\n")

    def close(self) -> None:
        """The publish is settled and its folders are gone: forget it."""
        self.path.unlink(missing_ok=True)
        _sync_folder(self.path.parent)


def write_durably(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that after a crash it holds either the old or the new text, on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (the folder's own entry list is flushed)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_journal(path: Path) -> PublishRecord:
    try:
        return PublishRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunError(
            f"cannot read the publish journal {path}: {exc}",
            hint="it names a target, its staging and replaced folders and the moves between them; put the "
            "target right by hand from those, then delete the file",
        ) from exc


def recover_journals(folder: Path, live_run_id: str, files_for: Callable[[str], FileTree]) -> list[str]:
    """Recover every publish that a run other than ``live_run_id`` left in ``folder``; say what was done.

    Call it only while holding the pipeline's run lock: then every other run is dead. Journals are
    recovered oldest run first (run ids start with their start time); one that cannot be recovered
    stays, and a RunError names it after the others were tried.
    """
    if not folder.is_dir():
        return []
    done, failed = [], []
    for leftover in sorted(folder.glob(".*.json.tmp")):
        leftover.unlink(missing_ok=True)  # a journal write killed before its rename: never in effect
    for path in sorted(folder.glob("*.json")):
        try:
            record = read_journal(path)
            if record.run_id == live_run_id or record.run_id.startswith(f"{live_run_id}-b"):
                continue  # this run's own publishes (a streaming run's micro-batches are <run_id>-b<N>)
            done.append(recover_publish(record, files_for(record.target)))
        except Exception as exc:  # report every journal that could not be recovered, not only the first
            failed.append(f"{path}: {exc}")
            continue
        path.unlink()
    if failed:
        raise RunError(
            "could not recover the publish of a dead run: " + "; ".join(failed),
            hint="each journal lists the target, its staging and replaced folders and the moves between them; "
            "fix what the message names, then run 'etl-cli recover' again",
        )
    if done:
        _sync_folder(folder)
    return done


def recover_publish(record: PublishRecord, files: FileTree) -> str:
    """Put the target of ``record`` back in a whole state (see the module docstring); say what was done."""
    _check_ours(record)
    if record.phase == "committing":
        undone = _roll_back(record.moves, files)
        outcome = f"rolled back ({undone} of {len(record.moves)} moves undone): the data before that run is in place"
    elif record.phase == "committed":
        outcome = "finished: the new data was already in place; its leftover folders are removed"
    else:
        outcome = "discarded its unpublished staging folder; the target was not touched"
    for folder in (record.replaced, record.staging):
        files.delete(folder)
    return f"{record.target}: publish by run {record.run_id} (sink '{record.sink}') {outcome}"


def _check_ours(record: PublishRecord) -> None:
    """Recovery deletes the staging and replaced folders a journal names: make sure they are ours."""
    for folder, kind in ((record.staging, "staging"), (record.replaced, "replaced")):
        if not folder.rstrip("/").endswith(f".etl-{kind}-{record.run_id}"):
            raise RunError(
                f"the journal of run {record.run_id} names {folder} as its {kind} folder, which etl-cli never does"
            )


def _roll_back(moves: Sequence[tuple[str, str]], files: FileTree) -> int:
    """Undo the moves that happened, newest first; return how many there were."""
    done = moves_done(moves, files)
    for source, destination in reversed(moves[:done]):
        files.rename(destination, source)
    return done


def moves_done(moves: Sequence[tuple[str, str]], files: FileTree) -> int:
    """How many of ``moves`` (run in order, each one rename) happened: the last one done has no source left."""
    for index in range(len(moves) - 1, -1, -1):
        source, destination = moves[index]
        if files.exists(destination) and not files.exists(source):
            return index + 1
    return 0
