"""What ``etl-cli run`` prints: whole names in logs and cron mail, ASCII on request, the outputs it wrote.

One small project whose stage and check names are long and share their beginnings (a table cut to
80 columns shows several of them as the same ``paid_orders_fro…``). Counted by hand from ORDERS:
5 orders read; 4 paid (1, 2, 4, 5); 3 days among them; order 4 (60.00) breaks the warn-only check.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.clihelp import etl_cli
from tests.ptyhelp import Terminal
from tests.unit.helpers import make_project

SOURCE = "orders_from_the_web_shop_export"
PAID = "paid_orders_from_the_web_shop"
PER_DAY = "paid_orders_from_the_web_shop_per_day"
PAID_OUT = "paid_orders_from_the_web_shop_out"
PER_DAY_OUT = "paid_orders_from_the_web_shop_per_day_out"
CHECK = "every_paid_web_shop_order_is_under_fifty"

ORDERS = """\
order_id,order_day,status,amount
1,2024-05-01,paid,10.00
2,2024-05-01,paid,5.00
3,2024-05-02,cancelled,7.00
4,2024-05-02,paid,60.00
5,2024-05-03,paid,2.50
"""

PIPELINE = f"""\
spark:
  master: local[1]
  conf: {{spark.sql.shuffle.partitions: 1}}
sources:
  - name: {SOURCE}
    type: csv
    path: data/orders.csv
    schema: "order_id INT, order_day DATE, status STRING, amount DECIMAL(10,2)"
transforms:
  - {{name: {PAID}, type: filter, inputs: [{SOURCE}], condition: "status = 'paid'"}}
  - name: {PER_DAY}
    type: aggregate
    inputs: [{PAID}]
    group_by: [order_day]
    aggregations: {{orders: {{function: count}}}}
sinks:
  - {{name: {PAID_OUT}, type: parquet, input: {PAID}, path: out/paid}}
  - {{name: {PER_DAY_OUT}, type: csv, input: {PER_DAY}, path: out/per_day, mode: overwrite}}
checks:
  - {{name: {CHECK}, type: expression, stage: {PAID}, expression: "amount < 50", action: warn}}
"""

#: (stage, kind, type, rows out) of every stage, in plan order
STAGES = [
    (SOURCE, "source", "csv", 5),
    (PAID, "transform", "filter", 4),
    (PER_DAY, "transform", "aggregate", 3),
    (PAID_OUT, "sink", "parquet", 4),
    (PER_DAY_OUT, "sink", "csv", 3),
]


def make(root: Path) -> Path:
    return make_project(root, {"data/orders.csv": ORDERS, "shop/pipeline.yaml": PIPELINE}, project="name: shop\n")


def run(project: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``etl-cli run shop`` with stdout and stderr piped, as cron runs it."""
    result = etl_cli("run", "shop", env={"ETL_STATE_DIR": str(project / "state"), **(env or {})}, cwd=project)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make(tmp_path_factory.mktemp("output"))


@pytest.fixture(scope="module")
def piped(project: Path) -> str:
    """What one piped run printed (all of it goes to stderr: stdout stays for results)."""
    return run(project).stderr


def test_off_a_terminal_the_summary_shows_each_stage_whole_on_one_line(piped: str) -> None:
    for name, kind, type_, rows_out in STAGES:
        pattern = rf"^{name} +{kind} +{type_} +ok +\S+ +{rows_out} +\d+\.\d\ds$"
        assert re.search(pattern, piped, re.MULTILINE), f"no summary line for {name}:\n{piped}"


def test_off_a_terminal_nothing_is_cut_short_or_boxed(piped: str) -> None:
    assert "…" not in piped
    assert not set("┃│┏┗━─") & set(piped), piped


def test_off_a_terminal_the_quality_table_shows_each_check_whole_on_one_line(piped: str) -> None:
    pattern = rf"^{CHECK} +{PAID} +expression +warn +4 +1 +25\.00% +warned$"
    assert re.search(pattern, piped, re.MULTILINE), piped


def test_the_summary_says_where_each_sink_wrote_and_how_many_rows(piped: str, project: Path) -> None:
    paid = rf"^  {PAID_OUT} +4 rows written to {re.escape(str(project / 'out' / 'paid'))} \(overwrite\)$"
    per_day = rf"^  {PER_DAY_OUT} +3 rows written to {re.escape(str(project / 'out' / 'per_day'))} \(overwrite\)$"
    assert re.search(paid, piped, re.MULTILINE), piped
    assert re.search(per_day, piped, re.MULTILINE), piped


def test_etl_ascii_keeps_every_character_of_the_output_ascii(tmp_path: Path) -> None:
    output = run(make(tmp_path), env={"ETL_ASCII": "1"}).stderr
    assert output.isascii(), [c for c in output if not c.isascii()]
    assert re.search(rf"^{PAID_OUT} +sink +parquet +ok +4 +4 ", output, re.MULTILINE), output


def test_on_a_terminal_the_summary_is_a_boxed_table_followed_by_the_outputs(tmp_path: Path) -> None:
    project = make(tmp_path)
    term = Terminal("etl-cli", "run", "shop", cwd=project, env={"ETL_STATE_DIR": str(project / "state")}, timeout=300)
    term.expect("┃ stage ")
    term.expect(f"│ {PER_DAY_OUT} │ sink ")
    term.expect("outputs:")
    term.expect(f"{PAID_OUT:<{len(PER_DAY_OUT)}}  4 rows written to {project / 'out' / 'paid'} (overwrite)")
    assert term.wait() == 0, term.screen
