"""Secrets in ``spark.conf`` never appear on a command line, where every local user can read them (``ps``).

One ``etl-cli run`` is started as a subprocess with two secrets in its ``spark.conf`` (a
Hadoop credential and a JVM system property), and the process table is sampled until the
run ends: every process's command line, the launcher's private files while they exist.
The tests then check what the samples saw.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from etl_cli.runtime.spark.gateway import java_argument_file, properties_text
from etl_cli.runtime.spark.java import find_java
from tests.clihelp import REPO

CONF_SECRET = "conf-" + secrets.token_hex(8)
JAVA_SECRET = "java-" + secrets.token_hex(8)

PIPELINE = """
name: hidden
spark:
  master: local[1]
  conf:
    spark.hadoop.fs.s3a.secret.key: ${{secret:env:ETL_TEST_CONF_SECRET}}
    spark.driver.extraJavaOptions: >-
      -Detl.test.password=${{secret:env:ETL_TEST_JAVA_SECRET}} -Detl.test.flag=on
sources:
  - name: orders
    type: csv
    path: {data}
    schema: "order_id INT, amount DOUBLE"
transforms:
  - name: flagged
    type: derive
    inputs: [orders]
    columns:
      flag: "reflect('java.lang.System', 'getProperty', 'etl.test.flag')"
sinks:
  - name: out
    type: parquet
    input: flagged
    path: {out}
"""


#: prints the properties in ./spark.properties, then the system properties named by its arguments:
#: a line each, the name, a tab, the value's code points
PRINTER = r"""
import java.io.*; import java.nio.charset.StandardCharsets; import java.util.*;
public class Printer {
    static void show(String name, String value) {
        StringBuilder points = new StringBuilder();
        value.codePoints().forEach(p -> points.append(p).append(' '));
        System.out.println(name + "\t" + points.toString().trim());
    }
    public static void main(String[] args) throws IOException {
        Properties file = new Properties();
        try (Reader in = new InputStreamReader(new FileInputStream("spark.properties"), StandardCharsets.UTF_8)) {
            file.load(in);
        }
        for (String name : new TreeSet<>(file.stringPropertyNames())) show(name, file.getProperty(name));
        for (String name : args) show(name, System.getProperty(name));
    }
}
"""
AWKWARD = " lead and trail \\ = : # ! é 😀 \"quoted\" 'single' tab\there \nnew line "


def java_sees(tmp_path: Path, properties: dict[str, str], options: str, names: list[str]) -> dict[str, str]:
    """What ``java.util.Properties`` reads from our properties file and what ``java @argfile`` sets, by name."""
    (tmp_path / "Printer.java").write_text(PRINTER)
    (tmp_path / "spark.properties").write_text(properties_text(properties), encoding="utf-8")
    (tmp_path / "options").write_text(java_argument_file("spark.driver.extraJavaOptions", options), encoding="utf-8")
    command = [str(find_java()), f"@{tmp_path / 'options'}", str(tmp_path / "Printer.java"), *names]
    out = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True).stdout
    lines = (line.split("\t") for line in out.splitlines())
    return {name: "".join(chr(int(p)) for p in points.split()) for name, points in lines}


def test_settings_reach_java_unchanged_through_the_properties_file(tmp_path: Path) -> None:
    settings = {"spark.etl.awkward": AWKWARD, "spark.key with = and :": "x", "spark.empty": ""}
    assert java_sees(tmp_path, settings, "", []) == settings


def test_jvm_options_reach_java_unchanged_through_the_argument_file(tmp_path: Path) -> None:
    options = "-Dplain=1 \"-Dspaced=two words\" -Dquoted='it''s' -Descaped=back\\\\slash -Dlines='one\ntwo' -Dé=😀"
    seen = java_sees(tmp_path, {}, options, ["plain", "spaced", "quoted", "escaped", "lines", "é"])
    expected = {"plain": "1", "spaced": "two words", "quoted": "its", "escaped": "back\\slash", "lines": "one\ntwo"}
    assert seen == {**expected, "é": "😀"}


@dataclass
class Observed:
    """What sampling the process table saw during the run."""

    leaks: set[str] = field(default_factory=set)
    launch_files: set[str] = field(default_factory=set)
    modes: set[int] = field(default_factory=set)
    gone_while_running: set[str] = field(default_factory=set)
    samples: int = 0
    returncode: int | None = None
    stderr: str = ""


def _launch_file_arguments(command: list[str]) -> list[str]:
    """Files the JVM is started with: ``--properties-file FILE`` and java's ``@argfiles``."""
    found = [command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "--properties-file"]
    return found + [arg[1:] for arg in command if arg.startswith("@/")]


def _sample(observed: Observed, run: subprocess.Popen[str]) -> None:
    """Look at every process's command line once: secrets anywhere; the run's own launch files and their state."""
    observed.samples += 1
    try:
        ours = {child.pid for child in psutil.Process(run.pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        text = " ".join(command)
        observed.leaks |= {name for name, value in (("conf", CONF_SECRET), ("java", JAVA_SECRET)) if value in text}
        for path in _launch_file_arguments(command) if process.pid in ours else []:
            observed.launch_files.add(path)
            try:
                observed.modes.add(stat.S_IMODE(os.stat(path).st_mode))
            except FileNotFoundError:
                if run.poll() is None and process.is_running():
                    observed.gone_while_running.add(path)


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Observed, Path]]:
    """Run the pipeline once, sampling the process table every 20 ms until it ends."""
    root = tmp_path_factory.mktemp("hidden")
    (root / "orders.csv").write_text("order_id,amount\n1,12.5\n2,7.0\n")
    (root / "pipeline.yaml").write_text(PIPELINE.format(data=root / "orders.csv", out=root / "out"))
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "ETL_STATE_DIR": str(root / "state"),
        "ETL_TEST_CONF_SECRET": CONF_SECRET,
        "ETL_TEST_JAVA_SECRET": JAVA_SECRET,
    }
    command = [sys.executable, "-m", "etl_cli", "run", str(root), "--results-dir", str(root / "results")]
    observed = Observed()
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as run:
        deadline = time.monotonic() + 300
        while run.poll() is None and time.monotonic() < deadline:
            _sample(observed, run)
            time.sleep(0.02)
        _, observed.stderr = run.communicate(timeout=30)
        observed.returncode = run.returncode
    yield observed, root


def test_the_run_succeeds(observed: tuple[Observed, Path]) -> None:
    result, _ = observed
    assert result.returncode == 0, result.stderr
    assert result.samples > 10, "the run ended before the process table could be sampled"


def test_no_command_line_holds_a_secret(observed: tuple[Observed, Path]) -> None:
    result, _ = observed
    assert result.leaks == set()


def test_the_jvm_starts_from_files_only_its_user_can_read(observed: tuple[Observed, Path]) -> None:
    result, _ = observed
    assert result.launch_files, "the JVM was started without a properties file"
    assert result.modes == {0o600}


def test_the_launch_files_are_removed_once_the_jvm_has_started(observed: tuple[Observed, Path]) -> None:
    result, _ = observed
    assert result.launch_files, "the JVM was started without a properties file"
    assert result.gone_while_running == result.launch_files
    assert not any(Path(path).exists() for path in result.launch_files)


def test_java_options_from_spark_conf_still_take_effect_at_jvm_start(observed: tuple[Observed, Path]) -> None:
    _, root = observed
    flags = pq.read_table(root / "out").column("flag").to_pylist()
    assert flags == ["on", "on"]
