"""Progress while a run works: shown in a terminal, absent from logs."""

from __future__ import annotations

from pathlib import Path

from tests.clihelp import REPO
from tests.ptyhelp import Terminal


def test_a_run_in_a_terminal_shows_the_stage_and_spark_tasks_as_it_goes(tmp_path: Path) -> None:
    term = Terminal(
        "etl-cli", "run", "pipelines/quickstart", "--set", f"vars.output_dir={tmp_path / 'out'}",
        "--results-dir", str(tmp_path / "results"), cwd=REPO, env={"ETL_STATE_DIR": str(tmp_path / "state")},
        timeout=300,
    )  # fmt: skip
    term.expect("starting Spark (local[2])")
    term.expect("stage 9/9: daily_revenue_out (sink parquet)")
    term.expect("Spark job")
    term.expect("tasks")
    term.expect("run success")
    assert term.wait() == 0, term.screen
