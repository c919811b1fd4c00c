"""Why Spark failed, in a line: the root cause of a JVM error, without its wrappers or stack traces.

A sink whose input holds a malformed record fails with py4j's "An error occurred while calling
o76.save." and the reason three ``getCause()`` further down the Java exception, below a "Job
aborted" or "error while reading file" wrapper. :func:`explain` walks that chain and keeps the
first exception that says what went wrong, its innermost cause when that adds the detail (the
record, the parser's complaint), and the file Spark was reading, so the run can name the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from etl_cli.config.project import Project
from etl_cli.errors import EtlError
from etl_cli.plugins.api import StageSpec, resolve_path

#: Spark's error condition for an input path that names nothing (a file, folder or glob)
MISSING_PATH = "PATH_NOT_FOUND"
#: the longest message :func:`explain` gives (Spark's can hold a whole record or query plan)
MAX_CHARS = 800
#: how many causes are read at most (each is a call into the JVM)
_MAX_DEPTH = 16

#: Java exceptions that only carry another one
_WRAPPER_CLASSES = frozenset(
    {
        "java.util.concurrent.ExecutionException",
        "java.util.concurrent.CompletionException",
        "java.lang.reflect.InvocationTargetException",
        "java.lang.reflect.UndeclaredThrowableException",
    }
)
#: Spark's messages that only say where the real failure happened
_WRAPPER_TEXT = re.compile(
    r"^(Job aborted due to stage failure|Task failed while writing rows|Exception thrown in awaitResult"
    r"|\[(FAILED_READ_FILE|TASK_WRITE_FAILED|STREAM_FAILED)[.\]])"
)
_CONDITION = re.compile(r"^\[([A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*)\]")
_SQLSTATE = re.compile(r"\s*SQLSTATE: \w+;?")
#: Spark's position in the SQL it parsed, which may be text etl-cli built (the YAML's place is given instead)
_POSITION = re.compile(r";?\s*line \d+ pos \d+;?")
_FILE = re.compile(r"(?:while reading file|Path does not exist:) (\S.*?)\.(?:\s|$)")
#: a job abort's own text ends with what the last failed task raised
_LAST_TASK = re.compile(r"most recent failure: Lost task .*?\(TID \d+\) \([^)]*\): (.+)")


@dataclass(frozen=True)
class SparkFailure:
    """A failure explained: the message to show, Spark's error condition, and the file it was reading."""

    message: str
    #: Spark's error class of the reported exception (``PATH_NOT_FOUND``), when it has one
    condition: str | None
    #: the file Spark failed to read or find (``file:///data/in.csv``), when it says
    file: str | None


def explain(exc: BaseException) -> SparkFailure:
    """The root cause of ``exc``: a py4j or PySpark error's Java chain, or any other exception's text.

    etl-cli's own errors are kept whole: they were written to be read (a contract lists every column); only
    the SQLSTATE and SQL position of a Spark message they quote are left out.
    """
    if isinstance(exc, EtlError):
        return SparkFailure(_POSITION.sub("", _SQLSTATE.sub("", exc.message)), None, None)
    return summarize(throwable_chain(exc) or [(type(exc).__name__, str(exc))])


@dataclass(frozen=True)
class SqlFragment:
    """Where Spark's analyser says the problem is in the SQL text it was given (one expression or query)."""

    #: the text Spark points at (a column name, a function call)
    text: str
    #: the offset of its first character in that SQL text
    start: int


def sql_fragment(exc: BaseException) -> SqlFragment | None:
    """The SQL query context of the analysis error behind ``exc`` (it, or the error it was raised from).

    Spark's message says "line 1 pos 96" of the SQL it parsed, which etl-cli may have built around
    the user's expression; the query context holds the fragment itself, so it can be found again in
    what the user wrote. None when Spark gave no SQL context (an error from the DataFrame API).
    """
    seen: BaseException | None = exc
    while seen is not None:
        contexts = getattr(seen, "getQueryContext", None)
        if callable(contexts):
            try:
                for context in contexts():
                    if context.contextType().name == "SQL" and context.fragment():
                        return SqlFragment(str(context.fragment()), int(context.startIndex()))
            except Exception:  # the JVM is gone: no context to read
                return None
        seen = seen.__cause__
    return None


def throwable_chain(exc: BaseException) -> list[tuple[str, str]]:
    """``(Java class, message)`` of the Java exception behind ``exc`` and its causes, outermost first.

    py4j's ``Py4JJavaError`` holds it as ``java_exception``; PySpark's captured errors
    (``AnalysisException``, ``StreamingQueryException``...) keep it as ``_origin``, their only
    handle on its causes. Empty for errors that did not come from the JVM.
    """
    throwable: Any = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    chain: list[tuple[str, str]] = []
    try:
        while throwable is not None and len(chain) < _MAX_DEPTH:
            chain.append((str(throwable.getClass().getName()), str(throwable.getMessage() or "")))
            throwable = throwable.getCause()
    except Exception:  # the JVM is gone (killed, gateway closed): what could be read is all there is
        pass
    return chain


def summarize(chain: Sequence[tuple[str, str]]) -> SparkFailure:
    """Explain a chain of ``(class, message)``, outermost first (see :func:`throwable_chain`)."""
    entries = [(name, clean(message)) for name, message in chain]
    meaningful = [_labelled(name, text) for name, text in entries if not _is_wrapper(name, text)]
    if not meaningful:  # nothing but wrappers: the innermost one says the most
        meaningful = [_labelled(entries[-1][0], _last_task(entries[-1][1]))]
    message = meaningful[0]
    innermost = meaningful[-1]
    if innermost not in message:
        message = f"{sentence(message)} Cause: {innermost}"
    condition = _CONDITION.match(meaningful[0])
    files = (_FILE.search(text) for _, text in entries)
    file = next((found.group(1) for found in files if found is not None), None)
    return SparkFailure(_bounded(message), condition.group(1) if condition else None, file)


def clean(text: str) -> str:
    """One line of an exception message: no stack trace, query plan, SQLSTATE or runs of spaces.

    The first line says what happened (Spark puts the plan, its advice and "JVM stacktrace:"
    below it); a Python worker's traceback says it on its last line.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]
    return " ".join(_SQLSTATE.sub("", line).split())


def sentence(text: str) -> str:
    """``text`` ending with a full stop, so that another sentence can follow it."""
    return text if text.endswith(".") else text + "."


def source_reading(file: str, stages: Iterable[StageSpec], project_root: Path) -> StageSpec | None:
    """The source among ``stages`` whose ``path`` covers ``file``, a file named in a Spark error.

    A path covers the file it names, the files under a folder, and those a glob matches;
    relative paths are the project's, as when the source read them.
    """
    target = _local(file)
    for stage in stages:
        paths = stage.option("path") if stage.kind == "source" else None
        for path in [paths] if isinstance(paths, str) else paths or ():
            if _covers(_local(resolve_path(path, project_root)), target):
                return stage
    return None


def missing_input_hint(failure: SparkFailure, project: Project) -> str | None:
    """What to do about an input Spark did not find (None for other failures).

    Spark names the absolute path it looked for; saying what relative paths are relative to
    explains a path that looks right from the folder the command was started in.
    """
    if failure.condition != MISSING_PATH or failure.file is None:
        return None
    return (
        f"no file or folder at {_local(failure.file)}: fix the path, or create the input before the run; "
        f"{project.relative_paths_rule()}"
    )


def _labelled(name: str, text: str) -> str:
    """``text`` after its exception's class, unless Spark's error condition already says what it is.

    "No suitable driver" or a bare path says little without "SQLException" or "FileNotFoundException".
    """
    if _CONDITION.match(text) or (text and name.startswith("org.apache.spark.")):
        return text
    simple = name.rsplit(".", 1)[-1]
    return f"{simple}: {text}" if text else simple


def _is_wrapper(name: str, text: str) -> bool:
    return name in _WRAPPER_CLASSES or _WRAPPER_TEXT.match(text) is not None


def _last_task(text: str) -> str:
    found = _LAST_TASK.search(text)
    return found.group(1) if found else text


def _local(uri: str) -> str:
    """A ``file:`` URI as a plain path (Spark writes file:/x and file:///x, spaces as %20); others as is."""
    return "/" + unquote(uri[len("file:") :]).lstrip("/") if uri.startswith("file:") else uri


def _covers(path: str, target: str) -> bool:
    path = path.rstrip("/")
    return target == path or target.startswith(path + "/") or fnmatchcase(target, path)


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 3] + "..."
