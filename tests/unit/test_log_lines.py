"""What a run logs: the fields of ``--log-format json`` lines; ``--log-file``, the same lines in a file."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from etl_cli.cli.options import TextOrJson
from etl_cli.cli.reporters import JsonLinesReporter, run_log
from etl_cli.errors import RunError, UsageError
from etl_cli.events import Reporter, StageResult

from .tracinghelp import recording


def lines_of(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def play(reporter: Reporter) -> None:
    """A short run: start, one source stage with a retry and a warning inside it, a warning after it, the end."""
    reporter.run_started("r1", "orders", "prod", 1)
    reporter.session_starting("local[1]")
    reporter.stage_started("raw", "source", "csv", 1, 1)
    reporter.retrying("read source 'raw' (csv)", "file://", 1, 2, 0.5, "timed out")
    reporter.message("warning", "slow input")
    reporter.stage_finished(StageResult("raw", "source", "csv", "ok", rows_out=3, duration_s=1.0), 1, 1)
    reporter.message("info", "metrics exported to orders.prom")
    reporter.run_finished([], "success", 2.0, "r1.json")


def test_every_json_line_names_the_run_pipeline_and_env() -> None:
    stream = io.StringIO()
    play(JsonLinesReporter(stream))
    found = {(e["run_id"], e["pipeline"], e["env"]) for e in lines_of(stream.getvalue())}
    assert found == {("r1", "orders", "prod")}


def test_json_lines_name_the_stage_that_runs_and_only_while_it_runs() -> None:
    stream = io.StringIO()
    play(JsonLinesReporter(stream))
    stages = [(e["event"], e["stage"]) for e in lines_of(stream.getvalue())]
    assert stages == [
        ("run_started", None),
        ("session_starting", None),
        ("stage_started", "raw"),
        ("retrying", "raw"),
        ("message", "raw"),
        ("stage_finished", "raw"),
        ("message", None),
        ("run_finished", None),
    ]


def test_the_log_file_gets_the_json_lines_the_console_gets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with run_log(TextOrJson.json, tmp_path / "run.log") as reporter:
        play(reporter)
    console = capsys.readouterr().err
    assert len(console.splitlines()) == 8
    assert (tmp_path / "run.log").read_text() == console


def test_the_log_file_gets_the_text_lines_without_colour_or_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with run_log(TextOrJson.text, tmp_path / "run.log") as reporter:
        play(reporter)
    text = (tmp_path / "run.log").read_text()
    assert text.splitlines()[:2] == ["run r1 · pipeline orders · env prod · 1 stages", "starting Spark (local[1])"]
    assert "warning: slow input" in text.splitlines()
    assert "\x1b" not in text and "[bold]" not in text
    assert "warning: slow input" in capsys.readouterr().err


def test_a_new_log_file_is_readable_and_writable_by_its_owner_only(tmp_path: Path) -> None:
    with run_log(TextOrJson.json, tmp_path / "run.log") as reporter:
        play(reporter)
    assert stat.S_IMODE((tmp_path / "run.log").stat().st_mode) == 0o600


def test_the_log_file_is_appended_to(tmp_path: Path) -> None:
    (tmp_path / "run.log").write_text("an earlier line\n")
    with run_log(TextOrJson.json, tmp_path / "run.log") as reporter:
        play(reporter)
    lines = (tmp_path / "run.log").read_text().splitlines()
    assert lines[0] == "an earlier line" and len(lines) == 9


def test_the_error_that_ends_a_run_is_the_last_line_of_the_log_file(tmp_path: Path) -> None:
    with pytest.raises(RunError), run_log(TextOrJson.json, tmp_path / "run.log") as reporter:
        reporter.run_started("r1", "orders", None, 1)
        raise RunError("source 'raw' (csv) failed", hint="fix the path")
    last = lines_of((tmp_path / "run.log").read_text())[-1]
    assert (last["event"], last["level"], last["text"]) == (
        "message",
        "error",
        "source 'raw' (csv) failed\n  hint: fix the path",
    )
    assert (last["run_id"], last["pipeline"], last["env"]) == ("r1", "orders", None)


def test_a_log_file_that_cannot_be_opened_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "run.log"
    with pytest.raises(UsageError) as raised, run_log(TextOrJson.json, path):
        pass
    assert f"cannot write the log file {path}" in str(raised.value)


def test_json_lines_of_a_traced_run_carry_its_trace_id_on_every_line() -> None:
    """The trace starts before the run does, so even ``run_started`` and ``run_finished`` (after it ended) carry it."""
    stream = io.StringIO()
    with recording() as rec:
        reporter = JsonLinesReporter(stream)
        reporter.run_started("r1", "orders", "prod", 1)
        reporter.stage_started("raw", "source", "csv", 1, 1)
    reporter.run_finished([], "success", 2.0, "r1.json")
    assert [e["trace_id"] for e in lines_of(stream.getvalue())] == [rec.trace_id] * 3


def test_json_lines_of_a_run_without_tracing_have_a_null_trace_id() -> None:
    stream = io.StringIO()
    play(JsonLinesReporter(stream))
    assert {e["trace_id"] for e in lines_of(stream.getvalue())} == {None}
