"""JVM packages: local jars when a folder holds them, Maven coordinates for Spark to resolve otherwise.

Connectors declare Maven coordinates (``group:artifact:version``). Before asking Spark
to resolve one (``spark.jars.packages``, which downloads from Maven Central through
Ivy), the runtime looks for its jars, in order, in

1. ``$ETL_JARS_DIR``, and
2. ``${ETL_CACHE_DIR:-~/.cache/etl-cli}/jars``, the cache ``scripts/fetch-jars.sh`` fills.

In each folder a coordinate is found as a sub-folder ``<group>__<artifact>__<version>/``
(the layout of ``fetch-jars.sh``: the artifact and its runtime dependencies; every jar
in it is used) or as a single jar ``<artifact>-<version>.jar``. A coordinate whose jar
another coordinate's folder already brought (the AWS SDK bundle inside hadoop-aws's)
needs nothing more. Found jars go on ``spark.jars``; the rest stay coordinates.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ResolvedJars:
    """Coordinates split into local jar files and the coordinates Spark must still resolve."""

    jars: tuple[str, ...]
    packages: tuple[str, ...]


@dataclass(frozen=True)
class JarFolder:
    """A folder searched for jars; the fetch-jars cache counts a sub-folder only once its fetch completed."""

    path: Path
    needs_complete_marker: bool


def jar_folders(environ: Mapping[str, str] | None = None) -> list[JarFolder]:
    """The folders searched for jars, in order (those that exist)."""
    env = os.environ if environ is None else environ
    folders = []
    if env.get("ETL_JARS_DIR"):
        folders.append(JarFolder(Path(env["ETL_JARS_DIR"]).expanduser(), needs_complete_marker=False))
    cache = Path(env.get("ETL_CACHE_DIR") or Path.home() / ".cache" / "etl-cli").expanduser()
    folders.append(JarFolder(cache / "jars", needs_complete_marker=True))
    return [f for f in folders if f.path.is_dir()]


def resolve_local_jars(coordinates: Iterable[str], environ: Mapping[str, str] | None = None) -> ResolvedJars:
    """Split ``coordinates`` into jars found locally and coordinates left for Spark's resolver."""
    folders = jar_folders(environ)
    jars: list[Path] = []
    missing: list[str] = []
    for coordinate in dict.fromkeys(coordinates):
        parts = coordinate.split(":")
        if len(parts) != 3:
            missing.append(coordinate)
            continue
        if _jar_name(parts) in {jar.name for jar in jars}:
            continue
        found = _find(parts, folders)
        if found:
            # a dependency two packages share (hadoop-aws and hadoop-azure both bring wildfly-openssl) once: Spark
            # refuses a second jar of the same file name from another folder, logging an error
            names = {jar.name for jar in jars}
            jars.extend(j for j in found if j.name not in names)
        else:
            missing.append(coordinate)
    return ResolvedJars(tuple(str(j) for j in jars), tuple(missing))


def _jar_name(parts: list[str]) -> str:
    return f"{parts[1]}-{parts[2]}.jar"


def _find(parts: list[str], folders: list[JarFolder]) -> list[Path]:
    group, artifact, version = parts
    for folder in folders:
        fetched = folder.path / f"{group}__{artifact}__{version}"
        complete = not folder.needs_complete_marker or (fetched / ".complete").is_file()
        jars = sorted(fetched.glob("*.jar")) if fetched.is_dir() and complete else []
        if jars:
            return jars
        single = folder.path / _jar_name(parts)
        if single.is_file():
            return [single]
    return []
