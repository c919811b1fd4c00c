"""The warm engine: a Spark Connect server kept running for a project, so commands skip the JVM's start.

``etl-cli engine start`` launches ``SparkConnectServer`` from the installed PySpark (``spark-submit``)
on loopback, with the connector jars and static settings the project's pipelines need, and records it
in ``<state dir>/engine/engine.json`` (mode 0600). Clients authenticate with a token made at start,
which reaches the server through its environment (``SPARK_CONNECT_AUTHENTICATE_TOKEN``), never a
command line, and clients through that file. ``run``, ``dry-run``, ``debug`` and ``test`` then open
a Spark Connect session there (each its own: settings, temporary views and cached data are the
session's), unless the pipeline needs what the engine lacks (:func:`engine_fit`): then they start
Spark in-process as before, and say why.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl_cli.errors import RunError
from etl_cli.runtime.spark.gateway import launch_files
from etl_cli.runtime.spark.jars import resolve_local_jars
from etl_cli.runtime.spark.java import ensure_java
from etl_cli.runtime.spark.session import BATCH_JAVA_OPTIONS, session_settings

ENGINE_FOLDER = "engine"
ENGINE_FILE = "engine.json"
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
#: how long a start may take: Ivy may resolve packages the jar cache lacks
START_TIMEOUT_S = 300.0
#: ``ETL_ENGINE=off``: never use a running engine (a command starts Spark in-process)
ENGINE_SWITCH = "ETL_ENGINE"


@dataclass(frozen=True)
class EngineInfo:
    """A running engine as ``engine.json`` records it."""

    pid: int
    port: int
    token: str
    project: str
    started_at: str
    spark_version: str
    python: str
    #: the Maven coordinates and jar files on the server's class path
    packages: tuple[str, ...] = ()
    jars: tuple[str, ...] = ()
    #: the settings the server started with that a session cannot change (extensions, catalogs...)
    settings: Mapping[str, str] = field(default_factory=dict)
    memory: str | None = None

    @property
    def url(self) -> str:
        """The client URL, token included: never print it (:attr:`address` is what to show)."""
        # "localhost": PySpark sends a token over a plaintext channel only to a local address
        return f"sc://localhost:{self.port}/;token={self.token}"

    @property
    def address(self) -> str:
        return f"sc://localhost:{self.port}"

    def public(self) -> dict[str, Any]:
        """What ``engine status`` shows: everything but the token."""
        shown = asdict(self)
        shown.pop("token")
        shown["address"] = self.address
        return shown


def engine_file(state_dir: Path) -> Path:
    return state_dir / ENGINE_FOLDER / ENGINE_FILE


def read_engine(state_dir: Path) -> EngineInfo | None:
    """The engine recorded for ``state_dir`` if it still runs and answers; a stale record is removed."""
    path = engine_file(state_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        info = EngineInfo(
            **{
                **data,
                "packages": tuple(data.get("packages", ())),
                "jars": tuple(data.get("jars", ())),
            }
        )
    except (OSError, ValueError, TypeError):
        return None
    if not _alive(info.pid) or not _answers(info.port):
        path.unlink(missing_ok=True)
        return None
    return info


def start_engine(
    state_dir: Path,
    project: str,
    packages: Iterable[str],
    settings: Mapping[str, str],
    jars: Iterable[str] = (),
    port: int | None = None,
    memory: str | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> EngineInfo:
    """Start the engine of ``state_dir``'s project and wait until a session answers there."""
    running = read_engine(state_dir)
    if running is not None:
        raise RunError(
            f"an engine already runs for this project ({running.address}, pid {running.pid})",
            hint="etl-cli engine stop first, to start one with other settings",
        )
    from etl_cli.runtime.spark.connect import require_connect_client

    require_connect_client()  # before a server starts that no client here could reach
    folder = state_dir / ENGINE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    java = ensure_java()
    port = port or _free_port()
    token = secrets.token_urlsafe(32)
    local = resolve_local_jars(tuple(packages))
    conf: dict[str, Any] = {
        **settings,
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        # a session left by a killed client is freed after 15 minutes idle
        "spark.connect.session.manager.defaultSessionTimeout": "15min",
    }
    if memory:
        conf["spark.driver.memory"] = memory
    launch = session_settings(f"etl-cli:engine:{project}", "local[*]", conf, local.packages, (*jars, *local.jars))
    launch["spark.driver.extraJavaOptions"] = f"{launch['spark.driver.extraJavaOptions']} {BATCH_JAVA_OPTIONS}"
    environment = {
        **os.environ,
        "JAVA_HOME": str(java.parent.parent),
        "SPARK_CONNECT_AUTHENTICATE_TOKEN": token,
        # the Python workers of UDFs (text, ml...) run this interpreter, which has etl-cli
        "PYSPARK_PYTHON": sys.executable,
    }
    environment.pop("SPARK_REMOTE", None)
    log = folder / "engine.log"
    with launch_files(launch) as arguments, log.open("ab") as sink:
        process = subprocess.Popen(
            [str(_spark_submit()), "--class", SERVER_CLASS, *arguments, "spark-internal"],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,  # it outlives this command
        )
        info = EngineInfo(
            pid=process.pid,
            port=port,
            token=token,
            project=project,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            spark_version=_pyspark_version(),
            python=sys.executable,
            packages=tuple(sorted(set(packages))),
            jars=tuple(sorted(set(jars))),
            settings=dict(settings),
            memory=memory,
        )
        try:
            _wait_until_ready(process, info, log, timeout_s)
        except BaseException:
            _terminate(process.pid)
            raise
    _write_private(engine_file(state_dir), json.dumps(asdict(info), indent=2))
    return info


def stop_engine(state_dir: Path, timeout_s: float = 30.0) -> EngineInfo | None:
    """Stop the engine of ``state_dir`` (SIGTERM: Spark stops its sessions; SIGKILL after ``timeout_s``)."""
    path = engine_file(state_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid = int(data.get("pid", 0))
    info = read_engine(state_dir)
    if pid and _alive(pid):
        _terminate(pid, timeout_s)
    path.unlink(missing_ok=True)
    return info


def engine_fit(
    info: EngineInfo, packages: Iterable[str], jars: Iterable[str], settings: Mapping[str, str]
) -> str | None:
    """Why a pipeline needing ``packages``, ``jars`` and server ``settings`` cannot use ``info`` (None: it can)."""
    missing = sorted(set(packages) - set(info.packages))
    if missing:
        return f"it needs the packages {', '.join(missing)}, which the engine was not started with"
    missing = sorted(set(jars) - set(info.jars))
    if missing:
        return f"it needs the jars {', '.join(missing)}, which the engine was not started with"
    for key, value in settings.items():
        have = info.settings.get(key)
        if key == "spark.sql.extensions":
            lacking = [name for name in value.split(",") if name and name not in (have or "").split(",")]
            if lacking:
                return f"it needs the Spark SQL extensions {', '.join(lacking)}, which the engine was not started with"
        elif have != value:
            return f"it needs the Spark setting {key}={value}, but the engine started with {have or 'the default'}"
    return None


def _wait_until_ready(process: subprocess.Popen[bytes], info: EngineInfo, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RunError(
                f"the engine's Spark Connect server exited with status {process.returncode} while starting",
                hint=f"its log: {log}\n{_tail(log)}",
            )
        if _answers(info.port):
            try:
                _first_session(info)
            except Exception:  # the server is still starting its sessions
                time.sleep(0.5)
                continue
            return
        time.sleep(0.5)
    raise RunError(f"the engine did not answer within {timeout_s:.0f} s", hint=f"its log: {log}\n{_tail(log)}")


def _first_session(info: EngineInfo) -> None:
    """Open a session and run a tiny query: the server answers, the token works, the JIT has warmed up a little."""
    from etl_cli.runtime.spark.connect import connect_session

    session = connect_session(info.url, {})
    try:
        session.range(1).count()
    finally:
        session.stop()


def _spark_submit() -> Path:
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home()) / "bin" / "spark-submit"


def _pyspark_version() -> str:
    from pyspark.version import __version__

    return str(__version__)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # a child of this process (a test) that has exited
            return False
    except ChildProcessError:  # not this process's child: the usual case
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process took the number
        return False
    return True


def _terminate(pid: int, timeout_s: float = 30.0) -> None:
    """SIGTERM the server's process group (spark-submit and its JVM), then SIGKILL what is left."""
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return
    os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.2)
    os.killpg(group, signal.SIGKILL)


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
