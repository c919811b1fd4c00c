"""Results writer: ``latest.json``, ``latest.md`` (tables) and ``latest.png`` (chart).

    python -m benchmarks.report benchmarks/results/latest.json   # redraw the .md and .png from the JSON

A copy of each run's JSON also goes to ``history/`` next to them (git-ignored), so earlier
runs stay comparable without bloating the repository. The chart needs matplotlib (the
``bench`` extra); without it the JSON and Markdown are still written and the JSON says why
there is no chart.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from benchmarks import cli_latency

JSON_NAME, MARKDOWN_NAME, CHART_NAME = "latest.json", "latest.md", "latest.png"


def render(json_file: Path) -> None:
    """Redraw the Markdown and the chart next to an existing results JSON (after changing this module)."""
    results = json.loads(json_file.read_text(encoding="utf-8"))
    chart = json_file.with_suffix(".png")
    if write_chart(results, chart) is None:
        results["chart"] = chart.name
    json_file.with_suffix(".md").write_text(markdown(results), encoding="utf-8")


def write_results(results: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Write the three result files into ``folder`` (and a dated JSON copy under ``history/``)."""
    folder.mkdir(parents=True, exist_ok=True)
    chart = folder / CHART_NAME
    chart_error = write_chart(results, chart)
    results["chart"] = CHART_NAME if chart_error is None else None
    if chart_error is not None:
        results["chart_missing"] = chart_error
        chart.unlink(missing_ok=True)
    text = json.dumps(results, indent=2, default=str) + "\n"
    paths = {"json": folder / JSON_NAME, "markdown": folder / MARKDOWN_NAME}
    paths["json"].write_text(text, encoding="utf-8")
    paths["markdown"].write_text(markdown(results), encoding="utf-8")
    history = folder / "history"
    history.mkdir(exist_ok=True)
    stamp = results["machine"]["date"].replace(":", "").replace("-", "")
    shutil.copyfile(paths["json"], history / f"{stamp}-{results['suite']['profile']}.json")
    if chart_error is None:
        paths["chart"] = chart
    return paths


# ----------------------------------------------------------------------------- Markdown


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _spread(stats: dict[str, Any] | None, digits: int = 2) -> str:
    """``median [min-max]``, or the single value when there was one run."""
    if not stats:
        return "-"
    if stats["n"] == 1:
        return _fmt(stats["median"], digits)
    return f"{_fmt(stats['median'], digits)} [{_fmt(stats['min'], digits)}-{_fmt(stats['max'], digits)}]"


def _met(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "**no**")


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    return (
        f"{m['cores']} cores · {m['memory_gib']} GiB · {m['cpu']} · {m['os']} · Python {m['python']} · "
        f"{m['java']} · Spark {m['spark']} · etl-cli {m.get('etl_cli_commit') or '?'}"
    )


def _fewer_rounds(results: dict[str, Any], repeat: int) -> str:
    """`` (jdbc_upsert: 3)``: the benchmarks measured in fewer rounds than the suite's (the database-bound ones are
    capped), as the rounds their cases' measurements hold."""
    fewer = []
    for bench in results.get("benchmarks", []):
        counts = [
            variant["wall_s"]["n"]
            for case in bench.get("cases", [])
            for variant in (case.get("variants") or {}).values()
            if isinstance(variant, dict) and isinstance(variant.get("wall_s"), dict) and "n" in variant["wall_s"]
        ]
        if counts and max(counts) < repeat:
            fewer.append(f"{bench['name']}: {max(counts)}")
    return f" ({', '.join(fewer)})" if fewer else ""


def _header(results: dict[str, Any]) -> list[str]:
    suite, m = results["suite"], results["machine"]
    lines = [
        f"# etl-cli benchmarks — {m['date']}",
        "",
        f"Machine: {machine_line(results)}",
        "",
        f"Run: `{suite['command']}` — profile **{suite['profile']}**, {suite['repeat']} measured round(s) per case"
        f"{_fewer_rounds(results, suite['repeat'])} "
        f"{'after one unmeasured warm-up round' if suite.get('warmup', True) else 'without warm-up'}, "
        f"seed {suite['seed']}, {suite['duration_s']:.0f} s in all. "
        f"Load average (1/5/15 min) at start {m.get('load_average_at_start')}, "
        f"at end {suite.get('load_average_at_end')}: on a machine shared with other work, wall times are noisy; "
        "the CPU-time ratio and the per-round paired ratio are steadier.",
    ]
    for merged in suite.get("merged_runs", []):
        lines += [
            "",
            f"Merged in: {', '.join(merged['benchmarks'])} from `{merged['command']}` on {merged['date']} "
            f"(etl-cli {merged.get('etl_cli_commit') or '?'}, load average at start "
            f"{merged.get('load_average_at_start')}, at end {merged.get('load_average_at_end')}); "
            "everything else is from the run above.",
        ]
    if session := results.get("session"):
        lines += [
            "",
            f"Spark session ({session['master']}, parallelism {session['default_parallelism']}, "
            f"{', '.join(f'{k}={v}' for k, v in session['settings'].items())}): started in "
            f"{session['start_s']:.2f} s, first job {session['first_job_s']:.2f} s — measured apart, "
            "never included in the jobs below.",
        ]
        if extensions := (session.get("plugin_settings") or {}).get("spark.sql.extensions"):
            lines[-1] += f" Started with the SQL extensions {extensions} (benchmark 9's Delta and Iceberg tables)."
    return lines


def _batch_tables(benchmarks: list[dict[str, Any]]) -> list[str]:
    batch = [b for b in benchmarks if b.get("kind") == "batch" and b["status"] == "ok"]
    if not batch:
        return []
    lines = [
        "",
        "## Batch: etl-cli vs hand-written PySpark (same session, same data)",
        "",
        "Wall seconds as median [min-max] over the measured rounds. Every ratio is given three ways: of the "
        "medians, then the median of each round's own ratio, then of CPU time. *etl-cli ÷ hand-written* "
        "(target ≤ 1.05) compares with the script as most are written, counting nothing. *Same counts*: the "
        "hand-written script counting the rows etl-cli reports, at the same places, with `DataFrame.observe` "
        "(etl-cli ÷ it is etl-cli's own overhead; *cost of counts* is what Spark charges the script for them). "
        "*Uncounted sources*: the pipeline with `count_rows: false` on its sources, so Spark pushes the filter "
        "that reads a source into its reader, as in the uncounted script.",
        "",
        "| benchmark | rows | etl-cli s | hand-written s | etl-cli ÷ hand-written "
        "| same counts: hand-written s, etl-cli ÷ it, cost of counts "
        "| uncounted sources: s, ÷ hand-written | etl-cli records/s | targets met | same output |",
        "|---|---:|---:|---:|---|---|---|---:|---|---|",
    ]
    for bench in batch:
        for case in bench["cases"]:
            variants = case["variants"]
            etl, hand, ratio = variants["etl_cli"], variants["handwritten"], case["ratio"]
            uncounted = variants.get("etl_cli_uncounted_sources")
            uncounted_text = (
                f"{_spread(uncounted['wall_s'])}, {_ratio_text(case['ratio_uncounted_sources'])}" if uncounted else "-"
            )
            counted = variants.get("handwritten_counted")
            counted_text = "-"
            if counted:
                counted_text = (
                    f"{_spread(counted['wall_s'])}, {_ratio_text(case['ratio_same_counts'])}, "
                    f"{_ratio_text(case['cost_of_counts'])}"
                )
                if not case.get("counts_match"):
                    counted_text += " (**counts differ**)"
            targets = case["targets"]
            met = [f"overhead {_met(targets['overhead_met'])}"]
            if "overhead_met_same_counts" in targets:
                met.append(f"same counts {_met(targets['overhead_met_same_counts'])}")
            if "overhead_met_uncounted_sources" in targets:
                met.append(f"uncounted sources {_met(targets['overhead_met_uncounted_sources'])}")
            if "throughput_met" in targets:
                met.append(f"≥{targets['min_records_per_s'] / 1e6:g}M rec/s {_met(targets['throughput_met'])}")
            lines.append(
                f"| {bench['name']} | {case['rows']:,} | {_spread(etl['wall_s'])} | {_spread(hand['wall_s'])} "
                f"| {_ratio_text(ratio)} "
                f"| {counted_text} "
                f"| {uncounted_text} "
                f"| {etl['records_per_s']:,} | {', '.join(met)} "
                f"| {'yes' if case['outputs_identical'] else '**NO**'} ({etl['output']['rows']:,} rows) |"
            )
    lines += [
        "",
        "## Driver memory and CPU time (benchmarks 1 and 2)",
        "",
        "Peak RSS of the Python process and the Spark driver JVM together (local mode: the JVM runs the "
        "executors too), sampled every 20 ms; CPU time is user + system of both. The JVM keeps the heap it "
        "has grown, so peaks reflect the largest job run so far in the session.",
        "",
        "| benchmark | rows | etl-cli peak RSS MB | hand-written peak RSS MB | etl-cli CPU s | hand-written CPU s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for bench in batch:
        for case in bench["cases"]:
            etl, hand = case["variants"]["etl_cli"], case["variants"]["handwritten"]
            lines.append(
                f"| {bench['name']} | {case['rows']:,} | {_fmt((etl['peak_rss_mb'] or {}).get('max'), 0)} "
                f"| {_fmt((hand['peak_rss_mb'] or {}).get('max'), 0)} | {_spread(etl['cpu_s'])} "
                f"| {_spread(hand['cpu_s'])} |"
            )
    return lines


def _ratio_text(ratio: dict[str, Any]) -> str:
    return f"{_fmt(ratio['wall'], 3)} / {_fmt(ratio['wall_paired_median'], 3)} / {_fmt(ratio['cpu'], 3)}"


def _cli_table(benchmarks: list[dict[str, Any]]) -> list[str]:
    cli = next((b for b in benchmarks if b.get("kind") == "cli" and b["status"] == "ok"), None)
    if cli is None:
        return []
    lines = [
        "",
        "## CLI responsiveness (cold: a fresh process per run)",
        "",
        "| command | wall s | peak RSS MB (tree) | target | met | exit |",
        "|---|---:|---:|---|---|---|",
    ]
    for case in cli["cases"]:
        targets = case["targets"]
        wanted = []
        if "max_wall_s" in targets:
            wanted.append(f"< {targets['max_wall_s']:g} s")
        if "max_rss_mb" in targets:
            wanted.append(f"< {targets['max_rss_mb']:g} MB")
        met = [_met(targets[k]) for k in ("wall_met", "rss_met") if k in targets]
        note = f" ({case['pipelines_with_errors']} invalid by design)" if case.get("pipelines_with_errors") else ""
        lines.append(
            f"| {case['label']}{note} | {_spread(case['wall_s'], 3)} "
            f"| {_fmt((case['peak_rss_mb'] or {}).get('max'), 0)} | {', '.join(wanted) or '-'} "
            f"| {' / '.join(met) or '-'} | {', '.join(map(str, case['exit_codes']))} |"
        )
    lines += [f"\n{item}" for item in cli.get("pending", [])]
    return lines


def _cli_latency_table(benchmarks: list[dict[str, Any]]) -> list[str]:
    latency = next((b for b in benchmarks if b.get("kind") == "cli_latency" and b["status"] == "ok"), None)
    if latency is None:
        return []
    title = f"## {latency['title']} (a fresh process per run, nothing else measured meanwhile)"
    return ["", title, "", *cli_latency.table(latency)]


def _jdbc_table(benchmarks: list[dict[str, Any]]) -> list[str]:
    jdbc = next((b for b in benchmarks if b.get("kind") == "jdbc" and b["status"] == "ok"), None)
    if jdbc is None:
        return []
    lines = [
        "",
        "## JDBC upsert into PostgreSQL vs COPY",
        "",
        "etl-cli: CSV → Spark → staging table → one `INSERT ... ON CONFLICT` transaction. COPY: psycopg "
        "`COPY ... FROM STDIN` of the same CSV into an empty table (the practical ceiling). Wall seconds, "
        "median [min-max].",
        "",
        "| rows | etl-cli upsert s | etl-cli rows/s | COPY s | COPY rows/s | etl-cli ÷ COPY | checks |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for case in jdbc["cases"]:
        etl, copy = case["variants"]["etl_cli"], case["variants"]["copy"]
        lines.append(
            f"| {case['label']} | {_spread(etl['wall_s'])} | {etl['rows_per_s']:,} | {_spread(copy['wall_s'])} "
            f"| {copy['rows_per_s']:,} | {_fmt(case['ratio']['wall'], 2)} | {'ok' if case['ok'] else '**failed**'} |"
        )
    return lines


def _merge_table(benchmarks: list[dict[str, Any]]) -> list[str]:
    merge = next((b for b in benchmarks if b.get("kind") == "table_merge" and b["status"] == "ok"), None)
    if merge is None:
        return []
    lines = [
        "",
        "## Merge into Delta and Iceberg tables: etl-cli vs hand-written PySpark",
        "",
        "Changed rows (half updates of existing rows, a tenth of them older than the table's row and so ignored; "
        "half new rows) merged by key into a table reset to the base rows before every run (outside the timing). "
        "etl-cli: benchmarks/pipelines/table_merge (Parquet → sink with `mode: merge`); hand-written: "
        "`DeltaTable.merge` and Iceberg's `MERGE INTO`, same session. Wall seconds, median [min-max]; rows/s: "
        "changed rows ÷ median; the ratio of the medians / the median of each round's ratio / of CPU time. "
        "Checked: each table equals the result computed from the files with pyarrow, and the two variants' "
        "tables are equal.",
        "",
        "| format | base rows | changes | etl-cli s | etl-cli rows/s | hand-written s | hand-written rows/s "
        "| etl-cli ÷ hand-written | rows after | checks |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for case in merge["cases"]:
        etl, hand = case["variants"]["etl_cli"], case["variants"]["handwritten"]
        lines.append(
            f"| {case['format']} | {case['base_rows']:,} | {case['changes']:,} | {_spread(etl['wall_s'])} "
            f"| {etl['rows_per_s']:,} | {_spread(hand['wall_s'])} | {hand['rows_per_s']:,} "
            f"| {_ratio_text(case['ratio'])} | {case['rows_after']['expected']:,} "
            f"| {'ok' if case['ok'] else '**failed** ' + str(case['checks'])} |"
        )
    return lines


def _real_time_table(benchmarks: list[dict[str, Any]]) -> list[str]:
    stream = next((b for b in benchmarks if b.get("kind") == "streaming_latency" and b["status"] == "ok"), None)
    if stream is None:
        return []
    lines = [
        "",
        "## Streaming, stateless: micro-batch against real-time mode",
        "",
        "Kafka → filter (one sensor in sixteen dropped), derive → Kafka, one output record per event "
        "(benchmarks/pipelines/kafka_passthrough), each variant on a fresh topic with the same producer: "
        "etl-cli with trigger processing_time 0 seconds, with trigger real_time, and in real-time mode with "
        "streaming.count_rows: false; the same job hand-written in PySpark (benchmarks/passthrough_handwritten.py) "
        "counting its rows with the same observe in both modes, and uncounted in real-time mode. Latency per "
        "event: the output record's LogAppendTime minus the time it was produced. Counted once: the measured ids "
        "in the output are exactly the produced ones the filter keeps, none missing, none twice. CPU beside: "
        "what the producer (its whole run), the broker and the reader (the benchmark's process, watching the "
        "output topic's size) used while the events were produced, on the same cores as the job.",
        "",
        f"| variant | target rate | produced | steady for | events measured | p50 ms | p95 ms | p99 ms | max ms "
        f"| p95 < {stream['p95_target_ms']:.0f} ms | counted once | sustained | CPU s / peak RSS MB "
        "| CPU s beside: producer / broker / reader | load before / after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|---|",
    ]
    for name, run in stream["variants"].items():
        if "latency_ms" not in run:
            lines.append(f"| {name} | {stream['target_rate']:,}/s | | | 0 | | | | | | no | no | | | |")
            continue
        beside = " / ".join(_fmt(run.get(k), 0) for k in ("producer_cpu_s", "broker_cpu_s", "harness_cpu_s"))
        latency, produced = run["latency_ms"], run["produced"]
        loads = [(run.get(k) or [None])[0] for k in ("load_average_before", "load_average_after")]
        lines.append(
            f"| {name} | {stream['target_rate']:,}/s | {produced['rate']:,.0f}/s | {stream['seconds']:.0f} s "
            f"| {run['events_measured']:,} | {latency['p50']:,} | {latency['p95']:,} | {latency['p99']:,} "
            f"| {latency['max']:,} | {_met(run['p95_met'])} | {_met(run['counted_once'])} | {_met(run['sustained'])} "
            f"| {_fmt(run['pipeline_cpu_s'], 0)} / {_fmt(run['pipeline_peak_rss_mb'], 0)} | {beside} "
            f"| {_fmt(loads[0])} / {_fmt(loads[1])} |"
        )
    return lines


def _streaming_table(benchmarks: list[dict[str, Any]]) -> list[str]:
    stream = next((b for b in benchmarks if b.get("kind") == "streaming" and b["status"] == "ok"), None)
    if stream is None or "latency_ms" not in stream:
        return []
    variants = stream.get("variants") or {"append_files": stream}
    lines = [
        "",
        "## Streaming: Kafka → windowed aggregation → sink",
        "",
        "`etl-cli run` of a benchmark pipeline in its own process: events counted per sensor in 1-second "
        "windows with a 1-second watermark. `update_kafka` (benchmarks/pipelines/kafka_streaming): output mode "
        "update, every micro-batch produces the windows it changed to a Kafka topic; `update_kafka_handwritten`: "
        "the same job written directly in Structured Streaming (benchmarks/streaming_handwritten.py), its own "
        "process too; `append_files` "
        "(kafka_streaming_append): output mode append, each window once to JSON Lines after the watermark passed "
        "it. Latency: from an event's production to its count being visible in the sink (the output record's "
        "LogAppendTime; the file sink's commit).",
        "",
        "| variant | target rate | produced | steady for | events measured | p50 ms | p95 ms | p99 ms | mean ms "
        "(spread / exact) | p95 < 1 s | sustained | micro-batch ms p50 / p95 | pipeline CPU s / peak RSS MB "
        "| load before / after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|---|",
    ]
    for name, run in variants.items():
        if "latency_ms" not in run:
            continue
        latency, produced, mean = run["latency_ms"], run["produced"], run.get("mean_latency_ms") or {}
        batches = (run.get("micro_batches_steady") or {}).get("duration_ms") or {}
        loads = [(run.get(k) or [None])[0] for k in ("load_average_before", "load_average_after")]
        lines.append(
            f"| {name} | {stream['target_rate']:,}/s | {produced['rate']:,.0f}/s | {stream['seconds']:.0f} s "
            f"| {run['events_measured']:,} | {latency['p50']:,} | {latency['p95']:,} | {latency['p99']:,} "
            f"| {_fmt(mean.get('spread'), 0)} / {_fmt(mean.get('exact'), 0)} "
            f"| {_met(run['p95_met'])} | {_met(run['sustained'])} "
            f"| {_fmt(batches.get('p50'), 0)} / {_fmt(batches.get('p95'), 0)} "
            f"| {_fmt(run['pipeline_cpu_s'], 0)} / {_fmt(run['pipeline_peak_rss_mb'], 0)} "
            f"| {_fmt(loads[0])} / {_fmt(loads[1])} |"
        )
    for name, run in variants.items():
        if "latency_ms" not in run:
            continue
        lines += [
            "",
            f"{name}: median latency over the first fifth of the windows {run['median_latency_first_fifth_ms']:,} ms, "
            f"over the last fifth {run['median_latency_last_fifth_ms']:,} ms; events sent in the measured windows "
            f"{run['events_sent_in_those_windows']:,}, counted by the pipeline "
            f"{run['events_counted_in_those_windows']:,}.",
        ]
        if phases := run.get("micro_batch_phases_ms"):
            means = ", ".join(f"{phase} {ms:,}" for phase, ms in phases["mean"].items())
            lines.append(f"Mean ms per phase over {phases['micro_batches']} micro-batches (warm-up included): {means}.")
    return lines


def _quality_shaped(result: Any) -> bool:
    """Whether ``result`` has the shape benchmarks/quality_cost.py returns (variants with median_s)."""
    variants = result.get("variants") if isinstance(result, dict) else None
    return isinstance(variants, dict) and all(isinstance(v, dict) and "median_s" in v for v in variants.values())


def _quality_table(result: dict[str, Any]) -> list[str]:
    overhead = result.get("overhead") or {}
    lines = [
        "",
        f"{result.get('checks', '?')} row-level checks over {result.get('rows', 0):,} rows, "
        f"median of {result.get('repetitions', '?')} run(s):",
        "",
        "| variant | median s | overhead vs none |",
        "|---|---:|---:|",
    ]
    for name, figures in result["variants"].items():
        extra = overhead.get(name)
        lines.append(f"| {name} | {figures['median_s']:.3f} | {'-' if extra is None else f'{extra:+.0%}'} |")
    return lines


def _other_sections(benchmarks: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for bench in benchmarks:
        if bench.get("kind") == "external" and bench["status"] in ("ok", "error"):
            lines += [
                "",
                f"## {bench['title']}",
                "",
                f"`{' '.join(bench['argv'])}`: {bench['status']}, {bench['wall_s']:.1f} s.",
            ]
            if _quality_shaped(bench.get("result")):
                lines += _quality_table(bench["result"])
            elif bench.get("result") is not None:
                lines += ["", "```json", json.dumps(bench["result"], indent=2, default=str)[:4000], "```"]
            elif bench.get("output_tail"):
                lines += ["", "```", *bench["output_tail"], "```"]
    not_run = [b for b in benchmarks if b["status"] in ("pending", "skipped", "error") and b.get("kind") != "external"]
    not_run += [b for b in benchmarks if b.get("kind") == "external" and b["status"] in ("pending", "skipped")]
    if not_run:
        lines += ["", "## Not measured in this run", ""]
        lines += [f"- {b['title']}: {b['status']} — {b.get('reason') or b.get('error')}" for b in not_run]
    return lines


def markdown(results: dict[str, Any]) -> str:
    benchmarks = results["benchmarks"]
    lines = _header(results) + _batch_tables(benchmarks) + _cli_table(benchmarks) + _cli_latency_table(benchmarks)
    lines += _jdbc_table(benchmarks)
    lines += _merge_table(benchmarks)
    lines += _streaming_table(benchmarks)
    lines += _real_time_table(benchmarks)
    lines += _other_sections(benchmarks)
    if results.get("chart"):
        lines += ["", f"![benchmark chart]({results['chart']})"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- chart


def write_chart(results: dict[str, Any], path: Path) -> str | None:
    """Draw the batch and CLI timings; return why not if matplotlib is missing or nothing was measured."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install 'etl-cli[bench]')"
    benchmarks = results["benchmarks"]
    batch = [(b, c) for b in benchmarks if b.get("kind") == "batch" and b["status"] == "ok" for c in b["cases"]]
    cli = next((b for b in benchmarks if b.get("kind") == "cli" and b["status"] == "ok"), None)
    panels = int(bool(batch)) + int(cli is not None)
    if panels == 0:
        return "no batch or CLI benchmark ran"
    figure, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.2), squeeze=False)
    column = 0
    if batch:
        _batch_panel(axes[0][column], batch)
        column += 1
    if cli is not None:
        _cli_panel(axes[0][column], cli)
    figure.suptitle(f"etl-cli benchmarks {results['machine']['date'][:10]} — {machine_line(results)}", fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return None


BATCH_BARS = (
    ("etl_cli", "etl-cli"),
    ("etl_cli_uncounted_sources", "etl-cli, uncounted sources"),
    ("handwritten", "hand-written"),
    ("handwritten_counted", "hand-written, same counts"),
)


def _batch_panel(ax: Any, batch: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Records per second (so every size shares one scale), median with the range of the rounds."""
    labels = [f"{b['name'].replace('batch_', '')}\n{c['label']}" for b, c in batch]
    positions = range(len(batch))
    bars = [
        (variant, name)
        for variant, name in BATCH_BARS
        if all(variant in case["variants"] for _, case in batch)  # results written before a variant existed
    ]
    width = 0.8 / len(bars)
    for index, (variant, name) in enumerate(bars):
        offset = (index - (len(bars) - 1) / 2) * width
        rates, low, high = [], [], []
        for _, case in batch:
            wall, rows = case["variants"][variant]["wall_s"], case["rows"]
            rate = rows / wall["median"] / 1e6
            rates.append(rate)
            low.append(rate - rows / wall["max"] / 1e6)
            high.append(rows / wall["min"] / 1e6 - rate)
        ax.bar([p + offset for p in positions], rates, width, yerr=[low, high], capsize=3, label=name)
    for position, (_, case) in zip(positions, batch, strict=True):
        top = case["rows"] / min(case["variants"][v]["wall_s"]["min"] for v, _ in bars) / 1e6
        ax.annotate(f"x{case['ratio']['wall']:.2f} time", (position, top), ha="center", va="bottom", fontsize=8)
    targets = {c["targets"]["min_records_per_s"] for _, c in batch if "min_records_per_s" in c["targets"]}
    for target in targets:
        ax.axhline(target / 1e6, color="tab:red", linestyle="--", linewidth=1, label=f"target {target / 1e6:g}M/s")
    ax.set_xticks(list(positions), labels, fontsize=8)
    ax.set_ylabel("million records/s (median, min-max)")
    ax.set_title("Batch jobs: etl-cli vs hand-written PySpark", fontsize=10)
    ax.legend(fontsize=8)


def _cli_panel(ax: Any, cli: dict[str, Any]) -> None:
    cases = cli["cases"]
    labels = [c["label"].replace(" in the repository", "") for c in cases]
    medians = [c["wall_s"]["median"] for c in cases]
    ax.barh(range(len(cases)), medians, color="tab:green")
    for index, case in enumerate(cases):
        target = case["targets"].get("max_wall_s")
        if target is not None:
            ax.plot([target, target], [index - 0.4, index + 0.4], color="tab:red", linewidth=2)
        ax.annotate(f"{case['wall_s']['median']:.2f} s", (case["wall_s"]["median"], index), va="center", fontsize=8)
    ax.set_yticks(range(len(cases)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("wall seconds, cold (median, log scale); red: target")
    ax.set_title("CLI responsiveness", fontsize=10)


if __name__ == "__main__":
    import sys

    render(Path(sys.argv[1]))
