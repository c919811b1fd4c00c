"""One error hierarchy for the whole tool.

Every error knows the exit code the CLI turns it into and, when it comes from a
file, where (``file:line:col``). The CLI has one error boundary that prints
``str(error)`` and exits with ``error.exit_code``; tracebacks only with ``--debug``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from etl_cli.diagnostics import Diagnostic


class ExitCode(IntEnum):
    """Exit codes of every command (the CLI contract; documented in the README)."""

    OK = 0
    INVALID_CONFIG = 1
    USAGE = 2
    QUALITY_GATE = 3
    RUN_FAILED = 4
    LOCKED = 5
    INTERRUPTED = 130
    TERMINATED = 143


@dataclass(frozen=True, order=True)
class Location:
    """A position in a YAML file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


COMMAND_LINE = Location("<command line>", 0, 0)


class EtlError(Exception):
    """Base of every error etl-cli raises on purpose."""

    exit_code: ExitCode = ExitCode.RUN_FAILED

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(EtlError):
    """The pipeline or project configuration is invalid (exit 1)."""

    exit_code = ExitCode.INVALID_CONFIG


class UsageError(EtlError):
    """The command line is wrong: unknown environment, missing path... (exit 2)."""

    exit_code = ExitCode.USAGE


class QualityGateError(EtlError):
    """A data-quality gate failed; nothing was written (exit 3)."""

    exit_code = ExitCode.QUALITY_GATE


class RunError(EtlError):
    """A stage failed after its retries (exit 4)."""

    exit_code = ExitCode.RUN_FAILED


class EnvironmentSetupError(RunError):
    """The machine lacks something the run needs (Java, a jar...) (exit 4)."""


class LockHeldError(EtlError):
    """Another run of the same pipeline and environment holds the lock (exit 5)."""

    exit_code = ExitCode.LOCKED


class RunInterrupted(BaseException):
    """SIGINT or SIGTERM stopped a run (exit 130 or 143).

    Not an ``Exception``, so no ``except Exception`` on the way up (a retry, a plug-in)
    mistakes it for a failure of its own; and not a ``KeyboardInterrupt``, which Typer
    turns into exit 130 whatever the signal was.
    """

    def __init__(self, signum: int):
        import signal

        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = ExitCode.TERMINATED if signum == signal.SIGTERM else ExitCode.INTERRUPTED
        #: what the run results record
        self.status = "terminated" if signum == signal.SIGTERM else "interrupted"


class InvalidPipeline(ConfigError):
    """Validation found errors; carries every diagnostic, not only the first."""

    def __init__(self, diagnostics: list[Diagnostic], message: str | None = None):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(message or "\n".join(str(d) for d in errors))
