"""The test services of scripts/services.sh, started when a test first needs one and stopped after the session.

Unit tests need no service, so a test run starts none until a selected test asks for one:
through the helpers (``dbhelp.require``, ``kafkahelp.kafka_bootstrap``), the ``services``
marker (``@pytest.mark.services("vault", "s3")``, tests/conftest.py) or :func:`ensure`.

- A service whose settings are all in the environment already (``eval "$(scripts/services.sh env pg)"``
  by hand, or servers of your own such as docker-compose.yml's) is used as it is.
- Otherwise ``scripts/services.sh up NAME`` starts it, or finds it running (started by hand:
  it is left running), and the settings ``scripts/services.sh env NAME`` prints go into this
  process's environment, which the ``etl-cli`` subprocesses of the tests inherit.
- At the end of the session ``scripts/services.sh down`` stops the services this session
  started, unless ``ETL_KEEP_SERVICES=1``. A pytest-xdist worker leaves what it started running
  (the other worker may still use it); scripts/test.sh starts every service before a whole-suite
  run with workers and stops them after it. With ``ETL_SKIP_SERVICES=1`` nothing is started:
  the tests that need a service skip (fail under CI) as when it is unreachable.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "services.sh"
#: the services of scripts/services.sh, then those of scripts/services.d/NAME.sh
KNOWN = (
    "pg",
    "mysql",
    "kafka",
    "s3",
    "vault",
    "pushgateway",
    *sorted(path.stem for path in (SCRIPT.parent / "services.d").glob("*.sh")),
)
#: held while a service is looked for and started: pytest-xdist workers share the services
UP_LOCK = REPO / ".services" / "pytest-up.lock"
#: seconds one ``services.sh up NAME`` may take: a first start installs packages and resolves the Kafka jars
UP_TIMEOUT_S = 1800


def parse_exports(text: str) -> dict[str, str]:
    """The ``export NAME=VALUE`` lines of ``services.sh env`` as a mapping (a quoted value loses its quotes)."""
    found = {}
    for line in text.splitlines():
        if not line.startswith("export ") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        found[name.strip()] = value
    return found


@dataclass
class Services:
    """What this test session asked of scripts/services.sh: which services are ready, which it started."""

    script: Path = SCRIPT
    environ: MutableMapping[str, str] = field(default_factory=lambda: os.environ)
    #: called with a line worth showing while tests run (a service starting takes seconds)
    say: Callable[[str], None] = lambda line: None
    ready: dict[str, str] = field(default_factory=dict)  # name -> how: "configured", "running", "started"
    failed: dict[str, str] = field(default_factory=dict)  # name -> why it is not available
    stopped: list[str] = field(default_factory=list)

    def ensure(self, names: Iterable[str]) -> str | None:
        """Make every service of ``names`` available; None when they are, else why one is not."""
        for name in names:
            if name not in KNOWN:
                raise ValueError(f"unknown test service '{name}' (known: {', '.join(KNOWN)})")
            if name not in self.ready and name not in self.failed:
                self._bring_up(name)
            if name in self.failed:
                return self.failed[name]
        return None

    def started(self) -> list[str]:
        """The services this session started, in start order."""
        return [name for name, how in self.ready.items() if how == "started"]

    def stop_started(self) -> str | None:
        """Stop what this session started (unless ETL_KEEP_SERVICES=1); why not, when ``down`` failed."""
        names = [name for name in self.started() if name not in self.stopped]
        if not names or self.environ.get("ETL_KEEP_SERVICES", "0") == "1":
            return None
        result = self._run("down", *names)
        if result.returncode != 0:
            return f"scripts/services.sh down {' '.join(names)} failed: {_tail(result)}"
        self.stopped += names
        return None

    def summary(self) -> list[str]:
        """One line per service this session asked for: where it came from, what became of it."""
        lines = [f"{name}: {self._fate(name, state)}" for name, state in self.ready.items()]
        return lines + [f"{name}: not available: {why.splitlines()[-1]}" for name, why in self.failed.items()]

    def _fate(self, name: str, state: str) -> str:
        if state == "configured":
            return "settings from the environment, nothing started"
        if state == "running":
            return "was running already, left running"
        if name in self.stopped:
            return "started, stopped"
        if self.environ.get("ETL_KEEP_SERVICES", "0") == "1":
            return "started, left running (ETL_KEEP_SERVICES=1)"
        return "started, still running"

    def _bring_up(self, name: str) -> None:
        settings = self._run("env", name)
        if settings.returncode != 0:
            self.failed[name] = f"scripts/services.sh env {name} failed: {_tail(settings)}"
            return
        exports = parse_exports(settings.stdout)
        if exports and all(self.environ.get(variable) for variable in exports):
            self.ready[name] = "configured"
            return
        if self.environ.get("ETL_SKIP_SERVICES", "0") == "1":
            self.failed[name] = f"ETL_SKIP_SERVICES=1: {name} was not started"
            return
        # two pytest workers (scripts/test.sh runs the suite with pytest-xdist) may ask for the same service at once
        UP_LOCK.parent.mkdir(parents=True, exist_ok=True)
        with UP_LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            running = self._run("status", name).returncode == 0
            self.say(f"test services: {'using the running' if running else 'starting'} {name} (scripts/services.sh up)")
            began = time.monotonic()
            up = self._run("up", name, timeout=UP_TIMEOUT_S)
        if up.returncode != 0:
            self.failed[name] = f"scripts/services.sh up {name} failed: {_tail(up)}"
            return
        self.environ.update(exports)
        self.ready[name] = "running" if running else "started"
        if not running:
            self.say(f"test services: {name} ready in {time.monotonic() - began:.0f} s")

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.script), *args],
            cwd=REPO,
            env=dict(self.environ),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return "\n".join(lines[-15:]) or f"exit code {result.returncode}"


#: the one instance of the test session (tests/conftest.py reports on it and stops what it started)
SESSION = Services()


def ensure(*names: str) -> str | None:
    """Make the services ``names`` available for this session; None when they are, else why one is not."""
    return SESSION.ensure(names)


def unavailable(why: str) -> NoReturn:
    """Skip the test (or the module) for ``why``; under CI (``CI`` set) fail it: there everything must be present."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why, allow_module_level=True)


def need_module(name: str) -> ModuleType:
    """The module ``name`` (a client of the dev extra the tests read results back with), or :func:`unavailable`."""
    try:
        return importlib.import_module(name)
    except ImportError:
        unavailable(f"{name} is not installed (pip install -e '.[dev]')")


@dataclass(frozen=True)
class PrivateServices:
    """Services of scripts/services.sh in a folder of their own, on ports of their own.

    Stopping or restarting them disturbs no other test (the shared ones have their own folder and lock).
    """

    env: dict[str, str]

    def run(self, *args: str) -> None:
        """``scripts/services.sh ARGS`` for these services; fails the test with the script's output."""
        result = subprocess.run(
            [str(SCRIPT), *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"scripts/services.sh {' '.join(args)} failed:\n{result.stderr[-3000:]}"


@contextmanager
def private_services(folder: Path, settings: Mapping[str, object]) -> Iterator[PrivateServices]:
    """Services kept in ``folder`` with ``settings`` (ports: ``ETL_TEST_PG_PORT``...); all removed at the end."""
    env = {**os.environ, "ETL_SERVICES_DIR": str(folder), **{key: str(value) for key, value in settings.items()}}
    try:
        yield PrivateServices(env)
    finally:
        subprocess.run([str(SCRIPT), "clean"], cwd=REPO, env=env, capture_output=True, timeout=300)
