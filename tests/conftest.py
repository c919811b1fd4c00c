"""Shared fixtures: one local Spark session per test session, project paths, the test services.

Test services (scripts/services.sh) start when a selected test first needs one and stop at the end
of the session: see tests/integration/serviceshelp.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from tests import clihelp, sparkhelp
from tests.integration import serviceshelp
from tests.timing import Timing

REPO = Path(__file__).resolve().parents[1]
# Every JVM the tests start (the shared session's and each ``etl-cli`` subprocess's, through spark-submit) uses
# the JIT's quick first tier only, as etl-cli's own dry-run sessions do: the tests' data is tiny, so the JVM's
# start dominates, and on two busy cores an `etl-cli run` of the quickstart took 17-20 s this way against
# 30-36 s with the optimising tier's compiler threads competing. Behaviour is the same; only speed differs.
os.environ.setdefault("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1")
#: why ``scripts/services.sh down`` failed at the end of the session, shown in the summary
_STOP_PROBLEM = pytest.StashKey[str | None]()


def pytest_configure(config: pytest.Config) -> None:
    if not _is_worker(config):  # under pytest-xdist the controller receives every worker's reports
        config.pluginmanager.register(Timing(), "etl-timing")
    config.addinivalue_line(
        "markers",
        "services(*names): the test needs these services of scripts/services.sh (started when first needed)",
    )
    config.addinivalue_line(
        "markers",
        "own_jvm: the test's etl-cli commands that start Spark (tests/sparkhelp.py SPARK_COMMANDS) run as"
        " subprocesses, each starting its own JVM, not in the test process on its shared Spark session",
    )
    serviceshelp.SESSION.say = lambda line: _say(config, line)


def _say(config: pytest.Config, line: str) -> None:
    """Show ``line`` now, between the test progress dots (a service starting takes seconds; silence looks stuck)."""
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else nullcontext():
        reporter.ensure_newline()
        reporter.write_line(line)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``services(...)`` gets them before any of its fixtures runs, or skips (fails under CI).

    Its ``etl-cli`` commands (its fixtures' too) run in-process unless it is marked ``own_jvm``.
    """
    clihelp.IN_PROCESS = item.get_closest_marker("own_jvm") is None
    marker = item.get_closest_marker("services")
    if marker is None:
        return
    problem = serviceshelp.ensure(*marker.args)
    if problem:
        message = f"needs the test services {' '.join(marker.args)}: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the services this session started (ETL_KEEP_SERVICES=1 keeps them for the next run).

    A pytest-xdist worker stops none: the other worker may still be using them (scripts/test.sh starts
    and stops the services of a whole-suite run itself).
    """
    if not _is_worker(session.config):
        session.config.stash[_STOP_PROBLEM] = serviceshelp.SESSION.stop_started()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = serviceshelp.SESSION.summary()
    if problem := config.stash.get(_STOP_PROBLEM, None):
        lines.append(problem)
    if lines:
        terminalreporter.write_sep("-", "test services (scripts/services.sh)")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/spark need Spark; tests under tests/integration need services."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "spark" in parts:
            item.add_marker(pytest.mark.spark)
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.spark)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``--dist loadfile`` (scripts/test.sh), pytest-xdist hands out :func:`xdist_group` units, not files.

    (pytest-xdist's own ``loadgroup`` marks cannot do it with pytest 9.2, whose node ids no longer take the
    group suffix xdist writes.)
    """
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid.split("::", 1)[0])

    return ModuleGroups(config, log)


def xdist_group(module: str) -> str:
    """Which worker-sized unit a test module's tests run in: one worker runs a group's tests in order.

    A module is its own group (its module-scoped fixtures run once, its tests in order), except:
    the integration tests run in two groups, the Kafka ones (each on topics of its own) and the rest with
    the documented commands, which share servers whose state is not per test (the Pushgateway's groups,
    the Spark cluster's two one-core workers), so that no two of those run at once.
    """
    path = Path(module)
    if path.parent.name == "integration":
        return "kafka" if "kafka" in path.stem else "services"
    if path.name == "test_docs_commands.py":
        return "services"
    return module


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session shared by every Spark test (starting a JVM takes seconds)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Spark tests need Java 17+: install a JDK or set JAVA_HOME")
    session = sparkhelp.shared_session()
    yield session
    session.stop()
