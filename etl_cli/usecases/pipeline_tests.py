"""``etl-cli test``: find the test files of the pipelines named, and run each test on one local Spark session.

Each test loads its pipeline as ``run`` would (config, model, plan) with the test's ``vars``
(as ``--set vars.NAME=VALUE``), ``params`` and ``env``; the session is started once for the
whole invocation and shared by every test.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from etl_cli.app import discover_pipelines, load_spec, new_run_id, registry
from etl_cli.config.project import PIPELINE_FILE
from etl_cli.config.yaml_loader import display_path
from etl_cli.diagnostics import Diagnostic, has_errors
from etl_cli.errors import EtlError, InvalidPipeline, Location, UsageError
from etl_cli.events import Reporter
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.testing.spec import (
    PipelineTest,
    TestFile,
    check_tests,
    find_test_files,
    known_columns,
    load_test_file,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from etl_cli.testing.runner import TestOutcome

#: tests run on local Spark whatever master the pipeline names
TEST_MASTER = "local[2]"


@dataclass(frozen=True)
class TestOptions:
    """How ``etl-cli test`` was asked to run."""

    __test__ = False  # not a pytest class

    env: str | None = None
    #: ``--select``: pipeline names (glob patterns); empty: every pipeline found
    select: tuple[str, ...] = ()
    #: ``-k``: run only the tests whose name contains this text (any case)
    keyword: str | None = None
    update_snapshots: bool = False
    master: str | None = None


@dataclass(frozen=True)
class Suite:
    """One pipeline and the test files found for it."""

    pipeline_file: Path
    files: tuple[Path, ...]


def collect(paths: Sequence[Path], select: Sequence[str] = ()) -> list[Suite]:
    """The pipelines named by ``paths`` (project, pipeline folders, test files) with their test files."""
    suites: dict[Path, list[Path]] = {}
    for path in paths:
        owner = _pipeline_of_test_file(path)
        if owner is not None:
            suites.setdefault(owner, []).append(path.resolve())
            continue
        for pipeline_file in discover_pipelines([path]):
            suites.setdefault(pipeline_file, []).extend(find_test_files(pipeline_file.parent))
    found = [Suite(p, tuple(dict.fromkeys(files))) for p, files in suites.items() if files]
    if select:
        found = [s for s in found if any(fnmatch.fnmatchcase(_name(s.pipeline_file), pat) for pat in select)]
    return found


def _name(pipeline_file: Path) -> str:
    return pipeline_file.parent.name


def _pipeline_of_test_file(path: Path) -> Path | None:
    if not path.is_file() or path.suffix not in (".yaml", ".yml") or path.name == PIPELINE_FILE:
        return None
    pipeline = path.resolve().parent.parent / PIPELINE_FILE
    if path.resolve().parent.name != "tests" or not pipeline.is_file():
        raise UsageError(
            f"{path} is not a test file: test files live in <pipeline folder>/tests/",
            hint="pass a project folder, a pipeline folder, or a file in a pipeline's tests/ folder",
        )
    return pipeline


def run_tests(
    paths: Sequence[Path],
    options: TestOptions,
    reporter: Reporter,
    on_outcome: Callable[[TestOutcome], None],
) -> list[TestOutcome]:
    """Run every selected test; ``on_outcome`` sees each as it finishes. One Spark session for them all."""
    suites = collect(paths, options.select)
    if not suites:
        raise UsageError(
            "no pipeline tests found" + (f" for --select {', '.join(options.select)}" if options.select else ""),
            hint="tests live in <pipeline folder>/tests/*.yaml (see docs/testing.md)",
        )
    outcomes: list[TestOutcome] = []
    with ExitStack() as stack:
        packages, settings, connect_ready = _plugin_needs(suites, options)
        session = _SharedSession(stack, options.master, reporter, packages, settings, use_engine=connect_ready)
        for suite in suites:
            for outcome in _run_suite(suite, options, reporter, session):
                outcomes.append(outcome)
                on_outcome(outcome)
    if not outcomes and options.keyword:
        raise UsageError(f"no test name contains '{options.keyword}'", hint="etl-cli test without -k runs them all")
    return outcomes


class _SharedSession:
    """Starts Spark for the first test, with every tested pipeline's packages; later tests reuse it; stopped last."""

    def __init__(
        self,
        stack: ExitStack,
        master: str | None,
        reporter: Reporter,
        packages: tuple[str, ...] = (),
        settings: Mapping[str, str] | None = None,
        use_engine: bool = True,
    ):
        self.stack = stack
        self.master = master
        #: whether the warm engine may serve the session: only when every tested pipeline can run over Spark Connect
        self.use_engine = use_engine
        #: every tested pipeline's JVM packages (Kafka, Delta...): a session started without them cannot load them later
        self.packages = packages
        #: every tested pipeline's plug-in session settings (Delta's SQL extension...), likewise static
        self.settings: Mapping[str, str] = settings or {}
        self.reporter = reporter
        self.session: SparkSession | None = None
        self.scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="etl-cli-test-")))

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()


def _plugin_needs(suites: Sequence[Suite], options: TestOptions) -> tuple[tuple[str, ...], dict[str, str], bool]:
    """The plug-in packages and session settings of every suite's pipeline, for the one session they share,
    and whether all of them can run over Spark Connect (the warm engine may serve that session).

    A pipeline that does not load is left out here: its tests report that as their error.
    """
    from etl_cli.model.connect import unfit_for_connect
    from etl_cli.plan.dag import compile_plan
    from etl_cli.runtime.execution.workspace import merge_session_settings, plugin_packages, plugin_session_settings

    found: list[str] = []
    settings: list[Mapping[str, str]] = []
    connect_ready = True
    for suite in suites:
        try:
            _, spec = load_spec(suite.pipeline_file, options.env, require_params=False)
            plan = compile_plan(spec)
            found.extend(plugin_packages(plan, registry()))
            settings.append(plugin_session_settings(plan, registry()))
            connect_ready = connect_ready and unfit_for_connect(spec, registry()) is None
        except EtlError:
            continue
    return tuple(dict.fromkeys(found)), merge_session_settings(settings), connect_ready


def _run_suite(suite: Suite, options: TestOptions, reporter: Reporter, shared: _SharedSession) -> Iterator[TestOutcome]:
    from etl_cli.testing.runner import TestOutcome

    try:
        _, base = load_spec(suite.pipeline_file, options.env, require_params=False)
    except EtlError as exc:
        for path in suite.files:
            yield from _errored(path, _lines(exc))
        return
    columns = known_columns(base, registry())
    for path in suite.files:
        file = load_test_file(path)
        problems = check_tests(base, file, columns)
        if has_errors(problems):
            yield from _errored(path, _diagnostic_lines(problems), file)
            continue
        for test in file.tests:
            if options.keyword and options.keyword.lower() not in test.name.lower():
                continue
            try:
                yield _run_one(suite.pipeline_file, test, options, reporter, shared)
            except EtlError as exc:
                yield TestOutcome(test, "error", lines=_lines(exc))


def _errored(path: Path, lines: list[str], file: TestFile | None = None) -> Iterator[TestOutcome]:
    """The file's tests (or the file itself, when it does not load) as errors."""
    from etl_cli.testing.runner import TestOutcome

    tests = file.tests if file is not None and file.tests else (_file_as_test(path),)
    for test in tests:
        yield TestOutcome(test, "error", lines=lines)


def _file_as_test(path: Path) -> PipelineTest:
    return PipelineTest(name="(file)", file=path, location=Location(display_path(path), 1, 1))


def _lines(exc: EtlError) -> list[str]:
    if isinstance(exc, InvalidPipeline):
        return _diagnostic_lines(exc.diagnostics)
    return str(exc).splitlines()


def _diagnostic_lines(diagnostics: Sequence[Diagnostic]) -> list[str]:
    return [line for d in diagnostics if d.severity == "error" for line in str(d).splitlines()]


def _run_one(
    pipeline_file: Path, test: PipelineTest, options: TestOptions, reporter: Reporter, shared: _SharedSession
) -> TestOutcome:
    from etl_cli.plan.dag import compile_plan
    from etl_cli.runtime.execution.workspace import open_secrets, open_workspace
    from etl_cli.testing.runner import TestRunner

    spec = _test_spec(pipeline_file, test, options)
    plan = compile_plan(spec)
    run_id = new_run_id()
    workspace = open_workspace(
        plan,
        registry(),
        reporter,
        run_id,
        shared.master,
        fallback_master=TEST_MASTER,  # the warm engine if it is up, else local Spark whatever the pipeline names
        use_engine=shared.use_engine,
        # the test's env: reaches ${secret:env:...} as it reaches ${env:...}; a test writes no key ring
        secrets=open_secrets(spec, run_id, {**os.environ, **test.env}),
        may_create_keys=False,
        session=shared.session,
        keep_session=True,
        packages=shared.packages,
        settings=shared.settings,
    )
    with workspace as opened:
        if shared.session is None:
            shared.session = opened.session
            shared.stack.callback(shared.stop)
        _session_conf(opened.session, spec)
        return TestRunner(opened, registry(), reporter, shared.scratch, options.update_snapshots).run(test)


def _session_conf(session: SparkSession, spec: PipelineSpec) -> None:
    """The pipeline's own SQL settings (time zone, ANSI mode...) on the shared session, and few shuffle partitions.

    The session outlives the pipeline that started it, so each test sets its pipeline's ``spark.sql.*``
    settings again; test data is small, so one shuffle partition is quickest (results do not depend on it).
    """
    for key, value in spec.spark.conf.items():
        if key.startswith("spark.sql.") and "${" not in str(value):
            session.conf.set(key, str(value).lower() if isinstance(value, bool) else str(value))
    session.conf.set("spark.sql.shuffle.partitions", "1")


def _test_spec(pipeline_file: Path, test: PipelineTest, options: TestOptions) -> PipelineSpec:
    """The pipeline as the test runs it: the test's vars, params and environment variables applied."""
    sets = [f"vars.{name}={_yaml_text(value)}" for name, value in test.vars.items()]
    params = [f"{name}={value}" for name, value in test.params.items()]
    environ = {**os.environ, **test.env}
    _, spec = load_spec(pipeline_file, options.env, sets, environ, params, require_params=True)
    return spec


def _yaml_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
