"""The Python interpreter the executors start for Python UDFs: ``spark.pyspark.python`` when a pipeline names one.

The interpreter named is a wrapper script that marks the environment, then runs this interpreter; a UDF reports
the mark, so the answer comes from the worker process itself, not from etl-cli's setting.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path
from typing import Any

from etl_cli.runtime.spark.session import build_session

MARK = "ETL_TEST_EXECUTOR_PYTHON"


def test_spark_pyspark_python_is_the_interpreter_of_python_udfs(spark: Any, tmp_path: Path) -> None:
    from pyspark.sql import functions as F

    wrapper = tmp_path / "python-for-executors"
    wrapper.write_text(f'#!/bin/sh\n{MARK}=wrapper exec "{sys.executable}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    before = spark.sparkContext.pythonExec

    def mark(_: Any) -> str | None:  # a local function: pickled by value, the worker needs no test module
        import os

        return os.environ.get("ETL_TEST_EXECUTOR_PYTHON")

    try:
        assert spark.range(1).select(F.udf(mark, "string")("id")).first()[0] is None  # this interpreter, unmarked
        session = build_session("etl-cli-tests", master="local[2]", conf={"spark.pyspark.python": str(wrapper)})
        assert session.range(1).select(F.udf(mark, "string")("id")).first()[0] == "wrapper"
    finally:
        spark.sparkContext.pythonExec = before
