"""The shell commands of the README and docs/, read from their fenced code blocks, and a way to run them.

The convention (docs/development.md, "Commands in the docs"):

- in a ```` ```console ```` block, each line starting with ``$ `` is a command (a trailing ``\\`` continues it on
  the next line, after an optional ``> ``); the other lines are its output, shown for people and not compared;
- in a ```` ```bash ````, ```` ```sh ```` or ```` ```shell ```` block, each line is a command, except blank lines
  and comments;
- an HTML comment right before a block (blank lines between are fine) changes how its commands run:
  ``<!-- docs-test: exit N -->`` (they are expected to exit N), ``<!-- docs-test: skip: REASON -->`` (they are
  not run; the reason is printed), ``<!-- docs-test: services NAME... -->`` (they need these test services of
  scripts/services.sh, started for them as for the integration tests), ``<!-- docs-test: file PATH -->`` (the
  block, of any language, is the content of PATH, written before the commands after it run).

A page's commands run in order, in one copy of the project's user-facing files, with the installed ``etl-cli`` and
stdin empty (not a terminal): the exports and ``cd`` of one command carry over to the next, as in a shell.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tests import clihelp, sparkhelp
from tests.integration.serviceshelp import KNOWN as SERVICES

REPO = Path(__file__).resolve().parents[1]

#: what a sandbox holds: the files a user of the repository works with, and the docs' examples under tests/
SANDBOX_CONTENT = ("etl-project.yaml", "pipelines", "templates", "tests/e2e", "tests/corpus")
_NOT_COPIED = shutil.ignore_patterns("output", ".etl", "__pycache__", "spark-warehouse", "metastore_db")

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell"})
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<text>.*?)\s*-->\s*$")
_PROMPT = "$ "


@dataclass(frozen=True)
class Command:
    """A shell command a page shows, and how the page says it behaves."""

    page: str
    line: int
    text: str
    exit_code: int = 0
    skip: str | None = None
    services: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """``page:line`` of the command's first line, for messages."""
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class File:
    """A block that a ``file`` directive makes the content of ``path`` in the sandbox."""

    page: str
    line: int
    path: str
    text: str

    @property
    def where(self) -> str:
        """``page:line`` of the block's first line, for messages."""
        return f"{self.page}:{self.line}"


Step = Command | File


@dataclass(frozen=True)
class Page:
    """A markdown page's commands and files, in page order, and what in its markup could not be understood."""

    path: str
    steps: tuple[Step, ...]
    problems: tuple[str, ...]


@dataclass
class _Directives:
    """What the comments before one block said."""

    exit_code: int = 0
    skip: str | None = None
    services: tuple[str, ...] = ()
    file: str | None = None
    line: int = 0
    understood: bool = True


def doc_pages(root: Path = REPO) -> list[Path]:
    """README.md and every page under docs/, in a stable order."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def parse_page(path: Path, root: Path = REPO) -> Page:
    """The commands and files of the markdown page ``path`` (named relative to ``root`` in messages)."""
    name = path.relative_to(root).as_posix()
    return parse_markdown(name, path.read_text(encoding="utf-8"))


def parse_markdown(name: str, text: str) -> Page:
    """The commands and files of markdown ``text``, a page called ``name``."""
    lines = text.split("\n")
    steps: list[Step] = []
    problems: list[str] = []
    pending: _Directives | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = _DIRECTIVE.match(line)
        fence = _FENCE.match(line)
        if directive:
            pending = pending or _Directives(line=index + 1)
            problem = _apply(pending, directive.group("text"))
            if problem:
                pending.understood = False
                problems.append(f"{name}:{index + 1}: {problem}")
        elif line.lstrip().startswith("<!--") and "docs-test" in line:
            problems.append(f"{name}:{index + 1}: write a docs-test directive on one line: <!-- docs-test: ... -->")
        elif fence:
            end = _closing_fence(lines, index, fence.group("fence"))
            indent = len(fence.group("indent"))
            body = [_dedent(line, indent) for line in lines[index + 1 : end]]
            block_problems = _read_block(name, index + 1, fence.group("info").lower(), body, pending, steps)
            problems.extend(block_problems)
            pending = None
            index = end
        elif line.strip() and pending is not None:
            problems.append(f"{name}:{pending.line}: a docs-test directive must come right before a code block")
            pending = None
        index += 1
    if pending is not None:
        problems.append(f"{name}:{pending.line}: a docs-test directive must come right before a code block")
    return Page(name, tuple(steps), tuple(problems))


def _dedent(line: str, indent: int) -> str:
    """``line`` without the indentation of its block's fence (a list item's block is indented with it)."""
    return line[min(indent, len(line) - len(line.lstrip(" "))) :]


def _closing_fence(lines: list[str], start: int, fence: str) -> int:
    """The index of the line closing the block opened at ``start`` (the end of the page if none does)."""
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
            return index
    return len(lines)


def _apply(directives: _Directives, text: str) -> str | None:
    """Record one directive; the problem with it, if it is not one this module knows."""
    word, _, rest = text.partition(" ")
    if text.startswith("skip:") and text[len("skip:") :].strip():
        directives.skip = text[len("skip:") :].strip()
    elif word == "exit" and rest.strip().isdigit():
        directives.exit_code = int(rest)
    elif word == "services" and rest.split() and set(rest.split()) <= set(SERVICES):
        directives.services = tuple(rest.split())
    elif word == "file" and _is_relative(rest.strip()):
        directives.file = rest.strip()
    else:
        return (
            f"unknown docs-test directive {text!r}; expected 'skip: REASON', 'exit N', "
            f"'services NAME...' (of {', '.join(sorted(SERVICES))}) or 'file RELATIVE/PATH'"
        )
    return None


def _is_relative(path: str) -> bool:
    """Whether ``path`` names a file inside the sandbox."""
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts


def _read_block(
    name: str, fence_line: int, info: str, body: list[str], directives: _Directives | None, steps: list[Step]
) -> list[str]:
    """Append the block's commands (or file) to ``steps``; the problems found in it."""
    first = fence_line + 1
    if directives is not None and directives.file is not None:
        steps.append(File(name, first, directives.file, "\n".join(body) + "\n"))
        return []
    if info == "console":
        found = _console_commands(body, first)
    elif info in SHELL_LANGUAGES:
        found = _script_commands(body, first)
    else:
        if any(line.startswith(_PROMPT) for line in body):
            return [f"{name}:{fence_line}: a block with '$ ' prompts must be marked ```console to be tested"]
        if directives is not None and directives.understood:
            return [f"{name}:{directives.line}: a docs-test directive before a block not of shell needs 'file PATH'"]
        return []
    settings = directives or _Directives()
    steps.extend(
        Command(name, line, text, settings.exit_code, settings.skip, settings.services) for line, text in found
    )
    return [] if found else [f"{name}:{fence_line}: a {info} block without a command"]


def _console_commands(body: list[str], first: int) -> list[tuple[int, str]]:
    """(line, command) of each ``$ `` line of a console transcript, continuation lines joined."""
    commands: list[tuple[int, str]] = []
    index = 0
    while index < len(body):
        if body[index].startswith(_PROMPT):
            start = index
            parts = [body[index][len(_PROMPT) :]]
            while parts[-1].endswith("\\") and index + 1 < len(body):
                index += 1
                parts.append(body[index].removeprefix("> "))
            commands.append((first + start, "\n".join(parts)))
        index += 1
    return commands


def _script_commands(body: list[str], first: int) -> list[tuple[int, str]]:
    """(line, command) of each command line of a shell block, continuation lines joined."""
    commands: list[tuple[int, str]] = []
    index = 0
    while index < len(body):
        stripped = body[index].strip()
        if stripped and not stripped.startswith("#"):
            start = index
            parts = [body[index]]
            while parts[-1].rstrip().endswith("\\") and index + 1 < len(body):
                index += 1
                parts.append(body[index])
            commands.append((first + start, "\n".join(parts)))
        index += 1
    return commands


#: options every command answers and exits on without starting anything
_ANSWERED_BEFORE_SPARK = frozenset({"--help", "--version", "--show-completion", "--install-completion"})


def starts_spark(command: Command) -> bool:
    """Whether the command starts a JVM: ``etl-cli run``, ``dry-run``, ``debug``, ``dlq``, ``test``,
    ``lineage --analyze``, ``dag run`` and ``etl-debug``."""
    try:
        words = shlex.split(command.text, comments=True)
    except ValueError:
        return False
    words = [word for word in words if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word)]
    if not words or _ANSWERED_BEFORE_SPARK & set(words):
        return False
    program = Path(words[0]).name
    if program == "etl-debug":
        return True
    subcommand, action = ([word for word in words[1:] if not word.startswith("-")] + ["", ""])[:2]
    analyzes = subcommand == "lineage" and "--analyze" in words
    runs_dag = (subcommand, action) == ("dag", "run")  # each pipeline of it is an `etl-cli run`
    return program == "etl-cli" and (subcommand in {"run", "dry-run", "debug", "dlq", "test"} or analyzes or runs_dag)


def make_sandbox(target: Path, root: Path = REPO) -> Path:
    """Copy the user-facing files of the repository at ``root`` into ``target`` (their outputs left out)."""
    target.mkdir(parents=True, exist_ok=True)
    for relative in SANDBOX_CONTENT:
        source = root / relative
        if source.is_dir():
            shutil.copytree(source, target / relative, ignore=_NOT_COPIED)
        elif source.is_file():
            shutil.copy2(source, target / relative)
    return target


#: what only bash can run: variables, quoting bash expands, redirections, pipes, globs, several commands
_SHELL_SYNTAX = re.compile(r"[$`|&;<>()*?\[\]{}~\\\n]")
#: after _WRAPPER: the environment (NUL-separated) on stdout, the working folder on stderr
_SHOW_ENV = 'env -0; printf "%s" "$PWD" >&2'
#: runs one command in bash, the exports and working folder of the commands before it restored, its own saved
_WRAPPER = """\
__docs_state=$1
. "$__docs_state/env"
cd -- "$(cat "$__docs_state/cwd")" || exit 125
trap 'export -p > "$__docs_state/env"; pwd > "$__docs_state/cwd"' EXIT
"""


class Shell:
    """One page's commands, run one after the other in the same sandbox, each in a fresh bash."""

    def __init__(self, sandbox: Path, state: Path, env: dict[str, str], timeout: float = 900) -> None:
        self.sandbox = sandbox
        self.state = state
        self.env = env
        self.timeout = timeout
        state.mkdir(parents=True, exist_ok=True)
        (state / "env").write_text("", encoding="utf-8")
        (state / "cwd").write_text(str(sandbox), encoding="utf-8")

    def write(self, file: File) -> None:
        """Write the content of a ``file`` block, relative to the sandbox."""
        path = self.sandbox / file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(file.text, encoding="utf-8")

    def run(self, command: Command) -> str | None:
        """Run ``command``; what went otherwise than its page says (naming the page and line), or None."""
        try:
            done = self._in_process(command) or subprocess.run(
                ["bash", "--noprofile", "--norc", "-c", _WRAPPER + command.text, "docs-test", str(self.state)],
                cwd=self.sandbox,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired as timeout:
            return self._problem(command, f"did not finish in {self.timeout:.0f} s", str(timeout.output or ""))
        if done.returncode != command.exit_code:
            said = f"exited {done.returncode}, but the page says {command.exit_code}"
            if command.exit_code == 0:
                said += " (if the page shows the error on purpose, put <!-- docs-test: exit N --> before the block)"
            return self._problem(command, said, done.stdout)
        if "Traceback (most recent call last)" in done.stdout:
            return self._problem(command, "printed a Python traceback", done.stdout)
        return None

    def _in_process(self, command: Command) -> subprocess.CompletedProcess[str] | None:
        """A plain ``etl-cli run|dry-run|test|...`` line run in the test process (tests/sparkhelp.py), else None.

        Only a line of words (no variable, redirection, pipe or glob for bash to expand) whose command starts Spark,
        in the working folder and with the exports of the commands before it; a pipeline the shared JVM cannot serve
        (or a test marked ``own_jvm``) goes to bash like any other line.
        """
        if not clihelp.IN_PROCESS or _SHELL_SYNTAX.search(command.text):
            return None
        words = shlex.split(command.text)
        if len(words) < 2 or words[0] != "etl-cli" or words[1] not in sparkhelp.SPARK_COMMANDS:
            return None
        shown = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", _WRAPPER + _SHOW_ENV, "docs-test", str(self.state)],
            cwd=self.sandbox,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        env = dict(entry.split("=", 1) for entry in shown.stdout.split("\0") if "=" in entry)
        try:
            done = sparkhelp.in_process(tuple(words[1:]), env, Path(shown.stderr))
        except sparkhelp.OwnJvmNeeded:
            return None
        return subprocess.CompletedProcess(done.args, done.returncode, done.stdout + done.stderr)

    def _problem(self, command: Command, what: str, output: str) -> str:
        tail = "\n".join(output.rstrip().splitlines()[-40:])
        return f"{command.where}: `{command.text}` {what}\nran in {self.sandbox}; the end of its output:\n{tail}"
