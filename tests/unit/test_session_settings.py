"""The Spark settings a session starts with: collectors per workload, defaults a pipeline overrides."""

from __future__ import annotations

from etl_cli.runtime.spark.session import session_settings

DRIVER = "spark.driver.extraJavaOptions"


def test_a_batch_run_uses_the_throughput_collector() -> None:
    assert "-XX:+UseParallelGC" in session_settings("job")[DRIVER]


def test_a_streaming_run_keeps_the_jvm_default_collector() -> None:
    assert "GC" not in session_settings("job", streaming=True)[DRIVER]


def test_an_analysis_session_uses_the_serial_collector_only() -> None:
    options = session_settings("job", analysis=True)[DRIVER]
    assert "-XX:+UseSerialGC" in options
    assert "-XX:+UseParallelGC" not in options


def test_pipeline_java_options_are_added_to_the_logging_options() -> None:
    options = session_settings("job", conf={DRIVER: "-Dcustom=1"})[DRIVER].split()
    assert options[-1] == "-Dcustom=1"
    assert any(option.startswith("-Dlog4j2.configurationFile=") for option in options)
    assert "-XX:+UseParallelGC" in options


def test_a_collector_named_by_the_pipeline_replaces_etl_clis() -> None:
    options = session_settings("job", conf={DRIVER: "-XX:+UseG1GC -Xss4m"})[DRIVER].split()
    assert [option for option in options if option.endswith("GC")] == ["-XX:+UseG1GC"]
    assert "-Xss4m" in options


def test_parquet_timestamps_default_to_micros_and_the_pipeline_can_choose_int96() -> None:
    key = "spark.sql.parquet.outputTimestampType"
    assert session_settings("job")[key] == "TIMESTAMP_MICROS"
    assert session_settings("job", conf={key: "INT96"})[key] == "INT96"
