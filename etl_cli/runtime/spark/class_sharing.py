"""Class data sharing for the Spark driver JVM: start without loading and verifying Spark's classes anew.

Before its first DataFrame exists a Spark JVM loads some ten thousand classes from its
jars, on every start: about half of what a short command such as ``dry-run`` takes on two
cores. Java can write the classes a JVM loaded to an archive when it exits
(``-XX:ArchiveClassesAtExit``) and map that archive into later JVMs
(``-XX:SharedArchiveFile``). The first session started with a given Java and Spark
installation writes the archive; later ones start from it.

The archive lives in ``${ETL_CACHE_DIR:-~/.cache/etl-cli}/cds/``. One JVM at a time writes it,
to a temporary file: a claim file names that JVM, and the first session that finds the JVM
gone moves the file into place if it is complete (HotSpot writes the header last, so a JVM
killed while writing leaves a file without it). The JVM checks an archive before it uses
one (its header, the Java build, the jars it was made from) and starts without it when
anything differs, so a stale archive costs the speed-up, never a run. The JVM is not asked
to checksum the whole archive (``-XX:+VerifySharedSpaces``): that reads all of its 100 to
200 MB on every start, about 0.4 s. ``ETL_CLASS_SHARING=off`` turns class sharing off.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: how a finished dynamic archive starts (HotSpot's CDS_DYNAMIC_ARCHIVE_MAGIC, little-endian)
_DYNAMIC_MAGIC = bytes.fromhex("a8ab0bf0")
#: a claim without a JVM after this long belongs to a session that never started one
_CLAIM_TIMEOUT_S = 600
#: CDS logs each class it cannot archive (signed jars, old class files): noise in the JVM log
_QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"


@dataclass(frozen=True)
class ClassArchive:
    """The archive for one Java + Spark installation and driver classpath."""

    path: Path

    @property
    def claim(self) -> Path:
        return self.path.with_name(self.path.name + ".claim")

    @property
    def partial(self) -> Path:
        return self.path.with_name(self.path.name + ".partial")

    def java_options(self) -> str:
        """JVM options: use the archive, or write it at exit when no other JVM is writing it ('' for neither)."""
        self._publish_finished()
        if self.path.is_file():
            return f"-XX:SharedArchiveFile={self.path} {_QUIET}"
        if self._take_claim():
            return f"-XX:ArchiveClassesAtExit={self.partial} {_QUIET}"
        return ""

    def writer_started(self, pid: int) -> None:
        """Record the JVM (``pid``) that writes the archive when it exits."""
        self.claim.write_text(str(pid))

    def _take_claim(self) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except OSError:  # another session writes the archive, or the cache folder is not writable
            return False
        os.close(descriptor)
        self.partial.unlink(missing_ok=True)
        return True

    def _publish_finished(self) -> None:
        """Move a finished archive into place once the JVM that wrote it has ended."""
        try:
            text = self.claim.read_text().strip()
            age = time.time() - self.claim.stat().st_mtime
        except OSError:
            return
        writer = int(text) if text.isdigit() else None
        if (writer is not None and _alive(writer)) or (writer is None and age < _CLAIM_TIMEOUT_S):
            return
        try:
            with self.partial.open("rb") as archive:
                finished = archive.read(len(_DYNAMIC_MAGIC)) == _DYNAMIC_MAGIC
            if finished:
                os.replace(self.partial, self.path)
        except OSError:
            pass
        self.partial.unlink(missing_ok=True)
        self.claim.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def class_archive(
    java: Path, settings: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> ClassArchive | None:
    """The archive for JVMs started with ``java`` and Spark ``settings`` (None when turned off)."""
    env = os.environ if environ is None else environ
    if env.get("ETL_CLASS_SHARING", "").lower() in {"off", "0", "false", "no"}:
        return None
    from pyspark import __version__ as spark_version
    from pyspark.find_spark_home import _find_spark_home

    spark_home = Path(_find_spark_home())
    try:
        java_file = java.resolve().stat()
        jars = (spark_home / "jars").stat()
    except OSError:
        return None
    # anything that changes the classes or the classpath gives another archive
    identity = "|".join(
        [
            str(java.resolve()),
            f"{java_file.st_size}:{java_file.st_mtime_ns}",
            spark_version,
            str(spark_home),
            str(jars.st_mtime_ns),
            settings.get("spark.driver.extraClassPath", ""),
        ]
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    cache = Path(env.get("ETL_CACHE_DIR") or Path.home() / ".cache" / "etl-cli").expanduser()
    return ClassArchive(cache / "cds" / f"spark-{spark_version}-{digest}.jsa")
