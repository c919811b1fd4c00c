"""Stateful streaming, checked offline: what ``validate`` accepts and refuses for joins of two streams,
deduplication on a stream, session windows and a sink's own ``output_mode``, each at its file:line:col;
the SQL a time-range join runs and the column lineage of the new shapes. No JVM, no broker.
(tests/integration/test_kafka_streaming_state.py runs them against the broker.)"""

from __future__ import annotations

import textwrap
from pathlib import Path

from etl_cli import app
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.plugins.transforms.join import join_select, join_steps
from tests.unit.helpers import make_project

HEAD = """\
name: p
streaming: {checkpoint_location: ck}
sources:
  - name: clicks
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: clicks
    schema: {click_id: BIGINT, ad_id: BIGINT, user_id: STRING, click_time: TIMESTAMP}
    metadata: []
CLICKS_WATERMARK
  - name: views
    type: kafka
    mode: stream
    bootstrap_servers: localhost:9092
    topic: views
    schema: {ad_id: BIGINT, view_time: TIMESTAMP}
    metadata: []
VIEWS_WATERMARK
"""
CLICKS_WM = "    watermark: {column: click_time, delay: 5 minutes}"
VIEWS_WM = "    watermark: {column: view_time, delay: 5 minutes}"
WITHIN = '{left: click_time, right: view_time, lower: "-10 minutes", upper: "0 seconds"}'


def pipeline(rest: str, clicks_wm: str = CLICKS_WM, views_wm: str = VIEWS_WM) -> str:
    head = HEAD.replace("CLICKS_WATERMARK\n", clicks_wm + "\n" if clicks_wm else "")
    return head.replace("VIEWS_WATERMARK\n", views_wm + "\n" if views_wm else "") + textwrap.dedent(rest).lstrip("\n")


def diagnostics(tmp_path: Path, text: str) -> list[tuple[str, str, str, int, int]]:
    """(severity, code, message, line, column) of the errors validate reports, and the warnings of this feature."""
    make_project(tmp_path, {"p/pipeline.yaml": text})
    [report] = app.validate([tmp_path / "p"])
    return [
        (d.severity, d.code, d.message, d.location.line if d.location else 0, d.location.column if d.location else 0)
        for d in report.diagnostics
        if d.severity == "error" or d.code in ("streaming-output-mode", "streaming-unused")
    ]


def line_of(text: str, fragment: str) -> int:
    """1-based line of the first line of ``text`` containing ``fragment``."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if fragment in line)


def join(how: str = "left", within: str | None = WITHIN, extra: str = "") -> str:
    keys = f"    within: {within}\n" if within else ""
    return (
        "transforms:\n  - name: attributed\n    type: join\n    inputs: [clicks, views]\n"
        f"    how: {how}\n    on: [ad_id]\n{keys}{extra}"
        "sinks:\n  - {name: out, type: parquet, input: attributed, path: out}\n"
    )


# --------------------------------------------------------------------------- joins of two streams


def test_a_join_of_two_watermarked_streams_with_a_time_range_is_valid(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, pipeline(join("left"))) == []
    assert diagnostics(tmp_path, pipeline(join("inner"))) == []


def test_a_join_of_two_streams_without_a_time_range_is_refused_at_the_join(tmp_path: Path) -> None:
    text = pipeline(join("inner", within=None))
    [(severity, code, message, line, column)] = diagnostics(tmp_path, text)
    assert (severity, code, line, column) == ("error", "streaming-state", line_of(text, "- name: attributed"), 5)
    assert message == (
        "transform 'attributed' joins the streams clicks and views without a time range (within:): Spark would "
        "keep every row of both streams in its state for ever, waiting for a match"
    )


def test_a_join_of_two_streams_needs_a_watermark_on_each_side(tmp_path: Path) -> None:
    text = pipeline(join("left"), views_wm="")
    [(_, code, message, line, _)] = diagnostics(tmp_path, text)
    assert (code, line) == ("streaming-state", line_of(text, "- name: attributed"))
    assert message.startswith("transform 'attributed' joins the streams clicks and views, but views reads a stream")
    assert message.endswith("and never write the unmatched left rows")
    found = diagnostics(tmp_path, pipeline(join("left", within=None), clicks_wm="", views_wm=""))
    assert [(code, "clicks, views reads" in m or "time range" in m) for _, code, m, _, _ in found] == [
        ("streaming-state", True),
        ("streaming-state", True),
    ]


def test_only_inner_and_left_joins_of_two_streams(tmp_path: Path) -> None:
    text = pipeline(join("full"))
    [(_, code, message, line, _)] = diagnostics(tmp_path, text)
    assert (code, line) == ("streaming-join", line_of(text, "- name: attributed"))
    assert "with how: full; etl-cli joins two streams inner or left outer" in message


def test_the_time_range_must_be_on_the_watermarked_columns(tmp_path: Path) -> None:
    within = '{left: click_time, right: ad_seen, lower: "-10 minutes", upper: "0 seconds"}'
    text = pipeline(join("inner", within=within))
    [(_, code, message, line, column)] = diagnostics(tmp_path, text)
    assert (code, line) == ("streaming-state", line_of(text, "within:"))
    assert column == text.splitlines()[line - 1].index("ad_seen") + 1
    assert message.startswith(
        "transform 'attributed': within.right is ad_seen, but the watermark of views is on view_time"
    )


def test_a_time_range_whose_lower_bound_is_after_its_upper_bound_is_refused(tmp_path: Path) -> None:
    text = pipeline(join("inner", within='{left: click_time, right: view_time, lower: "1 hour", upper: "0 seconds"}'))
    [(_, code, message, line, _)] = diagnostics(tmp_path, text)
    assert (code, line) == ("invalid-option", line_of(text, "within:"))
    assert "within: lower (1 hour) is after upper (0 seconds)" in message
    text = pipeline(join("inner", within='{left: click_time, right: view_time, lower: "soon", upper: "0 seconds"}'))
    assert [code for _, code, *_ in diagnostics(tmp_path, text)] == ["schema"]


def test_a_stream_joined_with_a_batch_source_needs_no_time_range(tmp_path: Path) -> None:
    text = pipeline(
        """
          - {name: ads, type: csv, path: ads.csv, schema: "ad_id BIGINT, title STRING"}
        transforms:
          - {name: titled, type: join, inputs: [clicks, ads], on: [ad_id]}
        sinks:
          - {name: out, type: parquet, input: titled, path: out}
        """,
        views_wm="",
    )
    assert [(s, c) for s, c, *_ in diagnostics(tmp_path, text) if s == "error"] == []


def test_the_time_range_joins_in_the_on_condition_with_each_column_from_its_side() -> None:
    steps = join_steps(
        {
            "on": ["ad_id"],
            "how": "left",
            "within": {"left": "click_time", "right": "view_time", "lower": "-10 minutes", "upper": "0 seconds"},
        },
        1,
    )
    query = join_select(["clicks", "views"], steps, [["ad_id", "click_time"], ["ad_id", "view_time"]])
    assert query == (
        "SELECT `clicks`.`ad_id` AS `ad_id`, `clicks`.`click_time` AS `click_time`, `views`.`view_time` AS "
        "`view_time` FROM `clicks` LEFT OUTER JOIN `views` ON (`clicks`.`ad_id` = `views`.`ad_id` AND "
        "`views`.`view_time` >= `clicks`.`click_time` - INTERVAL '10 minutes' AND `views`.`view_time` <= "
        "`clicks`.`click_time` + INTERVAL '0 seconds')"
    )


# --------------------------------------------------------------------------- deduplication


def dedup(options: str) -> str:
    return (
        f"transforms:\n  - {{name: unique, type: deduplicate, inputs: [clicks], {options}}}\n"
        "sinks:\n  - {name: out, type: parquet, input: unique, path: out}\n"
    )


def test_a_stream_is_deduplicated_within_its_watermark_or_on_its_event_time(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, pipeline(dedup("keys: [click_id], within_watermark: true"))) == []
    assert diagnostics(tmp_path, pipeline(dedup("keys: [click_id, click_time]"))) == []


def test_a_deduplication_whose_state_grows_for_ever_is_refused(tmp_path: Path) -> None:
    text = pipeline(dedup("keys: [click_id]"))
    [(_, code, message, line, column)] = diagnostics(tmp_path, text)
    assert (code, line, column) == ("streaming-state", line_of(text, "name: unique"), 5)
    assert message.startswith("transform 'unique' deduplicates a stream on click_id: Spark would remember every key")
    text = pipeline(dedup("keys: [click_id], within_watermark: true"), clicks_wm="")
    [(_, code, message, line, _)] = diagnostics(tmp_path, text)
    assert (code, line) == ("streaming-watermark", line_of(text, "within_watermark"))


def test_within_watermark_takes_no_order_by(tmp_path: Path) -> None:
    text = pipeline(dedup("keys: [click_id], within_watermark: true, order_by: [click_time]"))
    codes = [(code, message) for _, code, message, _, _ in diagnostics(tmp_path, text)]
    assert (
        "invalid-option",
        "transforms.unique.within_watermark: within_watermark keeps the first row to arrive per key, "
        "not the first in an order",
    ) in codes


# --------------------------------------------------------------------------- session windows


def sessions(window: str, sink: str = "{name: out, type: json, input: sessions, path: out}") -> str:
    return (
        "transforms:\n  - name: sessions\n    type: aggregate\n    inputs: [clicks]\n"
        f"    window: {window}\n    group_by: [user_id]\n    aggregations: {{clicks: {{function: count}}}}\n"
        f"sinks:\n  - {sink}\n"
    )


def test_a_session_window_takes_a_gap_instead_of_a_duration(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, pipeline(sessions("{column: click_time, gap: 5 minutes}"))) == []
    both = pipeline(sessions("{column: click_time, gap: 5 minutes, duration: 1 minute}"))
    [(_, _, message, line, _)] = diagnostics(tmp_path, both)
    assert line == line_of(both, "window:")
    assert message.endswith("give either duration (fixed windows) or gap (session windows)")
    sliding = pipeline(sessions("{column: click_time, gap: 5 minutes, slide: 1 minute}"))
    assert [
        m.endswith("slide goes with duration; session windows do not slide")
        for _, _, m, _, _ in diagnostics(tmp_path, sliding)
    ] == [True]


def test_a_session_window_on_a_stream_needs_a_watermark(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, pipeline(sessions("{column: click_time, gap: 5 minutes}"), clicks_wm=""))
    assert [code for _, code, *_ in found] == ["streaming-watermark"]


def test_session_windows_are_written_in_append_mode_only(tmp_path: Path) -> None:
    kafka = "{name: out, type: kafka, input: sessions, bootstrap_servers: b:1, topic: t, output_mode: update}"
    text = pipeline(sessions("{column: click_time, gap: 5 minutes}", kafka))
    [(_, code, message, line, column)] = diagnostics(tmp_path, text)
    assert (code, line) == ("streaming-output-mode", line_of(text, "output_mode: update"))
    assert column == text.splitlines()[line - 1].index("update") + 1
    assert message == (
        "sink 'out' writes the session windows of 'sessions', which Spark writes in append mode only, but its "
        "output_mode is update"
    )


# --------------------------------------------------------------------------- output_mode per sink


def windows(sinks: str, mode: str = "append") -> str:
    """A windowed aggregate of the clicks, written by ``sinks`` (YAML list items, one per line)."""
    text = pipeline(
        "transforms:\n  - name: per_minute\n    type: aggregate\n    inputs: [clicks]\n"
        "    window: {column: click_time, duration: 1 minute}\n    aggregations: {clicks: {function: count}}\n"
        "sinks:\n" + "".join(f"  {line}\n" for line in sinks.splitlines())
    )
    return text.replace(
        "streaming: {checkpoint_location: ck}", f"streaming: {{checkpoint_location: ck, output_mode: {mode}}}"
    )


def test_a_sink_s_output_mode_overrides_the_pipeline_s(tmp_path: Path) -> None:
    live = "- {name: live, type: kafka, input: per_minute, bootstrap_servers: b:1, topic: t, output_mode: update}"
    final = "- {name: final, type: json, input: per_minute, path: out, output_mode: append}"
    assert [s for s, *_ in diagnostics(tmp_path, windows(f"{live}\n{final}"))] == ["warning"]  # no key_column
    assert [s for s, *_ in diagnostics(tmp_path, windows(f"{live}\n{final}", mode="update"))] == ["warning"]
    make_project(tmp_path, {"p/pipeline.yaml": windows(f"{live}\n{final}")})
    spec = app.load_spec(tmp_path / "p", None, environ={})[1]
    from etl_cli.plugins.sinks.files import JsonSink
    from etl_cli.plugins.sinks.kafka import KafkaSink

    settings = spec.streaming
    assert settings is not None
    assert settings.output_mode_for(KafkaSink, "append", spec.stage("live").options["output_mode"]) == "update"
    assert settings.output_mode_for(JsonSink, "append", spec.stage("final").options["output_mode"]) == "append"
    assert settings.output_mode_for(KafkaSink, "append") == "append", "without its own, the pipeline's"


def test_update_into_a_file_sink_is_refused_at_the_sink_s_output_mode(tmp_path: Path) -> None:
    text = windows("- {name: final, type: json, input: per_minute, path: out, output_mode: update}")
    [(_, code, message, line, column)] = diagnostics(tmp_path, text)
    assert (code, line, column) == (
        "streaming-output-mode",
        line_of(text, "output_mode: update"),
        text.splitlines()[line - 1].index("update") + 1,
    )
    assert message.startswith("sink 'final' (json, mode append) can only append, but its output_mode is update")
    raw = pipeline("sinks:\n  - {name: raw, type: parquet, input: clicks, path: out, output_mode: update}\n")
    [(_, code, message, _, _)] = diagnostics(tmp_path, raw)
    assert (code, message) == (
        "streaming-output-mode",
        "sink 'raw' (parquet, mode append) can only append, but its output_mode is update (Spark refuses update "
        "output into it)",
    )


def test_output_mode_in_a_batch_pipeline_is_a_warning(tmp_path: Path) -> None:
    text = "name: p\nsources:\n  - {name: a, type: csv, path: a.csv}\nsinks:\n"
    text += "  - {name: b, type: parquet, input: a, path: b, output_mode: update}\n"
    [(severity, code, message, line, _)] = diagnostics(tmp_path, text)
    assert (severity, code, line) == ("warning", "streaming-unused", 5)
    assert message == "sink 'b': output_mode has no effect: no source reads a stream"


# --------------------------------------------------------------------------- column lineage


def test_lineage_of_session_windows_and_time_range_joins(tmp_path: Path) -> None:
    text = pipeline(
        f"""
        transforms:
          - name: attributed
            type: join
            inputs: [clicks, views]
            how: left
            on: [ad_id]
            within: {WITHIN}
          - name: sessions
            type: aggregate
            inputs: [clicks]
            window: {{column: click_time, gap: 5 minutes}}
            group_by: [user_id]
            aggregations: {{clicks: {{function: count}}}}
        sinks:
          - {{name: a, type: parquet, input: attributed, path: a}}
          - {{name: s, type: json, input: sessions, path: s}}
        """
    )
    make_project(tmp_path, {"p/pipeline.yaml": text})
    spec = app.load_spec(tmp_path / "p", None, environ={})[1]
    graph = pipeline_lineage(spec, app.registry())
    assert graph.node("p.sessions").columns == ("window_start", "window_end", "user_id", "clicks")
    assert graph.node("p.attributed").columns == ("ad_id", "click_id", "user_id", "click_time", "view_time")

    def sources(column: str) -> set[tuple[str, str]]:
        return {(str(e.source), e.how) for e in graph.edges if str(e.target) == column}

    assert ("p.clicks.click_time", "expression") in sources("p.sessions.window_start")
    assert ("p.clicks.click_time", "expression") in sources("p.sessions.window_end")
    assert ("p.views.view_time", "identity") in sources("p.attributed.view_time")
    assert ("p.clicks.click_time", "join_key") in sources("p.attributed.view_time"), "the time range picks the rows"
    assert graph.unknowns == ()


# --------------------------------------------------------------------------- what each refusal says and hints


def refusals(tmp_path: Path, text: str) -> list[tuple[str, str, str | None]]:
    """(code, message, hint) of the errors validate reports."""
    make_project(tmp_path, {"p/pipeline.yaml": text})
    [report] = app.validate([tmp_path / "p"])
    return [(d.code, d.message, d.hint) for d in report.diagnostics if d.severity == "error"]


STEP = "transform 'attributed' joins the streams clicks and views"
FOREVER = "Spark would keep every row of both streams in its state for ever"
WATERMARK_HINT = (
    'add watermark: {column: <event time>, delay: "10 minutes"} to every streaming source the join reads, and a '
    "within: time range between the two event times"
)
WITHIN_HINT = (
    'add within: {left: <left event time>, right: <right event time>, lower: "-10 minutes", upper: "0 seconds"} '
    "(right between left + lower and left + upper)"
)


def test_each_join_refusal_says_what_spark_would_do_and_hints_the_fix(tmp_path: Path) -> None:
    assert refusals(tmp_path, pipeline(join("left", within=None))) == [
        (
            "streaming-state",
            f"{STEP} without a time range (within:): {FOREVER}, waiting for a match, and never write the unmatched "
            "left rows",
            WITHIN_HINT,
        )
    ]
    assert refusals(tmp_path, pipeline(join("inner"), clicks_wm="")) == [
        ("streaming-state", f"{STEP}, but clicks reads a stream without a watermark: {FOREVER}", WATERMARK_HINT)
    ]
    assert refusals(tmp_path, pipeline(join("left"), clicks_wm="", views_wm="")) == [
        (
            "streaming-state",
            f"{STEP}, but clicks, views reads a stream without a watermark: {FOREVER} and never write the unmatched "
            "left rows",
            WATERMARK_HINT,
        )
    ]
    assert refusals(tmp_path, pipeline(join("right"))) == [
        (
            "streaming-join",
            f"{STEP} with how: right; etl-cli joins two streams inner or left outer",
            "use how: inner or left (put the stream whose rows must all be kept on the left)",
        )
    ]


def test_a_join_step_given_in_joins_is_checked_with_its_own_how_and_time_range(tmp_path: Path) -> None:
    # the step's own how and within win over the transform's
    step = f"    joins:\n      - {{how: inner, within: {WITHIN}}}\n"
    assert refusals(tmp_path, pipeline(join("full", within=None, extra=step))) == []
    step = "    joins:\n      - {how: full}\n"
    [(code, message, _)] = refusals(tmp_path, pipeline(join("inner", extra=step)))
    assert (code, message) == (
        "streaming-join",
        f"{STEP} with how: full; etl-cli joins two streams inner or left outer",
    )
    # a step without its own within takes the transform's
    step = "    joins:\n      - {how: left}\n"
    assert refusals(tmp_path, pipeline(join("inner", extra=step))) == []
