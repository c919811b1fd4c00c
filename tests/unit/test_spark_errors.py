"""Turning a Spark/JVM failure into one short message: its root cause, without wrappers or stack traces.

The throwable chains below are copied from real Spark 4 failures (outermost first, as
``getCause()`` walks them); tests/spark/test_error_messages.py raises the same errors for real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.errors import RunError
from etl_cli.plugins.api import StageSpec
from etl_cli.runtime.execution.spark_errors import MAX_CHARS, SparkFailure, clean, explain, source_reading, summarize

MALFORMED_CSV = [
    (
        "org.apache.spark.SparkException",
        "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file file:///data/in/bad.csv.  SQLSTATE: KD001",
    ),
    (
        "org.apache.spark.SparkException",
        "[MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] Malformed records are detected in record parsing: "
        "[2,null].\nParse Mode: FAILFAST. To process malformed records as null result, try setting the option "
        "'mode' as 'PERMISSIVE'.  SQLSTATE: 22023",
    ),
    (
        "org.apache.spark.SparkRuntimeException",
        "[MALFORMED_CSV_RECORD] Malformed CSV record: 2,abc,extra SQLSTATE: KD000",
    ),
]

MALFORMED_JSON = [
    (
        "org.apache.spark.SparkException",
        "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file file:///data/in/bad.json.  SQLSTATE: KD001",
    ),
    (
        "org.apache.spark.SparkException",
        "[MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] Malformed records are detected in record parsing: "
        "[null].\nParse Mode: FAILFAST. To process malformed records as null result, try setting the option "
        "'mode' as 'PERMISSIVE'.  SQLSTATE: 22023",
    ),
    (
        "com.fasterxml.jackson.core.JsonParseException",
        "Unexpected end-of-input within/between Object entries\n at [Source: UNKNOWN; line: 1, column: 10]",
    ),
]

PATH_NOT_FOUND = [
    (
        "org.apache.spark.sql.AnalysisException",
        "[PATH_NOT_FOUND] Path does not exist: file:/data/in/nope.csv. SQLSTATE: 42K03",
    )
]

UNRESOLVED_COLUMN = [
    (
        "org.apache.spark.sql.catalyst.ExtendedAnalysisException",
        "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `nosuch` cannot "
        "be resolved. Did you mean one of the following? [`id`]. SQLSTATE: 42703;\n'Project ['nosuch]\n"
        "+- Range (0, 3, step=1, splits=Some(1))\n",
    )
]

PYTHON_WORKER = [
    (
        "org.apache.spark.SparkException",
        "Job aborted due to stage failure: Task 0 in stage 0.0 failed 1 times, most recent failure: Lost task 0.0 "
        "in stage 0.0 (TID 0) (10.0.0.2 executor driver): org.apache.spark.api.python.PythonException: Traceback "
        '(most recent call last):\n  File "worker.py", line 2044, in main\n',
    ),
    (
        "org.apache.spark.api.python.PythonException",
        'Traceback (most recent call last):\n  File "worker.py", line 2044, in main\n    process()\n'
        "ZeroDivisionError: division by zero\n",
    ),
]


@pytest.mark.parametrize(
    ("chain", "message", "file"),
    [
        (
            MALFORMED_CSV,
            "[MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] Malformed records are detected in record parsing: "
            "[2,null]. Cause: [MALFORMED_CSV_RECORD] Malformed CSV record: 2,abc,extra",
            "file:///data/in/bad.csv",
        ),
        (
            MALFORMED_JSON,
            "[MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] Malformed records are detected in record parsing: "
            "[null]. Cause: JsonParseException: Unexpected end-of-input within/between Object entries",
            "file:///data/in/bad.json",
        ),
    ],
    ids=["csv record names the record", "json line names the parser error"],
)
def test_a_malformed_record_names_the_parse_failure_and_its_cause_not_the_read_wrapper(
    chain: list[tuple[str, str]], message: str, file: str
) -> None:
    assert summarize(chain) == SparkFailure(message, "MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION", file)


def test_a_missing_path_keeps_the_path_as_the_file() -> None:
    assert summarize(PATH_NOT_FOUND) == SparkFailure(
        "[PATH_NOT_FOUND] Path does not exist: file:/data/in/nope.csv.", "PATH_NOT_FOUND", "file:/data/in/nope.csv"
    )


def test_an_analysis_error_drops_the_logical_plan_below_its_first_line() -> None:
    assert summarize(UNRESOLVED_COLUMN) == SparkFailure(
        "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `nosuch` cannot "
        "be resolved. Did you mean one of the following? [`id`].",
        "UNRESOLVED_COLUMN.WITH_SUGGESTION",
        None,
    )


def test_a_python_worker_failure_is_the_last_line_of_its_traceback() -> None:
    assert summarize(PYTHON_WORKER) == SparkFailure("ZeroDivisionError: division by zero", None, None)


def test_a_chain_of_wrappers_only_keeps_the_failure_the_job_abort_reports() -> None:
    chain = [
        (
            "org.apache.spark.SparkException",
            "Job aborted due to stage failure: Task 3 in stage 2.0 failed 4 times, most recent failure: Lost task "
            "3.3 in stage 2.0 (TID 9) (worker-1 executor 2): java.io.IOException: No space left on device\n"
            "\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)",
        )
    ]
    assert summarize(chain).message == "java.io.IOException: No space left on device"


def test_a_failed_stream_and_write_are_explained_by_what_failed_inside_them() -> None:
    chain = [
        (
            "org.apache.spark.sql.streaming.StreamingQueryException",
            "[STREAM_FAILED] Query [id = 1f, runId = 2e] terminated with exception: Exception thrown in "
            "awaitResult: SQLSTATE: XXKST",
        ),
        ("org.apache.spark.SparkException", "Exception thrown in awaitResult: "),
        ("org.apache.spark.SparkException", "[TASK_WRITE_FAILED] Task failed while writing rows to s3a://b/out."),
        ("java.nio.file.AccessDeniedException", "s3a://b/out/part-0: getFileStatus on s3a://b/out/part-0: 403"),
    ]
    assert summarize(chain) == SparkFailure(
        "AccessDeniedException: s3a://b/out/part-0: getFileStatus on s3a://b/out/part-0: 403", None, None
    )


def test_java_concurrency_wrappers_are_skipped_for_their_cause() -> None:
    chain = [
        ("java.util.concurrent.ExecutionException", "java.sql.SQLException: No suitable driver"),
        ("java.sql.SQLException", "No suitable driver"),
    ]
    assert summarize(chain).message == "SQLException: No suitable driver"


def test_an_exception_without_a_message_is_named_by_its_class() -> None:
    assert summarize([("java.lang.NullPointerException", "")]).message == "NullPointerException"
    assert summarize([("org.apache.spark.SparkException", "")]).message == "SparkException"


def test_a_python_error_is_named_by_its_class() -> None:
    assert explain(ConnectionRefusedError(111, "Connection refused")).message == (
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )


def test_etl_cli_errors_are_kept_whole() -> None:
    message = "contract broken:\n  missing: currency STRING\n" + "x" * 1000
    assert explain(RunError(message)).message == message


def test_the_message_is_bounded() -> None:
    chain = [("java.lang.IllegalStateException", "x" * 5000)]
    message = summarize(chain).message
    assert len(message) == MAX_CHARS
    assert message.endswith("...")


def test_clean_keeps_the_first_line_without_the_jvm_stacktrace_or_sqlstate() -> None:
    text = (
        "[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0. SQLSTATE: 22012\n"
        "== SQL (line 1, position 1) ==\n1/0 as x\n^^^\n\nJVM stacktrace:\norg.apache.spark.SparkArithmeticException"
    )
    assert clean(text) == "[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0."


def test_clean_collapses_runs_of_spaces() -> None:
    assert clean("  Encountered   error\twhile reading  ") == "Encountered error while reading"


def csv_source(name: str, path: object) -> StageSpec:
    return StageSpec(name, "source", "csv", (), {"path": path})


def reader_name(file: str, sources: list[StageSpec], project_root: str = "/p") -> str | None:
    found = source_reading(file, sources, Path(project_root))
    return None if found is None else found.name


def test_the_source_reading_a_failed_file_is_found_by_its_path() -> None:
    sources = [csv_source("customers", "data/customers.csv"), csv_source("orders", "data/orders.csv")]
    assert reader_name("file:///srv/etl/data/orders.csv", sources, "/srv/etl") == "orders"


def test_a_source_reading_a_folder_or_a_glob_owns_the_files_in_it() -> None:
    sources = [csv_source("daily", ["old/x.csv", "/in/2024-*/*.csv"]), csv_source("all", "/in/all")]
    assert reader_name("file:/in/2024-05/part%201.csv", sources) == "daily"
    assert reader_name("file:///in/all/sub/x.csv", sources) == "all"


def test_no_source_is_named_for_a_file_none_of_them_reads() -> None:
    sources = [csv_source("orders", "/in/orders.csv"), StageSpec("t", "transform", "sql", ("orders",), {})]
    assert reader_name("file:///in/orders.csv.bak", sources) is None
    assert reader_name("s3a://bucket/orders.csv", sources) is None


def test_object_store_paths_are_compared_as_written() -> None:
    assert reader_name("s3a://bucket/landing/2024/a.csv", [csv_source("landing", "s3a://bucket/landing/")]) == "landing"
