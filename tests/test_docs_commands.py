"""Every shell command of the README and docs/ runs as written, in order per page (tests/docshelp.py says how).

Each command is one test, named by its page and line. A page's commands run in one sandbox, a copy of the
project's user-facing files, with the installed ``etl-cli``: a test runs the earlier commands of its page that
have not run yet, so ``-k`` can pick any one. Tiers follow the commands: from a page's first command that starts
Spark on, the page's tests are ``spark`` tests, and from its first that needs the test services on,
``integration`` tests marked with the services they need (tests/conftest.py starts them), since later
commands may use what earlier ones made. Commands a page marks
``<!-- docs-test: skip: REASON -->`` are reported as skipped with their page, line and reason.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docshelp import Command, File, Page, Shell, doc_pages, make_sandbox, parse_markdown, parse_page
from tests.docshelp import starts_spark as _starts_spark

PAGES = {page.path: page for page in map(parse_page, doc_pages())}

FAST, SPARK, INTEGRATION = 0, 1, 2


def _tier(command: Command) -> int:
    """What the command needs: the test services, a JVM, or neither."""
    if command.services:
        return INTEGRATION
    return SPARK if _starts_spark(command) else FAST


def _marks(level: int, services: list[str]) -> tuple[pytest.MarkDecorator, ...]:
    """The markers of a command of tier ``level``; ``services``: those the page's commands up to it need."""
    if level == INTEGRATION:
        return (pytest.mark.integration, pytest.mark.spark, pytest.mark.services(*services))
    return (pytest.mark.spark,) if level == SPARK else ()


def _cases() -> Iterator[object]:
    """One case per command, marked with the highest tier of the page's commands up to it."""
    for page in PAGES.values():
        level = FAST
        services: list[str] = []
        for index, step in enumerate(page.steps):
            if not isinstance(step, Command):
                continue
            marks: tuple[pytest.MarkDecorator, ...] = ()
            if step.skip is None:
                level = max(level, _tier(step))
                services += [name for name in step.services if name not in services]
                marks = _marks(level, services)
            yield pytest.param(page.path, index, id=step.where, marks=marks)


def command_env() -> dict[str, str]:
    """The environment of a user of this installation: its scripts first on PATH, no colour, no ETL_ENV."""
    env = {name: value for name, value in os.environ.items() if name not in {"ETL_ENV", "ETL_DEBUG"}}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["NO_COLOR"] = "1"
    return env


class PageRun:
    """A page's commands in its sandbox: which have run, and the first that failed."""

    def __init__(self, page: Page, root: Path) -> None:
        self.page = page
        sandbox = make_sandbox(root / "sandbox")
        venv = sandbox / ".venv"
        venv.symlink_to(sys.prefix, target_is_directory=True)
        self.shell = Shell(sandbox, root / "state", command_env())
        self.done = 0
        #: why the page's later commands are not run: an earlier one failed
        self.stopped: str | None = None

    def check(self, index: int) -> None:
        """Run the steps before ``index`` not run yet, then step ``index``; fail (or skip) as the page's text says."""
        step = self.page.steps[index]
        if isinstance(step, Command) and step.skip is not None:
            pytest.skip(f"{step.where}: {step.skip}")
        if self.stopped is not None:
            pytest.skip(self.stopped)
        # the settings of services the test's marker started (tests/conftest.py) since the page's first command
        self.shell.env = command_env()
        for position in range(self.done, index + 1):
            self.done = position + 1
            earlier = self.page.steps[position]
            if isinstance(earlier, File):
                self.shell.write(earlier)
                continue
            if earlier.skip is not None:
                continue
            problem = self.shell.run(earlier)
            if problem is not None:
                self.stopped = f"not run: {earlier.where}, earlier on the page, failed"
                pytest.fail(problem if position == index else f"an earlier command of the page failed: {problem}")


@pytest.fixture(scope="session")
def page_runs() -> dict[str, PageRun]:
    """Each page's run, made when its first command runs: one sandbox per page for the whole session."""
    return {}


@pytest.mark.parametrize(("page", "index"), list(_cases()))
def test_documented_command_runs_as_written(
    page: str, index: int, page_runs: dict[str, PageRun], tmp_path_factory: pytest.TempPathFactory
) -> None:
    if page not in page_runs:
        page_runs[page] = PageRun(PAGES[page], tmp_path_factory.mktemp(page.replace("/", "-")))
    page_runs[page].check(index)


def test_docs_markup_is_understood() -> None:
    problems = [problem for page in PAGES.values() for problem in page.problems]
    assert problems == []


def test_the_readme_and_the_docs_have_commands_to_run() -> None:
    pages_with_commands = {page.path for page in PAGES.values() for step in page.steps if isinstance(step, Command)}
    assert {"README.md", "docs/validate.md", "docs/create-pipeline.md"} <= pages_with_commands


# --------------------------------------------------------------------------- how a page is read


def test_console_lines_after_a_prompt_are_commands_and_the_rest_is_output() -> None:
    page = parse_markdown(
        "p.md", "# p\n\n```console\n$ etl-cli validate a\nok\n$ etl-cli render a \\\n  --explain\n```\n"
    )
    assert page.steps == (
        Command("p.md", 4, "etl-cli validate a"),
        Command("p.md", 6, "etl-cli render a \\\n  --explain"),
    )


def test_every_line_of_a_bash_block_but_comments_is_a_command() -> None:
    page = parse_markdown("p.md", "```bash\n# set up\nexport X=1   # why\n\nls\n```\n")
    assert page.steps == (Command("p.md", 3, "export X=1   # why"), Command("p.md", 5, "ls"))


def test_directives_before_a_block_apply_to_its_commands() -> None:
    text = (
        "<!-- docs-test: exit 1 -->\n"
        "<!-- docs-test: services pg -->\n"
        "```sh\nrun-it\n```\n"
        "<!-- docs-test: skip: needs a cluster -->\n\n"
        "```console\n$ submit\n```\n"
    )
    assert parse_markdown("p.md", text).steps == (
        Command("p.md", 4, "run-it", exit_code=1, services=("pg",)),
        Command("p.md", 9, "submit", skip="needs a cluster"),
    )


def test_a_file_directive_makes_the_block_a_file() -> None:
    page = parse_markdown(
        "p.md", "<!-- docs-test: file conf/a.yaml -->\n```yaml\nname: a\n```\n```sh\ncat conf/a.yaml\n```\n"
    )
    assert page.steps == (File("p.md", 3, "conf/a.yaml", "name: a\n"), Command("p.md", 6, "cat conf/a.yaml"))


def test_blocks_of_other_languages_and_without_a_language_are_not_run() -> None:
    page = parse_markdown("p.md", "```\netl-cli run PIPELINE [--env E]\n```\n```yaml\na: 1\n```\n")
    assert page.steps == ()
    assert page.problems == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<!-- docs-test: skip -->\n```sh\nx\n```\n", "p.md:1: unknown docs-test directive 'skip'"),
        ("<!-- docs-test: exit 1 -->\ntext\n```sh\nx\n```\n", "p.md:1: a docs-test directive must come right before"),
        ("<!-- docs-test: file /etc/x -->\n```\nx\n```\n", "p.md:1: unknown docs-test directive 'file /etc/x'"),
        ("<!-- docs-test: services db -->\n```sh\nx\n```\n", "p.md:1: unknown docs-test directive 'services db'"),
        ("```\n$ etl-cli validate a\n```\n", "p.md:1: a block with '$ ' prompts must be marked ```console"),
        ("<!-- docs-test:\nexit 1 -->\n```sh\nx\n```\n", "p.md:1: write a docs-test directive on one line"),
    ],
    ids=["skip-without-reason", "directive-not-before-a-block", "file-outside", "unknown-service", "prompt", "split"],
)
def test_markup_the_test_cannot_follow_is_a_problem(text: str, problem: str) -> None:
    problems = parse_markdown("p.md", text).problems
    assert len(problems) == 1
    assert problems[0].startswith(problem)


@pytest.mark.parametrize(
    ("text", "spark"),
    [
        ("etl-cli validate pipelines/quickstart", False),
        ("etl-cli --debug run pipelines/quickstart", True),
        ("ETL_ENV=prod etl-cli dry-run p --sample 10", True),
        ("etl-cli dlq count p", True),
        ("etl-debug p --limit 3", True),
        ("etl-debug --version", False),
        ("etl-cli run --help", False),
        ("etl-cli lineage pipelines/quickstart --analyze", True),
        ("etl-cli lineage pipelines/quickstart", False),
        ("etl-cli dag run --select +daily_revenue --jobs 2", True),
        ("etl-cli dag show --select run", False),
        ("etl-cli test pipelines/quickstart --junit-xml out.xml", True),
    ],
)
def test_commands_of_etl_cli_that_execute_a_pipeline_are_spark_commands(text: str, spark: bool) -> None:
    assert _starts_spark(Command("p.md", 1, text)) is spark


# --------------------------------------------------------------------------- how a command is judged


def test_a_command_that_exits_otherwise_than_its_page_says_fails_naming_page_and_line(tmp_path: Path) -> None:
    page = parse_markdown("docs/x.md", "text\n\n```console\n$ etl-cli validate no/such/pipeline\n```\n")
    shell = Shell(make_sandbox(tmp_path / "sandbox"), tmp_path / "state", command_env())
    (command,) = page.steps
    assert isinstance(command, Command)
    problem = shell.run(command)
    assert problem is not None
    assert problem.startswith("docs/x.md:4: `etl-cli validate no/such/pipeline` exited 2, but the page says 0")


def test_a_command_exiting_with_the_code_its_page_declares_passes(tmp_path: Path) -> None:
    page = parse_markdown("x.md", "<!-- docs-test: exit 2 -->\n```console\n$ etl-cli validate no/such/pipeline\n```\n")
    shell = Shell(make_sandbox(tmp_path / "sandbox"), tmp_path / "state", command_env())
    (command,) = page.steps
    assert isinstance(command, Command)
    assert shell.run(command) is None


def test_exports_and_the_working_folder_carry_over_to_the_next_command(tmp_path: Path) -> None:
    page = parse_markdown(
        "x.md", '```bash\nexport GREETING=hi\ncd pipelines\ntest "$GREETING" = hi && test -d quickstart\n```\n'
    )
    shell = Shell(make_sandbox(tmp_path / "sandbox"), tmp_path / "state", command_env())
    assert [shell.run(step) for step in page.steps if isinstance(step, Command)] == [None, None, None]
