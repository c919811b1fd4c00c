"""Starting Spark's JVM (PySpark's gateway) with its settings off every command line.

PySpark starts the JVM as ``spark-submit --conf key=value ...``; Spark's launcher then runs
``java <driver JVM options> ... SparkSubmit --conf key=value ...``. Command lines are
readable by every local user (``ps``, ``/proc/PID/cmdline``), and a setting may hold a
secret (``spark.hadoop.fs.s3a.secret.key``, a ``-D...password=`` JVM option). So the
settings go in a properties file (``--properties-file``) and the driver's JVM options in a
java argument file (``@file``, which the launcher passes to ``java`` as is), both mode 0600
in a folder of mode 0700 that is removed as soon as the JVM has started, or failed to.

spark-submit and the launcher read both files before the JVM's gateway answers, and Spark
turns the settings into system properties of the JVM, so launch-time settings (JVM options,
driver memory, jars and packages) take effect as they did on the command line.
``--load-spark-defaults`` keeps ``spark-defaults.conf`` underneath, as without a file.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from etl_cli.errors import ConfigError

#: the settings the launcher puts on the ``java`` command line as JVM options
DRIVER_JAVA_OPTIONS = ("spark.driver.defaultJavaOptions", "spark.driver.extraJavaOptions")
#: what ``java.util.Properties`` reads specially; escaped wherever they appear (valid in keys and values)
_PROPERTY_ESCAPES = {"\\": "\\\\", "=": "\\=", ":": "\\:", "#": "\\#", "!": "\\!", " ": "\\ "}
_ARGUMENT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}


def launch_gateway(settings: Mapping[str, str], popen_kwargs: dict[str, Any] | None = None) -> Any:
    """Start the JVM with ``settings`` passed through private files; they are gone when this returns."""
    from pyspark import java_gateway

    with launch_files(settings) as arguments, _submit_arguments(arguments):
        return java_gateway.launch_gateway(None, popen_kwargs=popen_kwargs)


@contextmanager
def launch_files(settings: Mapping[str, str]) -> Iterator[list[str]]:
    """spark-submit's arguments that pass ``settings`` through private files, removed when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="etl-cli-spark-"))  # mode 0700
    try:
        launch = dict(settings)
        for index, key in enumerate(DRIVER_JAVA_OPTIONS):
            if launch.get(key, "").strip():
                argfile = _write_private(folder / f"java-options-{index}", java_argument_file(key, launch[key]))
                launch[key] = f"@{argfile}"
        properties = _write_private(folder / "spark.properties", properties_text(launch))
        yield ["--properties-file", str(properties), "--load-spark-defaults"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def properties_text(settings: Mapping[str, str]) -> str:
    """``settings`` in ``java.util.Properties`` format, read the same whatever charset the reader assumes."""
    return "".join(f"{_property_escape(key)}={_property_escape(value)}\n" for key, value in settings.items())


def java_argument_file(key: str, options: str) -> str:
    """JVM options (as Spark splits them: shell-like quoting) in java's ``@file`` format, one quoted per line."""
    try:
        arguments = shlex.split(options)
    except ValueError as exc:
        raise ConfigError(
            f"spark.conf '{key}' is not a valid list of JVM options: {exc}",
            hint='quote options holding spaces whole, e.g. "-Dname=two words"',
        ) from None
    if any(argument.startswith("-Xmx") for argument in arguments):
        raise ConfigError(
            f"spark.conf '{key}' sets the heap size (-Xmx), which Spark does not allow in JVM options",
            hint="set spark.driver.memory instead",
        )
    return "".join(f'"{"".join(_ARGUMENT_ESCAPES.get(c, c) for c in argument)}"\n' for argument in arguments)


def _property_escape(text: str) -> str:
    return "".join(_PROPERTY_ESCAPES.get(c) or (c if " " < c < "\x7f" else _unicode_escape(c)) for c in text)


def _unicode_escape(character: str) -> str:
    units = character.encode("utf-16-be")
    return "".join(f"\\u{units[i : i + 2].hex()}" for i in range(0, len(units), 2))


def _write_private(path: Path, text: str) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    return path


@contextmanager
def _submit_arguments(arguments: list[str]) -> Iterator[None]:
    """Put ``arguments`` first in ``PYSPARK_SUBMIT_ARGS`` (PySpark's only way to add any) while the JVM starts."""
    before = os.environ.get("PYSPARK_SUBMIT_ARGS")
    os.environ["PYSPARK_SUBMIT_ARGS"] = shlex.join(arguments) + " " + (before or "pyspark-shell")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYSPARK_SUBMIT_ARGS", None)
        else:
            os.environ["PYSPARK_SUBMIT_ARGS"] = before
