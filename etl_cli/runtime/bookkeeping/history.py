"""The run history: every finished run, its stages and its checks, in one SQLite file per state dir.

``<state_dir>/history.sqlite`` answers "what ran, when, how did it go" across pipelines
without opening one results JSON file per run (``etl-cli runs``, the DAG page's last
status). The results JSON files stay the source of truth: the store is an index of them,
a run whose recording fails still succeeds (the failure is a warning in its results),
and runs from before the store existed are imported from their files once.

Several pipelines of a DAG run finish at the same moment in separate processes, so the
store runs in WAL mode with a busy timeout, and every write is one ``BEGIN IMMEDIATE``
transaction. The schema carries its version (``schema_version``); :data:`_MIGRATIONS`
lists the steps from each version to the next, run in order by whichever process opens
an older store first.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from etl_cli.config.project import HistorySettings
from etl_cli.errors import RunError
from etl_cli.runtime.bookkeeping.results import RunResults
from etl_cli.runtime.bookkeeping.results import results_dir as default_results_dir

HISTORY_FILE = "history.sqlite"
SCHEMA_VERSION = 1
#: how long a writer waits for another process's transaction before giving up (a warning, not a failure)
BUSY_TIMEOUT_S = 30.0
#: the environment of a run without one, as results folders name it
DEFAULT_ENV = "default"

_SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    run_id TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    env TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    duration_s REAL,
    master TEXT,
    error_type TEXT,
    error_message TEXT,
    error_stage TEXT,
    rows_written INTEGER,
    results_file TEXT,
    results_owned INTEGER NOT NULL DEFAULT 0,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (run_id, pipeline)
);
CREATE INDEX runs_by_start ON runs (started_at DESC);
CREATE INDEX runs_by_pipeline ON runs (pipeline, env, started_at DESC);
CREATE TABLE stages (
    run_id TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    rows_in INTEGER,
    rows_out INTEGER,
    duration_s REAL,
    error TEXT,
    PRIMARY KEY (run_id, pipeline, position),
    FOREIGN KEY (run_id, pipeline) REFERENCES runs (run_id, pipeline) ON DELETE CASCADE
);
CREATE TABLE checks (
    run_id TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    stage TEXT,
    type TEXT,
    outcome TEXT NOT NULL,
    rows_failed INTEGER,
    PRIMARY KEY (run_id, pipeline, position),
    FOREIGN KEY (run_id, pipeline) REFERENCES runs (run_id, pipeline) ON DELETE CASCADE
);
"""

#: ``_MIGRATIONS[v]`` takes a store from version ``v`` to ``v + 1`` (0: an empty file)
_MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1,)


_REMEDY = "if another process holds it, try again; if it is damaged, move it away: the next run starts a new one"


class HistoryError(RunError):
    """The store cannot be opened, read or written (corrupt, locked too long, newer than this etl-cli).

    A run only warns about it; ``etl-cli runs`` fails with it (exit 4).
    """


@dataclass(frozen=True)
class RunRow:
    """One run as the history keeps it."""

    run_id: str
    pipeline: str
    env: str
    status: str
    exit_code: int | None
    started_at: str
    duration_s: float | None
    ended_at: str | None = None
    master: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_stage: str | None = None
    #: rows the run's sinks wrote (the sum of the counts they reported; None when none did)
    rows_written: int | None = None
    results_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "env": self.env,
            "status": self.status,
            "exit_code": self.exit_code,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "master": self.master,
            "rows_written": self.rows_written,
            "results_file": self.results_file,
        }
        data["error"] = (
            {"type": self.error_type, "message": self.error_message, "stage": self.error_stage}
            if self.error_type or self.error_message
            else None
        )
        return data


@dataclass(frozen=True)
class StageRow:
    """How one stage of a recorded run ended."""

    name: str
    kind: str
    type: str
    status: str
    rows_in: int | None
    rows_out: int | None
    duration_s: float | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "type": self.type,
            "status": self.status,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "duration_s": self.duration_s,
            "error": self.error,
        }


@dataclass(frozen=True)
class CheckRow:
    """How one data-quality check of a recorded run went."""

    name: str
    stage: str | None
    type: str | None
    outcome: str
    rows_failed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stage": self.stage,
            "type": self.type,
            "outcome": self.outcome,
            "rows_failed": self.rows_failed,
        }


@dataclass(frozen=True)
class RunDetail:
    """A run with its stages (in plan order) and its checks."""

    run: RunRow
    stages: tuple[StageRow, ...]
    checks: tuple[CheckRow, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.run.to_json(),
            "stages": [s.to_json() for s in self.stages],
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True)
class Pruned:
    """What retention removed: the runs' rows, and the results files of theirs etl-cli had written."""

    runs: int
    files: tuple[Path, ...]


class History:
    """The run history of one state dir (``<state_dir>/history.sqlite``)."""

    def __init__(self, state_dir: Path, settings: HistorySettings | None = None):
        self.state_dir = state_dir
        self.path = state_dir / HISTORY_FILE
        self.settings = settings or HistorySettings()

    # --- writing -------------------------------------------------------------------------------------

    def record(self, results: RunResults, results_file: Path) -> Pruned:
        """Record a finished run (again: replaces the row of the same run), then apply the retention.

        Raises :class:`HistoryError` when the store cannot be written; the caller turns that
        into a warning, as the run itself went as its results say.
        """
        owned = _is_own_results_file(self.state_dir, results.pipeline, results.env, results.run_id, results_file)
        row = _row_of(results.to_json(), results_file, owned)
        with self._transaction() as db:
            _insert(db, row, replace=True)
            key = (results.run_id, results.pipeline)
            doomed = [d for d in _expired(db, self.settings, datetime.now(UTC)) if (d.run_id, d.pipeline) != key]
            _delete(db, doomed)
        return Pruned(len(doomed), tuple(_remove_files(doomed)))

    def import_results_once(self) -> int:
        """Import the runs whose results files are in the default results folders, the first time only.

        For runs that happened before the store existed. Rows already there are kept (by run
        id and pipeline). The import is one transaction: one that is interrupted leaves
        nothing, and the next read imports again. Returns how many runs were added.
        """
        with self._transaction() as db:
            if _meta(db, "imported_results_at") is not None:
                return 0
            added = 0
            for path in _results_files(self.state_dir):
                document = _read_results(path)
                if document is not None:
                    added += _insert(db, _row_of(document, path, owned=True), replace=False)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('imported_results_at', ?)",
                (datetime.now(UTC).isoformat(timespec="seconds"),),
            )
        return added

    # --- reading -------------------------------------------------------------------------------------

    def last_runs(self) -> dict[str, RunRow]:
        """The latest run of each pipeline (any environment), by pipeline name."""
        if not self.path.is_file():
            return {}
        sql = (
            f"SELECT {_RUN_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER"
            " (PARTITION BY pipeline ORDER BY started_at DESC, run_id DESC) AS newer FROM runs) WHERE newer = 1"
        )
        with self._reading() as db:
            return {row.pipeline: row for row in map(_run_row, db.execute(sql))}

    def runs(
        self,
        pipeline: str | None = None,
        env: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[RunRow]:
        """Recorded runs, newest first, optionally of one pipeline, environment or status."""
        if not self.path.is_file():
            return []
        where, params = _filters(pipeline=pipeline, env=env, status=status)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY started_at DESC, run_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._reading() as db:
            return [_run_row(r) for r in db.execute(sql, params)]

    def find(self, run_id: str, pipeline: str | None = None) -> list[RunRow]:
        """The runs with id ``run_id`` (one, unless several pipelines were given the same id)."""
        if not self.path.is_file():
            return []
        where, params = _filters(run_id=run_id, pipeline=pipeline)
        with self._reading() as db:
            rows = db.execute(f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY pipeline", params)
            return [_run_row(r) for r in rows]

    def find_prefix(self, prefix: str, pipeline: str | None = None) -> list[RunRow]:
        """The runs whose id starts with ``prefix``, newest first."""
        if not self.path.is_file() or not prefix:
            return []
        where, params = _filters(pipeline=pipeline)
        where += (" AND" if where else " WHERE") + " substr(run_id, 1, ?) = ?"
        sql = f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY started_at DESC, run_id DESC"
        with self._reading() as db:
            return [_run_row(r) for r in db.execute(sql, [*params, len(prefix), prefix])]

    def detail(self, run: RunRow) -> RunDetail:
        """``run`` with its stages and checks."""
        key = (run.run_id, run.pipeline)
        with self._reading() as db:
            stages = db.execute(
                "SELECT name, kind, type, status, rows_in, rows_out, duration_s, error FROM stages"
                " WHERE run_id = ? AND pipeline = ? ORDER BY position",
                key,
            ).fetchall()
            checks = db.execute(
                "SELECT name, stage, type, outcome, rows_failed FROM checks"
                " WHERE run_id = ? AND pipeline = ? ORDER BY position",
                key,
            ).fetchall()
        return RunDetail(run, tuple(StageRow(*s) for s in stages), tuple(CheckRow(*c) for c in checks))

    # --- the connection ------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``) so concurrent writers queue on the lock."""
        with self._connect(create=True) as db:
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(db)
                raise HistoryError(f"cannot write the run history {self.path}: {exc}", hint=_REMEDY) from exc
            except BaseException:
                _rollback(db)
                raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._connect(create=False) as db:
            try:
                yield db
            except sqlite3.Error as exc:
                raise HistoryError(f"cannot read the run history {self.path}: {exc}", hint=_REMEDY) from exc

    @contextmanager
    def _connect(self, create: bool) -> Iterator[sqlite3.Connection]:
        """A connection to a store at the current schema version (an older one is migrated first)."""
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open the run history {self.path}: {exc}", hint=_REMEDY) from exc
        with closing(db):
            try:
                db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                _use_wal(db)
                db.execute("PRAGMA foreign_keys = ON")
                _migrate(db, self.path)
            except sqlite3.Error as exc:
                raise HistoryError(f"cannot open the run history {self.path}: {exc}", hint=_REMEDY) from exc
            yield db


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the store in WAL mode (once: the mode is kept in the file), waiting for the other processes.

    Switching needs the file to itself, and SQLite answers "locked" at once rather than wait
    for a busy handler when another process is creating the store at the same moment.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


def _version(db: sqlite3.Connection) -> int:
    has_table = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if not has_table:
        return 0
    row = db.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the store to :data:`SCHEMA_VERSION` in one transaction (the first process to get the lock does it)."""
    if _version(db) == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = _version(db)  # again, under the write lock
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"the run history {path} has schema version {version}, newer than this etl-cli reads"
                f" ({SCHEMA_VERSION}); upgrade etl-cli"
            )
        if version == 0:
            db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            db.execute("INSERT INTO schema_version (version) VALUES (0)")
        for step in _MIGRATIONS[version:]:
            for statement in step.split(";"):
                if statement.strip():
                    db.execute(statement)
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


_RUN_COLUMNS = (
    "run_id, pipeline, env, status, exit_code, started_at, duration_s, ended_at, master,"
    " error_type, error_message, error_stage, rows_written, results_file"
)


def _run_row(values: Sequence[Any]) -> RunRow:
    return RunRow(*values)


def _filters(**equal: str | None) -> tuple[str, list[Any]]:
    """A WHERE clause matching every given column (None: any value)."""
    given = {column: value for column, value in equal.items() if value is not None}
    if not given:
        return "", []
    return " WHERE " + " AND ".join(f"{column} = ?" for column in given), list(given.values())


@dataclass(frozen=True)
class _Row:
    """One run ready to insert: its columns, and its stages' and checks' columns."""

    run: Mapping[str, Any]
    stages: tuple[tuple[Any, ...], ...]
    checks: tuple[tuple[Any, ...], ...]


def _row_of(document: Mapping[str, Any], results_file: Path, owned: bool) -> _Row:
    """The rows of one run, from its results as written to JSON (a run's own, or an old file's)."""
    error = _mapping(document.get("error"))
    stages = [s for s in document.get("stages") or [] if isinstance(s, Mapping)]
    checks = [c for c in _mapping(document.get("quality")).get("checks") or [] if isinstance(c, Mapping)]
    written = [s["rows_out"] for s in stages if s.get("kind") == "sink" and isinstance(s.get("rows_out"), int)]
    run = {
        "run_id": str(document["run_id"]),
        "pipeline": str(document["pipeline"]),
        "env": document.get("env") or DEFAULT_ENV,
        "status": str(document.get("status") or "unknown"),
        "exit_code": document.get("exit_code"),
        "started_at": str(document["started_at"]),
        "ended_at": document.get("ended_at"),
        "duration_s": document.get("duration_s"),
        "master": document.get("master"),
        "error_type": error.get("type"),
        "error_message": error.get("message"),
        "error_stage": error.get("stage"),
        "rows_written": sum(written) if written else None,
        "results_file": str(results_file),
        "results_owned": int(owned),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    stage_rows = tuple(
        (
            position,
            str(s.get("name")),
            str(s.get("kind")),
            str(s.get("type")),
            str(s.get("status")),
            s.get("rows_in"),
            s.get("rows_out"),
            s.get("duration_s"),
            s.get("error"),
        )
        for position, s in enumerate(stages)
    )
    check_rows = tuple(
        (position, str(c.get("name")), c.get("stage"), c.get("type"), str(c.get("outcome")), c.get("rows_failed"))
        for position, c in enumerate(checks)
    )
    return _Row(run, stage_rows, check_rows)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _insert(db: sqlite3.Connection, row: _Row, replace: bool) -> int:
    """Insert one run with its stages and checks; return 1, or 0 when it was there and ``replace`` is false."""
    key = (row.run["run_id"], row.run["pipeline"])
    exists = db.execute("SELECT 1 FROM runs WHERE run_id = ? AND pipeline = ?", key).fetchone()
    if exists and not replace:
        return 0
    if exists:
        db.execute("DELETE FROM runs WHERE run_id = ? AND pipeline = ?", key)  # its stages and checks cascade
    columns = ", ".join(row.run)
    db.execute(f"INSERT INTO runs ({columns}) VALUES ({', '.join('?' * len(row.run))})", tuple(row.run.values()))
    db.executemany(
        "INSERT INTO stages (run_id, pipeline, position, name, kind, type, status, rows_in, rows_out, duration_s,"
        " error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*key, *stage) for stage in row.stages],
    )
    db.executemany(
        "INSERT INTO checks (run_id, pipeline, position, name, stage, type, outcome, rows_failed)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*key, *check) for check in row.checks],
    )
    return 1


@dataclass(frozen=True)
class _Expired:
    run_id: str
    pipeline: str
    results_file: str | None
    results_owned: bool


def _expired(db: sqlite3.Connection, settings: HistorySettings, now: datetime) -> list[_Expired]:
    """The runs the retention drops: started over ``keep_days`` ago, or past the newest ``keep_runs_per_pipeline``."""
    clauses: list[str] = []
    params: list[Any] = []
    if settings.keep_days is not None:
        clauses.append("started_at < ?")
        params.append((now - timedelta(days=settings.keep_days)).isoformat(timespec="milliseconds"))
    if settings.keep_runs_per_pipeline is not None:
        clauses.append("newer >= ?")
        params.append(settings.keep_runs_per_pipeline)
    if not clauses:
        return []
    rows = db.execute(
        "SELECT run_id, pipeline, results_file, results_owned FROM ("
        "  SELECT *, ROW_NUMBER() OVER (PARTITION BY pipeline, env ORDER BY started_at DESC, run_id DESC) - 1"
        "  AS newer FROM runs"
        f") WHERE {' OR '.join(clauses)}",
        params,
    )
    return [_Expired(r[0], r[1], r[2], bool(r[3])) for r in rows]


def _delete(db: sqlite3.Connection, doomed: Sequence[_Expired]) -> None:
    db.executemany("DELETE FROM runs WHERE run_id = ? AND pipeline = ?", [(d.run_id, d.pipeline) for d in doomed])


def _remove_files(doomed: Sequence[_Expired]) -> Iterator[Path]:
    """Delete the results files of dropped runs that etl-cli wrote to its own folders (after the commit)."""
    for run in doomed:
        if not (run.results_owned and run.results_file):
            continue
        results_file = Path(run.results_file)
        for path in (results_file, results_file.with_name(f"{results_file.stem}.quality.json")):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError:
                continue  # kept: a file retention cannot remove is no reason to fail a run
            yield path


def _is_own_results_file(state_dir: Path, pipeline: str, env: str | None, run_id: str, path: Path) -> bool:
    """Whether ``path`` is ``<state_dir>/runs/<pipeline>/<env>/<run_id>.json``: a results file only etl-cli writes."""
    expected = default_results_dir(state_dir, pipeline, env) / f"{run_id}.json"
    return _same_path(expected, path)


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _results_files(state_dir: Path) -> Iterator[Path]:
    """The results files in the default folders: ``<state_dir>/runs/<pipeline>/<env>/<run_id>.json``."""
    for path in sorted((state_dir / "runs").glob("*/*/*.json")):
        if path.name == "latest.json" or path.name.startswith(".") or path.name.endswith(".quality.json"):
            continue
        yield path


def _read_results(path: Path) -> dict[str, Any] | None:
    """A run's results from its file, or None when it is not one (unreadable, or another kind of JSON)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    fields_ok = all(isinstance(document.get(key), str) for key in ("run_id", "pipeline", "started_at"))
    if not fields_ok or document["run_id"] != path.stem or not isinstance(document.get("stages"), list):
        return None
    if path.parent.parent.name != document["pipeline"]:
        return None
    return document


def record_run(
    state_dir: Path, settings: HistorySettings | None, results: RunResults, results_file: Path
) -> dict[str, Any]:
    """Record a finished run in the history; what happened, for the run results' ``history``.

    Never raises for the store: a run went as its results file says, whatever the history
    can record (a corrupt or locked store gives ``recorded: false`` and a ``warning``).
    """
    history = History(state_dir, settings)
    try:
        pruned = history.record(results, results_file)
    except HistoryError as exc:
        return {"store": str(history.path), "recorded": False, "warning": exc.message}
    except Exception as exc:  # the history is an index: nothing in it may fail a run that went well
        return {"store": str(history.path), "recorded": False, "warning": f"{type(exc).__name__}: {exc}"}
    return {
        "store": str(history.path),
        "recorded": True,
        "pruned_runs": pruned.runs,
        "deleted_files": [str(p) for p in pruned.files],
    }


__all__ = ["HISTORY_FILE", "CheckRow", "History", "HistoryError", "RunDetail", "RunRow", "StageRow", "record_run"]
