"""Spark's analysis of a pipeline for ``lineage --analyze`` (runtime/execution/lineage_analysis.py).

Every stage comes back with the columns and types Spark resolves and, for each column, the input
columns Spark's analyzed plan computes its value from. The expected columns below are read off
the hand-written CSV files and the YAML of each case; the expected sources off the expressions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.events import Reporter
from etl_cli.plan.dag import compile_plan
from etl_cli.runtime.execution.lineage_analysis import AnalyzedPipeline, analyze_plans
from tests.unit.helpers import make_project

pytestmark = pytest.mark.spark

ORDERS_CSV = """\
order_id,customer_id,amount,status,day
1,1,10.0,paid,2026-03-01
2,2,20.0,open,2026-03-02
"""
CUSTOMERS_CSV = """\
customer_id,name,country
1,Ann,DE
2,Bob,FR
"""
SOURCES = """\
name: shop
sources:
  - name: orders
    type: csv
    path: data/orders.csv
    schema: "order_id INT, customer_id INT, amount DOUBLE, status STRING, day DATE"
  - name: customers
    type: csv
    path: data/customers.csv
"""

#: a transform selecting every column of the undeclared source ``customers``
EVERYONE = """
transforms:
  - name: everyone
    type: sql
    inputs: [customers]
    query: SELECT * FROM customers
"""
#: each column of ``orders`` as a stage reading it unchanged sees it
READ_FROM_ORDERS = {
    "order_id": {"orders.order_id"},
    "customer_id": {"orders.customer_id"},
    "amount": {"orders.amount"},
    "status": {"orders.status"},
    "day": {"orders.day"},
}
#: each column of ``customers`` as a stage reading it unchanged sees it
READ_FROM_CUSTOMERS = {
    "customer_id": {"customers.customer_id"},
    "name": {"customers.name"},
    "country": {"customers.country"},
}


def analyze(tmp_path: Path, spark: object, transforms: str, saved: str = "t") -> AnalyzedPipeline:
    """Spark's analysis, in the shared session, of ``SOURCES``, ``transforms`` and a sink saving ``saved``."""
    sink = f"sinks:\n  - name: save\n    type: parquet\n    input: {saved}\n    path: {tmp_path / 'out'}\n"
    pipeline = SOURCES + transforms + sink
    root = make_project(
        tmp_path, {"data/orders.csv": ORDERS_CSV, "data/customers.csv": CUSTOMERS_CSV, "p/pipeline.yaml": pipeline}
    )
    _, spec = app.load_spec(root / "p", None)
    (analyzed,) = analyze_plans([compile_plan(spec)], app.registry(), Reporter(), "run-1", session=spark)  # type: ignore[arg-type]
    return analyzed


def sources_of(analyzed: AnalyzedPipeline, stage: str) -> dict[str, set[str] | None]:
    """Each column of ``stage`` → its sources as ``input.column`` strings (None: unknown)."""
    return {
        c.name: None if c.sources is None else {f"{s}.{col}" for s, col in c.sources}
        for c in analyzed.stage(stage).columns
    }


def test_an_undeclared_source_and_a_select_star_over_it_get_the_columns_and_types_spark_reads(
    tmp_path: Path, spark: object
) -> None:
    analyzed = analyze(tmp_path, spark, EVERYONE, saved="everyone")
    expected = [("customer_id", "int"), ("name", "string"), ("country", "string")]
    assert analyzed.schemas()["customers"] == expected
    assert analyzed.schemas()["everyone"] == expected
    assert analyzed.schemas()["orders"][2] == ("amount", "double")


def test_a_source_column_reads_no_input_and_a_star_column_reads_the_same_column(tmp_path: Path, spark: object) -> None:
    analyzed = analyze(tmp_path, spark, EVERYONE, saved="everyone")
    assert sources_of(analyzed, "customers") == {"customer_id": set(), "name": set(), "country": set()}
    assert sources_of(analyzed, "everyone") == READ_FROM_CUSTOMERS


CASES = {
    "filter keeps every column as it is, the condition's column is no source": (
        """
  - name: t
    type: filter
    inputs: [orders]
    condition: amount > 5 AND status = 'paid'
""",
        {
            **READ_FROM_ORDERS,
        },
    ),
    "derive reads through a column defined earlier in the same stage": (
        """
  - name: t
    type: derive
    inputs: [orders]
    columns:
      net: amount / 1.2
      label: concat(status, ':', cast(net AS string))
      one: "1"
""",
        {
            **READ_FROM_ORDERS, "net": {"orders.amount"},
            "label": {"orders.status", "orders.amount"}, "one": set(),
        },
    ),
    "select follows renames and casts to the column they came from": (
        """
  - name: t
    type: select
    inputs: [orders]
    columns: [order_id, "amount * 2 AS double_amount", status]
    rename: {status: state}
    cast: {order_id: string}
""",
        {"order_id": {"orders.order_id"}, "double_amount": {"orders.amount"}, "state": {"orders.status"}},
    ),
    "aggregate: a grouping expression reads its column, count of rows reads none": (
        """
  - name: t
    type: aggregate
    inputs: [orders]
    group_by: ["year(day) AS year", status]
    aggregations:
      rows: {function: count}
      buyers: {function: count_distinct, column: customer_id}
      weighted: {expr: "sum(amount * order_id)"}
""",
        {
            "year": {"orders.day"}, "status": {"orders.status"}, "rows": set(),
            "buyers": {"orders.customer_id"}, "weighted": {"orders.amount", "orders.order_id"},
        },
    ),
    "window: a window column reads its argument and the window's partition and order columns": (
        """
  - name: t
    type: window
    inputs: [orders]
    partition_by: [customer_id]
    order_by: [day]
    columns:
      rank: {function: rank}
      before: {function: lag, column: amount}
""",
        {
            **READ_FROM_ORDERS,
            "rank": {"orders.customer_id", "orders.day"},
            "before": {"orders.amount", "orders.customer_id", "orders.day"},
        },
    ),
    "inner join on a key: the key is the left input's column": (
        """
  - name: t
    type: join
    inputs: [orders, customers]
    on: [customer_id]
""",
        {
            **READ_FROM_ORDERS, "name": {"customers.name"},
            "country": {"customers.country"},
        },
    ),
    "full join on a key: the key is either side's column": (
        """
  - name: t
    type: join
    inputs: [orders, customers]
    on: [customer_id]
    how: full
""",
        {
            **READ_FROM_ORDERS, **READ_FROM_CUSTOMERS,
            "customer_id": {"orders.customer_id", "customers.customer_id"},
        },
    ),
    "union: each column reads the same column of every input": (
        """
  - name: early
    type: filter
    inputs: [orders]
    condition: day < DATE'2026-03-02'
  - name: t
    type: union
    inputs: [orders, early]
""",
        {
            "order_id": {"orders.order_id", "early.order_id"},
            "customer_id": {"orders.customer_id", "early.customer_id"},
            "amount": {"orders.amount", "early.amount"}, "status": {"orders.status", "early.status"},
            "day": {"orders.day", "early.day"},
        },
    ),
    "union by position: each column reads the column at its place in every input": (
        """
  - name: people
    type: select
    inputs: [customers]
    columns: [customer_id, name]
  - name: states
    type: select
    inputs: [orders]
    columns: [order_id, status]
  - name: t
    type: union
    inputs: [people, states]
    by_name: false
""",
        {"customer_id": {"people.customer_id", "states.order_id"}, "name": {"people.name", "states.status"}},
    ),
    "union with distinct: the rows kept still read every input": (
        """
  - name: early
    type: select
    inputs: [orders]
    columns: [customer_id, day]
  - name: late
    type: select
    inputs: [orders]
    columns: [customer_id, "date_add(day, 1) AS day"]
  - name: t
    type: union
    inputs: [early, late]
    distinct: true
""",
        {"customer_id": {"early.customer_id", "late.customer_id"}, "day": {"early.day", "late.day"}},
    ),
    "sql: a scalar subquery's column is a source, a WHERE column is not": (
        """
  - name: t
    type: sql
    inputs: [orders, customers]
    query: >-
      SELECT o.order_id, upper(c.name) AS who, (SELECT max(amount) FROM orders) AS top
      FROM orders o JOIN customers c ON o.customer_id = c.customer_id WHERE o.status = 'paid'
""",
        {"order_id": {"orders.order_id"}, "who": {"customers.name"}, "top": {"orders.amount"}},
    ),
    "derive with explode: the generated column reads the generator's arguments": (
        """
  - name: t
    type: derive
    inputs: [orders]
    columns:
      id: explode(array(order_id, customer_id))
""",
        {
            **READ_FROM_ORDERS, "id": {"orders.order_id", "orders.customer_id"},
        },
    ),
}  # fmt: skip


@pytest.mark.parametrize(("transforms", "expected"), list(CASES.values()), ids=list(CASES))
def test_each_output_column_reads_the_input_columns_its_expression_names(
    tmp_path: Path, spark: object, transforms: str, expected: dict[str, set[str]]
) -> None:
    analyzed = analyze(tmp_path, spark, "transforms:" + transforms)
    assert sources_of(analyzed, "t") == expected


def test_two_inputs_read_from_the_same_file_are_told_apart_in_a_join(tmp_path: Path, spark: object) -> None:
    """Both inputs read one relation, so Spark gives the right side new ids: matched by what it computes."""
    analyzed = analyze(
        tmp_path,
        spark,
        """
transforms:
  - name: paid
    type: filter
    inputs: [orders]
    condition: status = 'paid'
  - name: first_days
    type: select
    inputs: [orders]
    columns: [customer_id, day]
  - name: t
    type: join
    inputs: [paid, first_days]
    condition: paid.customer_id = first_days.customer_id
""",
    )
    columns = [(c.name, c.sources) for c in analyzed.stage("t").columns]
    assert columns == [
        ("order_id", {("paid", "order_id")}),
        ("customer_id", {("paid", "customer_id")}),
        ("amount", {("paid", "amount")}),
        ("status", {("paid", "status")}),
        ("day", {("paid", "day")}),
        ("customer_id", {("first_days", "customer_id")}),
        ("day", {("first_days", "day")}),
    ]


def test_inputs_that_compute_the_same_rows_are_unknown_where_spark_cannot_tell_them_apart(
    tmp_path: Path, spark: object
) -> None:
    analyzed = analyze(
        tmp_path,
        spark,
        """
transforms:
  - name: early
    type: select
    inputs: [orders]
    columns: [customer_id, day]
  - name: late
    type: select
    inputs: [orders]
    columns: [customer_id, day]
  - name: t
    type: union
    inputs: [early, late]
""",
    )
    assert sources_of(analyzed, "t") == {"customer_id": None, "day": None}


def test_a_sink_column_is_its_input_column_and_nothing_is_written(tmp_path: Path, spark: object) -> None:
    analyzed = analyze(tmp_path, spark, "", saved="customers")
    assert sources_of(analyzed, "save") == READ_FROM_CUSTOMERS
    assert not (tmp_path / "out").exists()


def test_a_stage_spark_rejects_fails_with_its_location_and_the_stages_reading_it_are_skipped(
    tmp_path: Path, spark: object
) -> None:
    analyzed = analyze(
        tmp_path,
        spark,
        """
transforms:
  - name: wrong
    type: derive
    inputs: [orders]
    columns:
      net: price * 2
  - name: after
    type: filter
    inputs: [wrong]
    condition: net > 0
""",
        saved="after",
    )
    assert [(s.name, s.status) for s in analyzed.stages if s.kind == "transform"] == [
        ("wrong", "failed"),
        ("after", "skipped"),
    ]
    assert set(analyzed.schemas()) == {"orders", "customers"}
    (problem,) = analyzed.diagnostics
    assert problem.code == "spark-analysis" and "price" in problem.message
    assert str(problem.location).endswith("p/pipeline.yaml:16:12")  # `price` in `net: price * 2`
