"""The driver JVM's class archive: one writer at a time, published only once finished, used after."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from etl_cli.runtime.spark.class_sharing import ClassArchive, class_archive

FINISHED = bytes.fromhex("a8ab0bf0") + b"rest of the archive"


def _ended_pid() -> int:
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(process.stdout)


def test_the_first_session_writes_the_archive_when_its_jvm_exits(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path / "cds" / "spark.jsa")

    options = archive.java_options()

    assert options.startswith(f"-XX:ArchiveClassesAtExit={archive.partial} ")
    assert archive.claim.is_file()


def test_a_second_session_neither_writes_nor_uses_while_the_writer_runs(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path / "spark.jsa")
    archive.java_options()
    archive.writer_started(os.getpid())

    assert archive.java_options() == ""


def test_a_finished_archive_is_moved_into_place_and_used_once_its_writer_ended(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path / "spark.jsa")
    archive.java_options()
    archive.writer_started(_ended_pid())
    archive.partial.write_bytes(FINISHED)

    options = archive.java_options()

    assert options.startswith(f"-XX:SharedArchiveFile={archive.path} ")
    assert archive.path.read_bytes() == FINISHED
    assert not archive.claim.exists() and not archive.partial.exists()


def test_an_archive_left_half_written_is_discarded_and_written_again(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path / "spark.jsa")
    archive.java_options()
    archive.writer_started(_ended_pid())
    archive.partial.write_bytes(b"\0" * 64)

    options = archive.java_options()

    assert not archive.path.exists()
    assert options.startswith("-XX:ArchiveClassesAtExit=")


def test_class_sharing_can_be_turned_off(tmp_path: Path) -> None:
    environ = {"ETL_CLASS_SHARING": "off", "ETL_CACHE_DIR": str(tmp_path)}

    assert class_archive(Path(sys.executable), {}, environ) is None


def test_another_driver_classpath_gets_another_archive(tmp_path: Path) -> None:
    environ = {"ETL_CACHE_DIR": str(tmp_path)}
    plain = class_archive(Path(sys.executable), {}, environ)
    extended = class_archive(Path(sys.executable), {"spark.driver.extraClassPath": "/opt/extra.jar"}, environ)

    assert plain is not None and extended is not None
    assert plain.path.parent == tmp_path / "cds"
    assert plain.path != extended.path
