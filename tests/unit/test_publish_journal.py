"""A file sink's publish killed at any step is recovered to exactly the old or exactly the new data.

No JVM here: the publish runs through :class:`LocalFiles` (the same steps a run takes through
Hadoop) in a forked child that SIGKILLs itself just before step N, for every N. Then recovery
runs and the target is compared file by file, bytes included, with the old and the new data
written by hand below. ``tests/spark/test_publish_journal.py`` kills real runs, JVM and all.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from etl_cli.errors import RunError
from etl_cli.plugins.sinks.filetree import LocalFiles
from etl_cli.plugins.sinks.journal import PublishJournal, PublishRecord, recover_journals
from etl_cli.plugins.sinks.staging import StagedFiles, StagingLayout
from etl_cli.plugins.sinks.targets import MARKER

RUN = "20260101T000000Z-dead0001"
OLD_DAYS = (1, 2, 3, 4, 5, 6)
NEW_DAYS = (4, 5, 6, 7, 8, 9)


def old_files(partitioned: bool) -> dict[str, bytes]:
    if partitioned:
        return {f"day={d}/part-0": f"old {d}".encode() for d in OLD_DAYS}
    return {"part-0": b"old a", "part-1": b"old b"}


def new_files(partitioned: bool) -> dict[str, bytes]:
    if partitioned:
        return {f"day={d}/part-1": f"new {d}".encode() for d in NEW_DAYS}
    return {"part-2": b"new c"}


#: what each publish leaves in the target when it completes (written by hand, not computed)
PUBLISHED = {
    "overwrite-partitioned": {
        **{f"day={d}/part-0": f"old {d}".encode() for d in (1, 2, 3)},
        **{f"day={d}/part-1": f"new {d}".encode() for d in NEW_DAYS},
    },
    "overwrite": {"part-2": b"new c"},
    "append": {"part-0": b"old a", "part-1": b"old b", "part-2": b"new c"},
    "new-target": {"part-2": b"new c"},
}
CASES = {  # case: (mode, partitioned, target exists before)
    "overwrite-partitioned": ("overwrite", True, True),
    "overwrite": ("overwrite", False, True),
    "append": ("append", False, True),
    "new-target": ("overwrite", False, False),
}


def put(folder: Path, files: dict[str, bytes], marker: bool = True) -> None:
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
        # Hadoop's local filesystem keeps a checksum beside each file; it must follow its file
        (folder / relative).with_name(f".{Path(relative).name}.crc").write_bytes(b"crc " + data)
    if marker:
        (folder / MARKER).write_text('{"writer": "etl-cli"}\n')


def data_files(folder: Path) -> dict[str, bytes]:
    """The data a reader sees: every file whose path has no part starting with '.' or '_'."""
    if not folder.exists():
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith((".", "_")) for part in relative.parts):
            found[str(relative)] = path.read_bytes()
    return found


def checksums_follow_their_files(folder: Path) -> bool:
    for path in folder.rglob("part-*"):
        if path.with_name(f".{path.name}.crc").read_bytes() != b"crc " + path.read_bytes():
            return False
    return True


class Steps:
    """Counts the steps of a publish (journal writes and filesystem changes); kills the process before one."""

    def __init__(self, kill_before: int | None):
        self.kill_before = kill_before
        self.count = 0

    def step(self) -> None:
        if self.count == self.kill_before:
            os.kill(os.getpid(), signal.SIGKILL)
        self.count += 1

    def wrap(self, monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> None:
        real = getattr(owner, name)

        def counted(*args: object, **kwargs: object) -> object:
            self.step()
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


def publish(root: Path, journal_dir: Path, case: str, steps: Steps) -> None:
    """One publish as a run does it: journal begun, Spark's output staged (one step), then committed."""
    mode, partitioned, _ = CASES[case]
    fs = LocalFiles()
    layout = StagingLayout.next_to(fs, str(root / "out"), RUN)
    record = PublishRecord(RUN, "out", layout.target, layout.staging, layout.replaced, mode)
    journal = PublishJournal.begin(journal_dir, record)
    steps.step()
    put(Path(layout.staging), new_files(partitioned))
    StagedFiles(fs, layout, mode, 1 if partitioned else 0, 1, journal).commit()


def in_child(action: Callable[[], None]) -> int:
    """Run ``action`` in a forked child; return the signal that ended it (0 when it finished)."""
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            action()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


def counted_publish(
    root: Path, journal_dir: Path, case: str, kill_before: int | None, monkeypatch: pytest.MonkeyPatch
) -> Steps:
    steps = Steps(kill_before)
    with monkeypatch.context() as patch:
        steps.wrap(patch, PublishJournal, "write")
        steps.wrap(patch, PublishJournal, "close")
        steps.wrap(patch, LocalFiles, "_move")
        steps.wrap(patch, LocalFiles, "delete")
        if kill_before is None:
            publish(root, journal_dir, case, steps)
        else:
            in_child(lambda: publish(root, journal_dir, case, steps))
    return steps


def fresh(tmp_path: Path, case: str, index: int) -> tuple[Path, Path]:
    root, journal_dir = tmp_path / f"{case}-{index}", tmp_path / f"{case}-{index}-journal"
    root.mkdir()
    if CASES[case][2]:
        put(root / "out", old_files(CASES[case][1]))
    return root, journal_dir


def recover(journal_dir: Path) -> list[str]:
    return recover_journals(journal_dir, "the-recovering-run", lambda uri: LocalFiles())


def leftovers(root: Path, journal_dir: Path) -> list[str]:
    found = [p.name for p in root.iterdir() if ".etl-" in p.name]
    return found + ([p.name for p in journal_dir.iterdir()] if journal_dir.exists() else [])


def step_count(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> int:
    root, journal_dir = fresh(tmp_path, case, 999)
    return counted_publish(root, journal_dir, case, None, monkeypatch).count


@pytest.mark.parametrize("case", list(CASES))
def test_a_publish_killed_before_any_step_is_recovered_to_the_old_or_the_new_data(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = step_count(tmp_path, case, monkeypatch)
    old = old_files(CASES[case][1]) if CASES[case][2] else {}
    outcomes = []
    for kill_before in range(total):
        root, journal_dir = fresh(tmp_path, case, kill_before)
        counted_publish(root, journal_dir, case, kill_before, monkeypatch)
        recover(journal_dir)
        found = data_files(root / "out")
        assert found in (old, PUBLISHED[case]), f"killed before step {kill_before}: {sorted(found)}"
        assert leftovers(root, journal_dir) == [], f"killed before step {kill_before}"
        assert checksums_follow_their_files(root / "out") if (root / "out").exists() else True
        outcomes.append("new" if found == PUBLISHED[case] and found != old else "old")
    # rolled back until the journal says every move is done, rolled forward after: 3 steps remain then
    # (delete the replaced folder, delete the staging folder, delete the journal)
    assert outcomes == ["old"] * (total - 3) + ["new"] * 3


def test_the_publish_steps_are_counted_as_the_journal_describes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # begin, stage, committing, 9 moves (days 4-6 aside and in, days 7-9 in), committed, 2 deletes, close
    assert step_count(tmp_path, "overwrite-partitioned", monkeypatch) == 16


def test_a_recovery_killed_half_way_resumes_and_still_restores_the_old_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = "overwrite-partitioned"
    kill_publish_before = 10  # begin, stage, committing, then 7 of the 9 moves are done
    for kill_recovery_before in range(8):
        root, journal_dir = fresh(tmp_path, case, kill_recovery_before)
        counted_publish(root, journal_dir, case, kill_publish_before, monkeypatch)
        steps = Steps(kill_recovery_before)
        with monkeypatch.context() as patch:
            steps.wrap(patch, LocalFiles, "_move")
            steps.wrap(patch, LocalFiles, "delete")
            in_child(lambda folder=journal_dir: print(recover(folder)))
        recover(journal_dir)
        assert data_files(root / "out") == old_files(True), f"recovery killed before step {kill_recovery_before}"
        assert leftovers(root, journal_dir) == []


def test_recovery_reports_what_it_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, journal_dir = fresh(tmp_path, "overwrite", 0)
    counted_publish(root, journal_dir, "overwrite", 4, monkeypatch)  # after the old data went aside
    (said,) = recover(journal_dir)
    assert said.startswith(f"{root / 'out'}: publish by run {RUN} (sink 'out') rolled back (1 of 2 moves undone)")


def test_a_killed_spark_write_leaves_a_staging_folder_that_recovery_deletes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, journal_dir = fresh(tmp_path, "overwrite", 0)
    before = data_files(root / "out")
    counted_publish(root, journal_dir, "overwrite", 2, monkeypatch)  # staged, the commit not begun
    assert [p.name for p in root.iterdir() if ".etl-staging-" in p.name] == [f".out.etl-staging-{RUN}"]
    (said,) = recover(journal_dir)
    assert "discarded its unpublished staging folder" in said
    assert data_files(root / "out") == before
    assert leftovers(root, journal_dir) == []


def test_nothing_to_recover_is_fine(tmp_path: Path) -> None:
    assert recover(tmp_path / "no-journal-yet") == []


def test_the_journals_of_the_live_run_and_its_micro_batches_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, journal_dir = fresh(tmp_path, "overwrite", 0)
    counted_publish(root, journal_dir, "overwrite", 4, monkeypatch)
    assert recover_journals(journal_dir, RUN, lambda uri: LocalFiles()) == []
    batch = journal_dir / f"{RUN}.out.json"
    batch.rename(journal_dir / f"{RUN}-b7.out.json")
    assert recover_journals(journal_dir, RUN, lambda uri: LocalFiles()) == []
    assert sorted(p.name for p in journal_dir.iterdir()) == [f"{RUN}-b7.out.json"]


def test_a_journal_write_killed_before_its_rename_is_ignored_and_removed(tmp_path: Path) -> None:
    journal_dir = tmp_path / "journal"
    journal_dir.mkdir()
    (journal_dir / f".{RUN}.out.json.tmp").write_text('{"half": ')
    assert recover(journal_dir) == []
    assert list(journal_dir.iterdir()) == []


def test_a_journal_naming_a_folder_etl_cli_would_not_create_deletes_nothing(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    put(precious, {"a.txt": b"keep me"}, marker=False)
    replaced = str(tmp_path / f".out.etl-replaced-{RUN}")
    record = PublishRecord(RUN, "out", str(tmp_path / "out"), str(precious), replaced, "overwrite")
    PublishJournal.begin(tmp_path / "journal", record)
    with pytest.raises(RunError, match="never does"):
        recover(tmp_path / "journal")
    assert data_files(precious) == {"a.txt": b"keep me"}
    assert [p.name for p in (tmp_path / "journal").iterdir()] == [f"{RUN}.out.json"]


def test_the_journal_is_plain_json_naming_every_move_before_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, journal_dir = fresh(tmp_path, "overwrite", 0)
    counted_publish(root, journal_dir, "overwrite", 3, monkeypatch)  # killed before the first move
    (journal,) = journal_dir.iterdir()
    record = json.loads(journal.read_text())
    target = str(root / "out")
    assert record["phase"] == "committing"
    assert record["moves"] == [
        [target, str(root / f".out.etl-replaced-{RUN}")],
        [str(root / f".out.etl-staging-{RUN}"), target],
    ]


def test_a_journal_that_cannot_be_read_is_kept_and_named_after_the_others_are_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, journal_dir = fresh(tmp_path, "overwrite", 0)
    counted_publish(root, journal_dir, "overwrite", 4, monkeypatch)
    (journal_dir / "0-garbled.out.json").write_text("{not json")
    with pytest.raises(RunError, match=r"0-garbled\.out\.json"):
        recover(journal_dir)
    assert data_files(root / "out") == old_files(False)
    assert [p.name for p in journal_dir.iterdir()] == ["0-garbled.out.json"]
