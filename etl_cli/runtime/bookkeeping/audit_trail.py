"""The audit trail: an append-only, hash-chained JSON-lines log of runs and data access.

One record per run end (``run``, each child of ``backfill`` and ``dag run``, and ``dlq replay``), per refused
run (a protected environment without ``--confirm-env``: also ``dlq replay`` and ``debug --write``) and per
``dry-run`` or ``debug`` session start. A
record says who (the OS user and the principal), what (pipeline, environment, run id, command), how
it ended (outcome, exit code), the datasets read and written, the secret references and keys used
(never their values), and who confirmed a run into a protected environment.

Each record carries ``seq`` (1, 2, ...), ``prev`` (the ``hash`` of the record before it; 64 zeros for
the first) and ``hash``: SHA-256 over the record's canonical JSON (sorted keys, no spaces, UTF-8)
without ``hash``, or HMAC-SHA256 with the key ``audit.hmac_key`` names (``alg`` says which). Appends
are serialised by a file lock, so concurrent runs never fork the chain; after each append the head
file keeps the last record's ``seq`` and ``hash``, so a removed tail is detected too. What
:func:`verify_lines` detects and what it cannot is in docs/data-security.md.

The file is ``<state dir>/audit/trail.jsonl`` (default ``.etl/audit/trail.jsonl``), created readable
by its owner only; nothing in etl-cli rewrites or removes a line of it.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import importlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from etl_cli.config.audit import AuditSettings, KafkaShipping
from etl_cli.config.principal import resolve_principal
from etl_cli.config.project import Project
from etl_cli.errors import EtlError, UsageError
from etl_cli.lineage.naming import dataset_name
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.secrets.audit import audit_path as secrets_audit_path
from etl_cli.secrets.audit import read_audit
from etl_cli.secrets.resolver import SecretResolver

TRAIL_FILE = Path("audit") / "trail.jsonl"
HEAD_FILE = Path("audit") / "trail.head.json"
#: the ``prev`` of the first record
GENESIS = "0" * 64
SHA256 = "sha256"
HMAC_SHA256 = "hmac-sha256"
#: the option that confirms a run into a protected environment
CONFIRM_FLAG = "--confirm-env"
#: how long shipping one record may wait for the broker's acknowledgement (seconds)
SHIP_TIMEOUT_S = 15.0

#: resolves every ``${secret:...}`` reference in a value (``SecretResolver.resolve_value``)
Resolve = Callable[[Any], Any]


class AuditTrailError(EtlError):
    """The audit trail cannot be read or written, or its key cannot be had (exit 4)."""


def trail_path(state_dir: Path) -> Path:
    """Where the project's audit trail is kept."""
    return state_dir / TRAIL_FILE


def head_path(state_dir: Path) -> Path:
    """The head file: ``seq`` and ``hash`` of the last record appended."""
    return state_dir / HEAD_FILE


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# --- protected environments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """Who confirmed a run into a protected environment, and how."""

    env: str
    by: str
    at: str
    flag: str = CONFIRM_FLAG

    def to_json(self) -> dict[str, Any]:
        return {"env": self.env, "by": self.by, "at": self.at, "flag": f"{self.flag} {self.env}"}


def confirm_environment(
    project: Project, env: str | None, confirm_env: str | None, command: str
) -> Confirmation | None:
    """The confirmation a run into ``env`` needs: None where it is not protected; a UsageError (exit 2) when
    ``env`` is protected and ``confirm_env`` does not name it; a ``--confirm-env`` naming another environment
    is refused everywhere (it shows the run is not going where its author meant)."""
    if confirm_env is not None and confirm_env != env:
        raise UsageError(
            f"{CONFIRM_FLAG} {confirm_env} does not match the environment of this {command}: {env or 'none'}",
            hint=f"{CONFIRM_FLAG} must name the environment the {command} goes to",
        )
    if not project.is_protected(env):
        return None
    if confirm_env is None:
        raise UsageError(
            f"environment '{env}' is protected: {command} into it needs {CONFIRM_FLAG} {env}",
            hint=f"add {CONFIRM_FLAG} {env} to confirm; who confirmed is recorded in the audit trail",
        )
    return Confirmation(str(env), os_user(), now())


# --- the chain ----------------------------------------------------------------------------------------------


def canonical(record: Mapping[str, Any]) -> bytes:
    """The bytes a record's hash covers: its JSON without ``hash``, keys sorted, no spaces, UTF-8."""
    body = {key: value for key, value in record.items() if key != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def record_hash(record: Mapping[str, Any], key: bytes | None) -> str:
    """SHA-256 of :func:`canonical` (HMAC-SHA256 with ``key``), in hex."""
    data = canonical(record)
    if key is not None:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def resolve_key(settings: AuditSettings, resolve: Resolve | None) -> bytes | None:
    """The HMAC key ``audit.hmac_key`` names (None: not configured); an error when it cannot be read."""
    if settings.hmac_key is None:
        return None
    if resolve is None:
        raise AuditTrailError("audit.hmac_key is set but no secret resolver was given")
    try:
        value = resolve(settings.hmac_key)
    except EtlError as exc:
        raise AuditTrailError(f"audit.hmac_key: {exc.message}", hint=exc.hint) from None
    if not isinstance(value, str) or not value:
        raise AuditTrailError("audit.hmac_key resolved to an empty value")
    return value.encode()


class AuditTrail:
    """Appends records to the trail under its file lock, chained to the last one, and updates the head."""

    def __init__(self, state_dir: Path, key: bytes | None = None) -> None:
        self.path = trail_path(state_dir)
        self.head = head_path(state_dir)
        self.key = key

    def append(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """Append ``entry`` as the next record; return it with ``seq``, ``prev``, ``alg`` and ``hash``."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with FileLock(str(self.path) + ".lock"):
            last = last_record(self.path)
            record = {
                **entry,
                "seq": int(last.get("seq", 0)) + 1 if last else 1,
                "prev": str(last.get("hash", GENESIS)) if last else GENESIS,
                "alg": HMAC_SHA256 if self.key is not None else SHA256,
            }
            record["hash"] = record_hash(record, self.key)
            line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode()
            if not _ends_with_newline(self.path):
                line = b"\n" + line  # a cut line stays a line of its own: verify reports it
            handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(handle, line)
                os.fsync(handle)
            finally:
                os.close(handle)
            _write_head(self.head, {"seq": record["seq"], "hash": record["hash"], "at": record.get("time")})
        return record


def _write_head(path: Path, head: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(json.dumps(head) + "\n")
    os.replace(tmp, path)


def last_record(path: Path) -> dict[str, Any] | None:
    """The last line of the trail that is a record (None: no trail, or no record in it), read from the end."""
    if not path.exists():
        return None
    size, chunk = path.stat().st_size, 65536
    with path.open("rb") as data:
        while True:
            start = max(0, size - chunk)
            data.seek(start)
            lines = data.read().split(b"\n")[(1 if start > 0 else 0) :]  # the first line of a chunk may be cut
            for line in reversed(lines):
                parsed = _parse(line.decode("utf-8", errors="replace")) if line.strip() else None
                if parsed is not None and "hash" in parsed and isinstance(parsed.get("seq"), int):
                    return parsed
            if start == 0:
                return None
            chunk *= 4


def _ends_with_newline(path: Path) -> bool:
    """Whether the trail is empty or its last line is whole (an interrupted append leaves a cut line)."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with path.open("rb") as data:
        data.seek(-1, os.SEEK_END)
        return data.read(1) == b"\n"


def _parse(line: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


# --- verification -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What :func:`verify_lines` found: the records checked and the first problem, if any."""

    records: int
    #: edited, deleted, inserted, reordered, truncated, no-key (None: intact)
    problem: str | None = None
    #: the 1-based line the problem is reported at
    line: int | None = None
    message: str = ""
    #: things worth knowing that are no failure (no head file, records before the key was configured)
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "problem": self.problem,
            "line": self.line,
            "message": self.message,
            "notes": list(self.notes),
        }


def verify_lines(
    lines: Sequence[str],
    key: bytes | None = None,
    head: Mapping[str, Any] | None = None,
    anchor: tuple[int, str] | None = None,
) -> Verification:
    """Check the chain of ``lines`` (the trail's lines, in order) and report the first break.

    ``key``: the HMAC key (records written before the first keyed one may be unkeyed; after it, none).
    ``head``: the head file's ``seq`` and ``hash`` (the last record must be that one).
    ``anchor``: a ``(seq, hash)`` kept elsewhere (``audit verify --anchor``): the trail must hold that record.
    """
    records = [_parse(line) for line in lines]
    notes: list[str] = []
    prev, last_seq, keyed_seen = GENESIS, 0, False
    good: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        number = index + 1
        if record is None or "hash" not in record or not isinstance(record.get("seq"), int):
            if _chains_after(records, index, prev):
                return _broken(good, "inserted", number, f"line {number} was inserted: it is not a record of the chain")
            return _broken(good, "edited", number, f"line {number} was edited: it is not a whole audit record")
        unkeyed = record.get("alg") != HMAC_SHA256
        if key is not None and unkeyed and keyed_seen:
            return _broken(good, "edited", number, f"line {number} was edited: it is not keyed, records before it are")
        if not unkeyed and key is None:
            message = f"line {number} is keyed (HMAC) and no audit.hmac_key is configured: it cannot be checked"
            return _broken(good, "no-key", number, message)
        expected = record_hash(record, None if unkeyed else key)
        if not hmac.compare_digest(expected, str(record["hash"])):
            if _chains_after(records, index, prev):
                return _broken(good, "inserted", number, f"line {number} was inserted: the next line chains past it")
            return _broken(good, "edited", number, f"line {number} was edited: its hash does not match its content")
        keyed_seen = keyed_seen or not unkeyed
        seq = record["seq"]
        if record.get("prev") != prev or seq != last_seq + 1:
            return _misplaced(records, good, index, last_seq, prev)
        good.append(record)
        prev, last_seq = str(record["hash"]), seq
    if key is not None and good and not keyed_seen:
        notes.append("no record is keyed: every record was written before audit.hmac_key was configured")
    elif key is not None and good and good[0].get("alg") != HMAC_SHA256:
        first = next(r["seq"] for r in good if r.get("alg") == HMAC_SHA256)
        notes.append(f"records before seq {first} are not keyed (written before audit.hmac_key was configured)")
    problem = _check_head(good, len(records), head, notes) or _check_anchor(good, len(records), anchor)
    if problem is not None:
        return problem
    return Verification(len(good), notes=tuple(notes))


def _broken(good: list[dict[str, Any]], problem: str, line: int, message: str) -> Verification:
    return Verification(len(good), problem, line, message)


def _chains_after(records: Sequence[dict[str, Any] | None], index: int, prev: str) -> bool:
    """Whether the line after ``index`` chains to the record before it, as if the line were not there."""
    following = records[index + 1] if index + 1 < len(records) else None
    return following is not None and following.get("prev") == prev


def _misplaced(
    records: Sequence[dict[str, Any] | None], good: list[dict[str, Any]], index: int, last_seq: int, prev: str
) -> Verification:
    """A record whose hash is right but that does not follow the one before it: say what happened."""
    number, record = index + 1, records[index] or {}
    seq = int(record["seq"])
    expected = last_seq + 1
    if seq == expected:
        if index == 0:
            return _broken(good, "edited", number, "line 1 does not start the chain (its prev is not the genesis)")
        return _broken(
            good,
            "edited",
            number - 1,
            f"line {number - 1} was edited (its hash recomputed): line {number} chains to another record",
        )
    if seq > expected:
        later = {r.get("seq"): i + 1 for i, r in enumerate(records) if r is not None and i > index}
        missing = range(expected, seq)
        found = [later[s] for s in missing if s in later]
        if found:
            return _broken(
                good,
                "reordered",
                number,
                f"records are out of order: line {number} holds record {seq}, record {expected} is at line {found[0]}",
            )
        what = f"record {expected}" if seq == expected + 1 else f"records {expected} to {seq - 1}"
        return _broken(good, "deleted", number, f"{what} deleted: line {number} holds record {seq}")
    before = good[-2].get("hash") if len(good) >= 2 else GENESIS
    if good and good[-1].get("seq") == seq and record.get("prev") == before:
        return _broken(good[:-1], "inserted", number - 1, f"line {number - 1} was inserted before record {seq}")
    if index == 0 or record.get("prev") != prev:
        earlier = next((i + 1 for i, r in enumerate(good) if r.get("seq") == seq), None)
        where = f" (record {seq} is at line {earlier} too)" if earlier else ""
        return _broken(good, "reordered", number, f"records are out of order: line {number} holds record {seq}{where}")
    return _broken(good, "inserted", number, f"line {number} was inserted: it repeats record {seq}")


def _check_head(
    good: list[dict[str, Any]], lines: int, head: Mapping[str, Any] | None, notes: list[str]
) -> Verification | None:
    if head is None:
        if good:
            notes.append("no head file: a removed tail (the last records) would not be detected")
        return None
    seq, digest = head.get("seq"), head.get("hash")
    last = good[-1] if good else None
    if last is None or not isinstance(seq, int) or last["seq"] < seq:
        have = f"ends at record {last['seq']} (line {lines})" if last else "is empty"
        return _broken(good, "truncated", lines, f"the trail {have}, the head names record {seq}: its tail was removed")
    if last["seq"] == seq and last["hash"] != digest:
        return _broken(good, "edited", lines, f"line {lines} was replaced: the head names another record {seq}")
    if last["seq"] > seq:
        notes.append(f"the head names record {seq}, the trail goes on to {last['seq']} (an append was interrupted)")
    return None


def _check_anchor(good: list[dict[str, Any]], lines: int, anchor: tuple[int, str] | None) -> Verification | None:
    if anchor is None:
        return None
    seq, digest = anchor
    held = next((r for r in good if r["seq"] == seq), None)
    if held is None:
        return _broken(good, "truncated", lines, f"the trail has no record {seq}: the anchor's record was removed")
    if held["hash"] != digest:
        return _broken(good, "edited", lines, f"record {seq} is not the anchor's: the trail was rewritten up to it")
    return None


def read_head(state_dir: Path) -> dict[str, Any] | None:
    path = head_path(state_dir)
    if not path.exists():
        return None
    try:
        parsed = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"seq": None, "hash": None}
    return parsed if isinstance(parsed, dict) else {"seq": None, "hash": None}


def read_lines(path: Path) -> list[str]:
    """The trail's lines (no trail: none); a last line without its newline is kept (an interrupted append)."""
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8", errors="replace").split("\n") if line != ""]


# --- records ------------------------------------------------------------------------------------------------


def who(access: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The OS user and the principal: the run's (results ``access``), else ``ETL_PRINCIPAL``, else the OS user."""
    environ = os.environ if environ is None else environ
    user = os_user()
    if isinstance(access, Mapping) and access.get("principal"):
        return {"user": user, "principal": str(access["principal"]), "principal_source": access.get("source")}
    found = resolve_principal(None, environ)  # as the row filters would have chosen it
    if found is None:
        return {"user": user, "principal": user, "principal_source": "os"}
    return {"user": user, "principal": found.name, "principal_source": found.source}


def datasets(spec: PipelineSpec, stages: Iterable[Mapping[str, Any]] = ()) -> dict[str, list[dict[str, Any]]]:
    """The datasets the sources read and the sinks wrote, named as lineage names them (lineage/naming.py).

    ``stages``: the run results' stages: each dataset gets its stage's status and rows; a stage the run
    did not reach or select is left out. A place with no name offline (a path built from a secret, a JDBC
    query) is listed with ``dataset: null``.
    """
    results = {str(s.get("name")): s for s in stages}
    found: dict[str, list[dict[str, Any]]] = {"read": [], "written": []}
    for stage in spec.stages:
        if stage.kind not in ("source", "sink"):
            continue
        result = results.get(stage.name)
        if results and (result is None or result.get("status") in ("not_selected", "pending", "skipped")):
            continue
        name = dataset_name(stage, spec.project_root)
        entry: dict[str, Any] = {
            "stage": stage.name,
            "type": stage.type,
            "dataset": f"{name.namespace}/{name.name}" if name else None,
        }
        if result is not None:
            rows = result.get("rows_out") if stage.kind == "source" else result.get("rows_in")
            entry.update(status=result.get("status"), rows=rows)
        found["read" if stage.kind == "source" else "written"].append(entry)
    return found


def secrets_used(project: Project, run_id: str) -> list[dict[str, Any]]:
    """The secret references the run accessed (the secret access log), each once with its outcomes."""
    used: dict[str, dict[str, Any]] = {}
    for entry in read_audit(secrets_audit_path(project)):
        if entry.get("run_id") != run_id:
            continue
        reference = str(entry.get("reference"))
        item = used.setdefault(reference, {"reference": reference, "type": entry.get("type"), "outcomes": []})
        if entry.get("outcome") not in item["outcomes"]:
            item["outcomes"].append(entry.get("outcome"))
    return list(used.values())


def run_record(
    spec: PipelineSpec,
    results: Mapping[str, Any],
    command: str = "run",
    confirmation: Confirmation | None = None,
) -> dict[str, Any]:
    """The record of one run that ended, from its results JSON (before chaining)."""
    run_id = str(results.get("run_id"))
    return {
        "time": now(),
        "event": "run",
        **who(results.get("access")),
        "command": command,
        "pipeline": spec.name,
        "environment": spec.env,
        "run_id": run_id,
        "outcome": results.get("status"),
        "exit_code": results.get("exit_code"),
        "started_at": results.get("started_at"),
        "ended_at": results.get("ended_at"),
        "error": (results.get("error") or {}).get("type"),
        "datasets": datasets(spec, results.get("stages") or []),
        "secrets": secrets_used(spec.project, run_id),
        "keys": list(results.get("keys") or []),
        "access": results.get("access"),
        "confirmation": confirmation.to_json() if confirmation else None,
    }


def session_record(
    spec: PipelineSpec,
    command: str,
    run_id: str,
    access: Mapping[str, Any] | None,
    confirmation: Confirmation | None = None,
) -> dict[str, Any]:
    """The record of a ``dry-run`` or ``debug`` session as it starts (what it may read: every source);
    ``confirmation``: who confirmed a ``debug --write`` into a protected environment."""
    return {
        "time": now(),
        "event": "session",
        **who(access),
        "command": command,
        "pipeline": spec.name,
        "environment": spec.env,
        "run_id": run_id,
        "outcome": "started",
        "exit_code": None,
        "datasets": datasets(spec),
        "access": access,
        "confirmation": confirmation.to_json() if confirmation else None,
    }


def refused_record(pipeline: str | None, env: str | None, command: str, run_id: str, reason: str) -> dict[str, Any]:
    """The record of a run refused before it started (a protected environment without its confirmation)."""
    return {
        "time": now(),
        "event": "refused",
        **who(None),
        "command": command,
        "pipeline": pipeline,
        "environment": env,
        "run_id": run_id,
        "outcome": "refused",
        "exit_code": 2,
        "error": reason,
        "confirmation": None,
    }


def confirmed(
    project: Project, pipeline: str | None, env: str | None, confirm_env: str | None, command: str, run_id: str
) -> Confirmation | None:
    """:func:`confirm_environment`, a refusal recorded in the audit trail before it is raised (exit 2)."""
    try:
        return confirm_environment(project, env, confirm_env, command)
    except UsageError as exc:
        append_record(project, refused_record(pipeline, env, command, run_id, exc.message))
        raise


def project_resolver(project: Project, entry: Mapping[str, Any]) -> SecretResolver:
    """The resolver of ``audit:``'s references: the project's providers (not an environment's), so the run and
    ``etl-cli audit verify`` read the same key; its accesses are logged under the record's run id."""
    pipeline, run_id = entry.get("pipeline"), entry.get("run_id")
    return SecretResolver.for_project(
        project, None, pipeline=str(pipeline) if pipeline else None, run_id=str(run_id) if run_id else None
    )


def append_record(project: Project, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Append ``entry`` to the project's trail (keyed when ``audit.hmac_key`` is set), then ship it.

    Returns what the run results keep of it: ``seq``, ``hash``, the trail's path and, with shipping,
    ``shipped`` (true or false) and ``ship_error`` (secrets masked). A failure to ship does not undo
    the append; a key that cannot be read fails it (an unkeyed record would break a keyed chain).
    """
    settings = project.audit
    resolver = project_resolver(project, entry) if settings.hmac_key or settings.ship else None
    resolve = resolver.resolve_value if resolver is not None else None
    record = AuditTrail(project.run_state_dir(), resolve_key(settings, resolve)).append(entry)
    summary: dict[str, Any] = {
        "seq": record["seq"],
        "hash": record["hash"],
        "trail": str(trail_path(project.run_state_dir())),
    }
    if settings.ship is not None:
        try:
            ship_kafka(settings.ship, [record], resolve)
            summary["shipped"] = True
        except Exception as exc:  # the record is in the trail; a broker that is down must not fail the run
            reason = str(exc).splitlines()[0] if str(exc) else ""
            mask = resolver.redactor.mask if resolver is not None else str
            summary.update(shipped=False, ship_error=mask(f"{type(exc).__name__}: {reason}"))
    return summary


# --- shipping -----------------------------------------------------------------------------------------------


def ship_kafka(target: KafkaShipping, records: Sequence[Mapping[str, Any]], resolve: Resolve | None) -> None:
    """Produce each record (its JSON line, as in the trail, keyed by ``seq``) and wait for the broker's ack."""
    try:
        kafka = importlib.import_module("confluent_kafka")
    except ImportError:
        raise AuditTrailError(
            "audit.ship.kafka needs the confluent-kafka package, which is not installed",
            hint="pip install 'etl-cli[kafka]'",
        ) from None
    settings = {"bootstrap.servers": target.bootstrap_servers, **target.config}
    config = {k: str(v) for k, v in (resolve(settings) if resolve else settings).items()}
    config.setdefault("acks", "all")
    config.setdefault("message.timeout.ms", str(int(SHIP_TIMEOUT_S * 1000)))
    producer = kafka.Producer(config)
    failures: list[str] = []

    def delivered(err: Any, _message: Any) -> None:
        if err is not None:
            failures.append(str(err))

    for record in records:
        value = json.dumps(record, ensure_ascii=False, default=str).encode()
        producer.produce(target.topic, value=value, key=str(record.get("seq")).encode(), on_delivery=delivered)
    left = producer.flush(SHIP_TIMEOUT_S + 5)
    if failures or left:
        raise AuditTrailError(
            f"audit record not delivered to topic {target.topic}: {failures[0] if failures else 'timed out'}"
        )
