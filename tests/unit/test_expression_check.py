"""``etl-cli validate`` checks the SQL inside a pipeline's expressions offline, each problem at the expression's
own ``file:line:col`` (inside the scalar when it is plain and on one line), with "did you mean".

Every pipeline starts with the same eleven lines (two CSV sources of declared columns), so the transforms start
at line 12; the expected places are counted by hand from the YAML written here.
"""

from __future__ import annotations

import json
from pathlib import Path
from subprocess import CompletedProcess

from tests.clihelp import REPO, etl_cli
from tests.unit.helpers import make_project

HEAD = """\
name: p
sources:
  - name: orders
    type: csv
    path: orders.csv
    schema: {id: BIGINT, customer_id: BIGINT, amount: "DECIMAL(10,2)", status: STRING}
  - name: customers
    type: csv
    path: customers.csv
    schema: {id: BIGINT, country: STRING}
transforms:
"""
NEW_CODES = ("sql-syntax", "unknown-column", "ambiguous-column", "unknown-qualifier", "duplicate-column")


def validate(tmp_path: Path, transforms: str, output: str, *, head: str = HEAD) -> CompletedProcess[str]:
    """Validate pipeline ``p``: ``head``, then ``transforms`` (YAML lines as written), then a sink of ``output``."""
    sink = f"sinks:\n  - {{name: out, type: parquet, input: {output}, path: out/x}}\n"
    make_project(tmp_path, {"orders.csv": "", "customers.csv": "", "raw.csv": ""})
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pipeline.yaml").write_text(head + transforms + sink, encoding="utf-8")
    return etl_cli("validate", "p", cwd=tmp_path)


def test_a_misspelt_column_in_a_condition_is_an_error_at_its_own_column(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: paid
    type: filter
    inputs: [orders]
    condition: status = 'paid' AND amout > 0
""",
        "paid",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:15:36: error: transform 'paid' (filter): condition reads column 'amout', which 'orders'"
        " does not have [unknown-column]\n    hint: did you mean 'amount'?"
    ) in done.stdout


def test_a_join_condition_naming_a_stage_that_is_not_an_input_is_an_error_at_the_qualifier(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: joined
    type: join
    inputs: [orders, customers]
    condition: orders.customer_id = custs.id
""",
        "joined",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:15:37: error: transform 'joined' (join): condition reads 'custs.id', but 'custs' is not an"
        " input of the stage (inputs: orders, customers) [unknown-qualifier]\n    hint: did you mean 'customers'?"
    ) in done.stdout


def test_an_unqualified_column_both_joined_inputs_have_is_ambiguous(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: joined
    type: join
    inputs: [orders, customers]
    condition: customer_id = id
""",
        "joined",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:15:30: error: transform 'joined' (join): condition reads column 'id', which 'orders' and"
        " 'customers' both have [ambiguous-column]\n    hint: qualify it with the stage's name: orders.id"
    ) in done.stdout


def test_an_aggregation_named_like_a_group_by_column_is_a_duplicate_output(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: totals
    type: aggregate
    inputs: [orders]
    group_by: [status]
    aggregations:
      total: {function: sum, column: amount}
      Status: {function: count}
""",
        "totals",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:18:7: error: transform 'totals' (aggregate) makes two columns named 'status'"
        " [duplicate-column]"
    ) in done.stdout


def test_a_select_making_one_name_twice_is_a_duplicate_output_at_the_second_item(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: picked
    type: select
    inputs: [orders]
    columns:
      - id
      - amount * 2 AS doubled
      - customer_id AS doubled
""",
        "picked",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:18:9: error: transform 'picked' (select) makes two columns named 'doubled' [duplicate-column]"
    ) in done.stdout


def test_a_syntax_error_is_reported_at_its_token_with_sqlglots_message(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: paid
    type: filter
    inputs: [orders]
    condition: amount > 0 AND AND status = 'paid'
""",
        "paid",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:15:31: error: transform 'paid' (filter): condition is not valid Spark SQL:"
        " Required keyword: 'expression' missing for And (at 'AND') [sql-syntax]"
    ) in done.stdout


def test_a_column_a_select_upstream_dropped_is_unknown_downstream(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: slim
    type: select
    inputs: [orders]
    columns: [id, amount]
  - name: ranked
    type: window
    inputs: [slim]
    order_by: [status desc]
    columns:
      n: {function: row_number}
""",
        "ranked",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:19:16: error: transform 'ranked' (window): order_by.0 reads column 'status', which 'slim'"
        " does not have [unknown-column]\n    hint: known columns: id, amount"
    ) in done.stdout


def test_a_query_in_a_block_scalar_is_reported_at_the_scalar(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: report
    type: sql
    inputs: [orders, customers]
    query: |
      SELECT o.id, c.country
      FROM orders o JOIN customers c ON o.customer_id = c.id
      WHERE c.contry = 'NO'
""",
        "report",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:15:12: error: transform 'report' (sql): query reads column 'contry', which no input has"
        " [unknown-column]\n    hint: did you mean 'country'?"
    ) in done.stdout


def test_columns_made_earlier_in_a_derive_or_select_are_known(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: priced
    type: derive
    inputs: [orders]
    columns:
      net: amount / 1.25
      vat: amount - net
  - name: picked
    type: select
    inputs: [priced]
    columns: [net * 2 AS twice, twice + vat AS total, 'transform(array(id), x -> x + 1) AS ids']
""",
        "picked",
    )
    assert done.returncode == 0, done.stdout
    assert not any(f"[{code}]" in done.stdout for code in NEW_CODES)


def test_columns_of_a_source_without_a_declared_schema_are_not_checked(tmp_path: Path) -> None:
    head = "name: p\nsources:\n  - {name: raw, type: csv, path: raw.csv}\ntransforms:\n"
    done = validate(
        tmp_path,
        """\
  - name: paid
    type: filter
    inputs: [raw]
    condition: anything > 0 AND payload.user = 'x'
""",
        "paid",
        head=head,
    )
    assert done.returncode == 0, done.stdout
    assert not any(f"[{code}]" in done.stdout for code in NEW_CODES)


def test_the_json_report_carries_the_code_and_place(tmp_path: Path) -> None:
    validate(
        tmp_path,
        """\
  - name: paid
    type: filter
    inputs: [orders]
    condition: amout > 0
""",
        "paid",
    )
    done = etl_cli("validate", "p", "--format", "json", cwd=tmp_path)
    (result,) = json.loads(done.stdout)["results"]
    found = [(d["code"], d["line"], d["column"], d["hint"]) for d in result["diagnostics"] if d["severity"] == "error"]
    assert found == [("unknown-column", 15, 16, "did you mean 'amount'?")]


def test_every_example_pipeline_still_validates_clean() -> None:
    files = sorted(str(path.relative_to(REPO)) for path in (REPO / "pipelines").rglob("pipeline.yaml"))
    done = etl_cli("validate", *files)
    assert done.returncode == 0, done.stdout
    assert not any(f"[{code}]" in done.stdout for code in NEW_CODES)


def test_a_join_key_the_joined_input_does_not_have_is_an_unknown_column(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: joined
    type: join
    inputs: [orders, customers]
    on: [customer_id]
""",
        "joined",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:15:10: error: transform 'joined' (join): on.0 joins on column 'customer_id', which"
        " 'customers' does not have [unknown-column]\n    hint: known columns: id, country"
    ) in done.stdout


def test_a_place_inside_a_quoted_value_counts_its_opening_quote(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: paid
    type: filter
    inputs: [orders]
    condition: "status = 'paid' AND amout > 0"
""",
        "paid",
    )
    assert "p/pipeline.yaml:15:37: error: transform 'paid' (filter): condition reads column 'amout'" in done.stdout


def test_a_qualifier_close_to_an_input_name_is_a_warning_when_the_input_columns_are_unknown(tmp_path: Path) -> None:
    head = (
        "name: p\nsources:\n  - {name: raw, type: csv, path: raw.csv}\n  - {name: customers, type: csv, path: c.csv}\n"
    )
    done = validate(
        tmp_path,
        """\
transforms:
  - name: joined
    type: join
    inputs: [raw, customers]
    condition: raw.customer_id = custs.id
""",
        "joined",
        head=head,
    )
    assert done.returncode == 0, done.stdout
    assert (
        "p/pipeline.yaml:9:34: warning: transform 'joined' (join): condition reads 'custs.id', but 'custs' is not"
        " an input of the stage (inputs: raw, customers), unless it is a struct column of raw, customers"
        " [unknown-qualifier]\n    hint: did you mean 'customers'?"
    ) in done.stdout


def test_a_query_reading_a_table_that_is_not_an_input_is_a_warning(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: report
    type: sql
    inputs: [orders]
    query: SELECT id, amount FROM ordrs
""",
        "report",
    )
    assert done.returncode == 0, done.stdout
    assert (
        "p/pipeline.yaml:15:35: warning: transform 'report' (sql): the query reads 'ordrs', which is not an input of"
        " the stage (inputs: orders) [unknown-table]\n    hint: did you mean 'orders'?"
    ) in done.stdout


def test_a_sort_key_naming_no_column_is_an_unknown_column(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: top
    type: sort
    inputs: [orders]
    order_by: [amount desc, stauts]
    limit: 10
""",
        "top",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:15:29: error: transform 'top' (sort): order_by.1 reads column 'stauts', which 'orders'"
        " does not have [unknown-column]\n    hint: did you mean 'status'?"
    ) in done.stdout


def test_an_unclosed_quote_is_a_syntax_error_that_quotes_no_sql_the_user_did_not_write(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: paid
    type: filter
    inputs: [orders]
    condition: status = 'paid
""",
        "paid",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:15:16: error: transform 'paid' (filter): condition is not valid Spark SQL: it cannot be split"
        " into words and symbols (a quote or comment left open?) [sql-syntax]"
    ) in done.stdout
    assert "SELECT" not in done.stdout


def test_a_key_of_an_earlier_using_join_is_one_column_so_it_may_stay_unqualified(tmp_path: Path) -> None:
    head = HEAD.replace("transforms:\n", "  - name: refunds\n    type: csv\n    path: raw.csv\n"
                        "    schema: {customer_id: BIGINT, refund: DOUBLE}\ntransforms:\n")  # fmt: skip
    done = validate(
        tmp_path,
        """\
  - name: joined
    type: join
    inputs: [orders, refunds, customers]
    joins:
      - {on: [customer_id]}
      - {how: left, condition: customer_id = customers.id}
""",
        "joined",
        head=head,
    )
    assert done.returncode == 0, done.stdout
    assert not any(f"[{code}]" in done.stdout for code in NEW_CODES)


REFUNDS_HEAD = HEAD.replace(
    "transforms:\n",
    "  - name: refunds\n    type: csv\n    path: raw.csv\n    schema: {order_id: BIGINT}\ntransforms:\n",
)


def test_a_join_condition_sees_only_the_inputs_joined_so_far(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: joined
    type: join
    inputs: [orders, refunds, customers]
    joins:
      - {condition: id = order_id}
      - {condition: orders.customer_id = customers.id}
""",
        "joined",
        head=REFUNDS_HEAD,
    )
    assert done.returncode == 0, done.stdout
    assert not any(f"[{code}]" in done.stdout for code in NEW_CODES)


def test_a_join_condition_naming_an_input_joined_after_it_is_an_error(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: joined
    type: join
    inputs: [orders, refunds, customers]
    joins:
      - {condition: orders.id = refunds.order_id AND customers.country = 'NO'}
      - {condition: orders.customer_id = customers.id}
""",
        "joined",
        head=REFUNDS_HEAD,
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:20:54: error: transform 'joined' (join): joins.0.condition reads 'customers.country', but"
        " 'customers' is joined after this condition, which sees orders, refunds [unknown-qualifier]"
    ) in done.stdout


def test_an_expression_check_is_checked_against_its_stage_columns(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: paid
    type: filter
    inputs: [orders]
    condition: status = 'paid'
checks:
  - name: positive
    stage: paid
    type: expression
    expression: amount > 0 AND refnd >= 0
""",
        "paid",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:20:32: error: check 'positive' (expression) on stage 'paid': expression reads column 'refnd',"
        " which 'paid' does not have [unknown-column]"
    ) in done.stdout


def test_a_second_statement_in_an_expression_is_a_syntax_error(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: paid
    type: filter
    inputs: [orders]
    condition: amount > 0; DROP TABLE orders
""",
        "paid",
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:15:26: error: transform 'paid' (filter): condition is not valid Spark SQL: it holds more than"
        " one statement (at ';') [sql-syntax]"
    ) in done.stdout


def test_a_lateral_view_is_valid_and_its_columns_are_not_guessed(tmp_path: Path) -> None:
    done = validate(
        tmp_path,
        """\
  - name: flat
    type: sql
    inputs: [orders]
    query: SELECT id, piece FROM orders LATERAL VIEW explode(split(status, ',')) t AS piece
""",
        "flat",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok p/pipeline.yaml" in done.stdout
    shown = etl_cli("lineage", "p", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "p.flat: LATERAL is not followed offline" in shown.stdout


# --------------------------------------------------------------------------- type problems, where types are declared

#: one source of declared types; its transforms start at line 8
TYPED = """\
name: p
sources:
  - name: orders
    type: csv
    path: orders.csv
    schema: {id: BIGINT, paid: BOOLEAN, day: DATE, amount: "DECIMAL(10,2)", note: STRING}
transforms:
"""


def test_a_condition_that_is_a_number_is_an_error_at_the_condition(tmp_path: Path) -> None:
    done = validate(
        tmp_path, "  - name: f\n    type: filter\n    inputs: [orders]\n    condition: id + 1\n", "f", head=TYPED
    )
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:11:16: error: transform 'f' (filter): condition is of type BIGINT, not BOOLEAN"
        " [condition-not-boolean]\n    hint: write a comparison or test, e.g. id + 1 > 0:"
        " Spark refuses a condition that is not true or false"
    ) in done.stdout


def test_sum_of_a_string_column_in_an_aggregation_is_a_not_numeric_warning(tmp_path: Path) -> None:
    transforms = """\
  - name: totals
    type: aggregate
    inputs: [orders]
    group_by: [day]
    aggregations:
      total: {function: sum, column: note}
"""
    done = validate(tmp_path, transforms, "totals", head=TYPED)
    assert done.returncode == 0, done.stdout
    assert (
        "p/pipeline.yaml:13:38: warning: transform 'totals' (aggregate): aggregations.total.column: sum over column"
        " 'note' of type STRING, which is not a number: Spark casts it to DOUBLE, and a value that is no number"
        " fails the run [not-numeric]\n"
        "    hint: cast it if it holds numbers: sum(CAST(note AS DECIMAL(38,2))), or use a numeric column"
    ) in done.stdout


def test_avg_of_a_date_column_in_sql_is_not_numeric_at_the_column(tmp_path: Path) -> None:
    transforms = """\
  - name: totals
    type: aggregate
    inputs: [orders]
    group_by: [note]
    aggregations:
      mean_day: {expr: avg(day)}
"""
    done = validate(tmp_path, transforms, "totals", head=TYPED)
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:13:28: error: transform 'totals' (aggregate): aggregations.mean_day.expr: avg over column"
        " 'day' of type DATE, which is not a number [not-numeric]"
    ) in done.stdout


def test_arithmetic_on_a_boolean_column_is_an_error_at_the_column(tmp_path: Path) -> None:
    transforms = "  - name: d\n    type: derive\n    inputs: [orders]\n    columns: {score: paid * 2}\n"
    done = validate(tmp_path, transforms, "d", head=TYPED)
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:11:22: error: transform 'd' (derive): columns.score: '*' on column 'paid' of type"
        " BOOLEAN, which is not a number [not-numeric]\n"
        "    hint: cast it to a number: CAST(paid AS INT) is 1 for true and 0 for false"
    ) in done.stdout


def test_a_date_compared_with_a_string_that_is_no_date_is_a_warning_at_the_string(tmp_path: Path) -> None:
    transforms = "  - name: f\n    type: filter\n    inputs: [orders]\n    condition: day > 'last week'\n"
    done = validate(tmp_path, transforms, "f", head=TYPED)
    assert done.returncode == 0, done.stdout
    assert (
        "p/pipeline.yaml:11:22: warning: transform 'f' (filter): condition compares column 'day' of type DATE with"
        " 'last week', which is not a date: Spark cannot cast it, so the run fails (CAST_INVALID_INPUT; without"
        " ANSI mode, no row matches) [type-mismatch]\n    hint: write a date such as '2024-01-31', or 'yesterday',"
        " 'today', 'now'"
    ) in done.stdout


def test_a_number_compared_with_a_string_that_is_no_number_is_a_warning(tmp_path: Path) -> None:
    transforms = "  - name: f\n    type: filter\n    inputs: [orders]\n    condition: amount <> 'abc'\n"
    done = validate(tmp_path, transforms, "f", head=TYPED)
    assert done.returncode == 0, done.stdout
    assert (
        "p/pipeline.yaml:11:26: warning: transform 'f' (filter): condition compares column 'amount' of type"
        " DECIMAL(10,2) with 'abc', which is not a number: Spark cannot cast it, so the run fails"
        " (CAST_INVALID_INPUT; without ANSI mode, no row matches) [type-mismatch]"
    ) in done.stdout


def test_well_typed_expressions_report_nothing(tmp_path: Path) -> None:
    transforms = """\
  - name: f
    type: filter
    inputs: [orders]
    condition: paid AND day >= '2024-01-31' AND day < 'yesterday' AND amount > '10.5' AND note = 'abc'
  - name: totals
    type: aggregate
    inputs: [f]
    group_by: [note]
    aggregations:
      total: {function: sum, column: amount}
      ids: {expr: avg(id + 1)}
"""
    done = validate(tmp_path, transforms, "totals", head=TYPED)
    assert done.returncode == 0, done.stdout
    assert "ok p/pipeline.yaml" in done.stdout


def test_a_column_of_unknown_type_reports_nothing(tmp_path: Path) -> None:
    transforms = """\
  - name: d
    type: derive
    inputs: [orders]
    columns: {doubled: amount * 2}
  - name: f
    type: filter
    inputs: [d]
    condition: doubled
  - name: totals
    type: aggregate
    inputs: [f]
    group_by: [doubled]
    aggregations:
      total: {expr: sum(doubled)}
      wrong: {expr: "avg(doubled) + sum(doubled > 'abc')"}
"""
    done = validate(tmp_path, transforms, "totals", head=TYPED)
    assert done.returncode == 0, done.stdout
    assert "ok p/pipeline.yaml" in done.stdout


def test_a_window_average_of_a_boolean_column_is_not_numeric(tmp_path: Path) -> None:
    transforms = """\
  - name: w
    type: window
    inputs: [orders]
    partition_by: [note]
    order_by: [day]
    columns:
      share: {function: avg, column: paid}
"""
    done = validate(tmp_path, transforms, "w", head=TYPED)
    assert done.returncode == 1
    assert (
        "p/pipeline.yaml:14:38: error: transform 'w' (window): columns.share.column: avg over column 'paid' of type"
        " BOOLEAN, which is not a number [not-numeric]\n"
        "    hint: cast it: avg(CAST(paid AS INT)) takes true as 1 and false as 0"
    ) in done.stdout


def test_a_lambda_variable_named_like_a_column_is_not_that_column(tmp_path: Path) -> None:
    """sqlglot reads a lambda's variable as a name, not a column: the BOOLEAN column ``paid`` is not multiplied."""
    transforms = """\
  - name: d
    type: derive
    inputs: [orders]
    columns: {big: "exists(array(1, 2), paid -> paid * 2 > 3)"}
"""
    done = validate(tmp_path, transforms, "d", head=TYPED)
    assert done.returncode == 0, done.stdout
    assert "ok p/pipeline.yaml" in done.stdout
