"""Staging tables of the JDBC sink, named after the run that made them, so that those of dead runs can go.

A staging table is named ``etl_stg_<owner>_<run>_<write>_<target>``:

- ``owner``: 8 hex digits of the SHA-256 of the pipeline's name and environment (what the run
  lock is taken for, :mod:`etl_cli.runtime.bookkeeping.lock`);
- ``run``: 12 hex digits of the SHA-256 of the run id;
- ``write``: 6 hex digits telling apart the writes of one run (its sinks, micro-batches, retries);
- ``target``: the target table's name in lower-case letters, digits and ``_``, cut so that the
  whole name has at most 63 characters (PostgreSQL's limit; MySQL and MariaDB allow 64).

Digests rather than the names themselves: they have a fixed length, use only characters that
every database keeps as they are, in any case setting, and compare exactly.

A run killed by SIGKILL, or whose machine died, cannot drop its staging table (on
PostgreSQL an UNLOGGED table, which survives the connection). Such a table belongs to a dead
run: its owner is the pipeline and environment, and its run is not the one holding their
lock. :func:`drop_stale_staging` lists one owner's staging tables in one schema and drops
those of runs not live; :meth:`~etl_cli.plugins.sinks.jdbc.JdbcSink.recover` calls it, at the
start of every run (which holds the lock, so every other run of the pipeline and environment
is dead) and from ``etl-cli recover``. Runs of one pipeline and environment from two state
folders (two machines) against one database are not told apart, as their locks are not either.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from etl_cli.plugins.jdbc.catalog import Catalog
from etl_cli.plugins.jdbc.connection import JdbcConnection

STAGING_PREFIX = "etl_stg_"
#: PostgreSQL's limit (63 bytes); MySQL and MariaDB allow 64 characters
MAX_NAME = 63
_SHAPE = re.compile(r"etl_stg_([0-9a-f]{8})_([0-9a-f]{12})_([0-9a-f]{6})(?:_([a-z0-9_]*))?")


@dataclass(frozen=True)
class StagingName:
    """The parts of a staging table's name (module doc)."""

    owner: str
    run: str
    write: str
    target: str = ""

    @classmethod
    def parse(cls, name: str) -> StagingName | None:
        """The parts of ``name``; None when it is not the name of a staging table."""
        match = _SHAPE.fullmatch(name)
        if match is None:
            return None
        owner, run, write, target = match.groups()
        return cls(owner, run, write, target or "")

    def __str__(self) -> str:
        head = f"{STAGING_PREFIX}{self.owner}_{self.run}_{self.write}"
        return f"{head}_{self.target}"[:MAX_NAME] if self.target else head


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def owner_tag(pipeline: str | None, env: str | None) -> str:
    """The tag of a pipeline in an environment (None: no pipeline, or the default environment)."""
    return _digest(f"{pipeline or ''}\0{env or ''}", 8)


def run_tag(run_id: str) -> str:
    return _digest(run_id, 12)


def staging_name(pipeline: str | None, env: str | None, run_id: str, write: str, target: str) -> str:
    """The staging table of write ``write`` (unique within the run) of run ``run_id`` into table ``target``."""
    base = re.sub(r"[^a-z0-9_]+", "_", target.lower()).strip("_")
    return str(StagingName(owner_tag(pipeline, env), run_tag(run_id), _digest(write, 6), base))


def stale_staging(names: Iterable[str], owner: str, live_run_ids: Collection[str]) -> list[str]:
    """The names among ``names`` of staging tables of ``owner`` made by runs not in ``live_run_ids``."""
    live = {run_tag(run_id) for run_id in live_run_ids}
    stale = []
    for name in names:
        parsed = StagingName.parse(name)
        if parsed is not None and parsed.owner == owner and parsed.run not in live:
            stale.append(name)
    return stale


def drop_stale_staging(
    conn: JdbcConnection, namespace: str | None, owner: str, live_run_ids: Collection[str]
) -> list[str]:
    """Drop the staging tables in ``namespace`` that ``owner``'s runs not in ``live_run_ids`` left behind;
    say which, one line each."""
    dialect = conn.settings.dialect
    names = Catalog(conn, dialect).table_names(namespace, f"{STAGING_PREFIX}{owner}_")
    dropped = []
    for name in stale_staging(names, owner, live_run_ids):
        conn.execute(dialect.drop(dialect.qualified(namespace, name)))
        table = f"{namespace}.{name}" if namespace else name
        dropped.append(f"{table}: dropped the staging table of a dead run")
    return dropped
