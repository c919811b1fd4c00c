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

import pytest

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
    config.pluginmanager.register(Timing(), "etl-timing")
    config.addinivalue_line(
        "markers",
        "services(*names): the test needs these services of scripts/services.sh (started when first needed)",
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
    """A test marked ``services(...)`` gets them before any of its fixtures runs, or skips (fails under CI)."""
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
    """Stop the services this session started (ETL_KEEP_SERVICES=1 keeps them for the next run)."""
    session.config.stash[_STOP_PROBLEM] = serviceshelp.SESSION.stop_started()


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


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session shared by every Spark test (starting a JVM takes seconds)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Spark tests need Java 17+: install a JDK or set JAVA_HOME")
    from etl_cli.runtime.spark.session import build_session

    session = build_session(app_name="etl-cli-tests", master="local[2]", conf={"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()
