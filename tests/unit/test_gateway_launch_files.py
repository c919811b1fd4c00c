"""The private files Spark's JVM is started from: readable by their owner only, gone when the block ends."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from etl_cli.errors import ConfigError
from etl_cli.runtime.spark.gateway import java_argument_file, launch_files

SETTINGS = {"spark.hadoop.fs.s3a.secret.key": "s3cr3t-value", "spark.driver.extraJavaOptions": "-Da=1 -Db=2"}


def properties_file(arguments: list[str]) -> Path:
    assert arguments[0] == "--properties-file" and "--load-spark-defaults" in arguments
    return Path(arguments[1])


def test_the_files_and_their_folder_are_private() -> None:
    with launch_files(SETTINGS) as arguments:
        folder = properties_file(arguments).parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        modes = {stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}
    assert modes == {0o600}


def test_the_driver_jvm_options_go_to_an_argument_file_named_in_the_properties() -> None:
    with launch_files(SETTINGS) as arguments:
        text = properties_file(arguments).read_text()
        (line,) = [line for line in text.splitlines() if line.startswith("spark.driver.extraJavaOptions=")]
        argfile = Path(line.split("=", 1)[1].removeprefix("@"))
        assert argfile.read_text() == '"-Da=1"\n"-Db=2"\n'
        assert "s3cr3t-value" in text


def test_the_files_are_removed_when_the_block_ends() -> None:
    with launch_files(SETTINGS) as arguments:
        folder = properties_file(arguments).parent
    assert not folder.exists()


def test_the_files_are_removed_when_the_jvm_fails_to_start() -> None:
    with pytest.raises(RuntimeError), launch_files(SETTINGS) as arguments:
        folder = properties_file(arguments).parent
        raise RuntimeError("JAVA_GATEWAY_EXITED")
    assert not folder.exists()


def test_a_heap_size_in_jvm_options_is_refused_as_spark_refuses_it() -> None:
    with pytest.raises(ConfigError, match=r"spark\.driver\.memory"):
        java_argument_file("spark.driver.extraJavaOptions", "-Xmx4g")
