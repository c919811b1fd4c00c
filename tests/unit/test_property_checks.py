"""Property checks without Spark: the ``properties:`` format and its located errors, judging rows, example sizes,
and shrinking a failing input (the pipeline run replaced by a Python function over the rows: no JVM).

tests/spark/test_property_checks.py runs them through ``etl-cli test`` on Spark.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from etl_cli.app import load_spec
from etl_cli.testing.properties import (
    Failure,
    Inputs,
    Observation,
    Property,
    example_sizes,
    explore,
    shrink,
    violation,
)
from etl_cli.testing.spec import check_tests, load_test_file
from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

PIPELINE = """
    name: p
    sources:
      - name: orders_raw
        type: csv
        path: data/orders.csv
        schema: {order_id: BIGINT, amount: "DECIMAL(10,2)"}
      - name: notes
        type: csv
        path: data/notes.csv
    transforms:
      - name: orders
        type: filter
        inputs: [orders_raw]
        condition: amount > 0
    sinks:
      - name: out
        type: parquet
        input: orders
        path: output/p
"""


def _problems(tmp_path: Path, test_file: str) -> list[tuple[str, str]]:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE, "p/tests/t.yaml": test_file})
    _, spec = load_spec(tmp_path / "p", None)
    found = check_tests(spec, load_test_file(tmp_path / "p" / "tests" / "t.yaml"), {"orders": ["order_id", "amount"]})
    return [(d.code, str(d.location).rsplit("/", 1)[-1]) for d in found]


NOTES = "given: {notes: {rows: [{text: a}]}}"


def test_a_well_formed_property_test_has_no_problems_and_loads_its_settings(tmp_path: Path) -> None:
    text = f"""
        tests:
          - name: a
            examples: 3
            seed: 9
            max_rows: 5
            {NOTES}
            properties:
              - {{stage: orders, unique: [order_id]}}
              - {{from: orders_raw, to: orders, row_count: not_more}}
              - {{from: orders_raw, to: out, sum: amount, tolerance: 0.01}}
    """
    assert _problems(tmp_path, text) == []
    test = load_test_file(tmp_path / "p" / "tests" / "t.yaml").tests[0]
    assert (test.examples, test.seed, test.max_rows) == (3, 9, 5)
    assert [p.describe() for p in test.properties] == [
        "unique [order_id] in orders",
        "row_count not_more from orders_raw to orders",
        "sum of amount preserved from orders_raw to out",
    ]


def test_a_property_with_two_kinds_is_reported_where_it_was_written(tmp_path: Path) -> None:
    text = f"""
        tests:
          - name: a
            {NOTES}
            properties:
              - {{stage: orders, unique: [order_id], not_null: [amount]}}
    """
    assert _problems(tmp_path, text) == [("bad-property", "t.yaml:5:9")]


def test_a_row_count_property_without_to_is_reported(tmp_path: Path) -> None:
    text = f"""
        tests:
          - name: a
            {NOTES}
            properties:
              - {{from: orders_raw, row_count: preserved}}
    """
    assert _problems(tmp_path, text) == [("bad-property", "t.yaml:5:9")]


def test_a_misspelt_row_count_value_is_a_schema_error(tmp_path: Path) -> None:
    text = f"""
        tests:
          - name: a
            {NOTES}
            properties:
              - {{from: orders_raw, to: orders, row_count: presrved}}
    """
    assert [code for code, _ in _problems(tmp_path, text)] == ["invalid-value"]


def test_an_unknown_stage_and_column_in_a_property_are_reported(tmp_path: Path) -> None:
    text = f"""
        tests:
          - name: a
            {NOTES}
            properties:
              - {{stage: ordrs, unique: [order_id]}}
              - {{stage: orders, not_null: [amont]}}
    """
    assert _problems(tmp_path, text) == [("unknown-stage", "t.yaml:5:9"), ("unknown-column", "t.yaml:6:9")]


def test_a_source_without_schema_and_without_given_rows_cannot_be_generated(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            properties:
              - {stage: orders, unique: [order_id]}
    """
    assert _problems(tmp_path, text) == [("cannot-generate", "t.yaml:2:5")]


def test_generated_given_rows_in_a_property_test_are_refused(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            given: {notes: {rows: [{text: a}]}, orders_raw: {rows: {generate: 5}}}
            properties:
              - {stage: orders, unique: [order_id]}
    """
    assert [code for code, _ in _problems(tmp_path, text)] == ["generate-in-property-test"]


def test_a_test_with_both_expect_and_properties_is_refused(tmp_path: Path) -> None:
    text = f"""
        tests:
          - name: a
            {NOTES}
            expect: {{orders: {{count: 0}}}}
            properties:
              - {{stage: orders, unique: [order_id]}}
    """
    assert _problems(tmp_path, text) == [("test-shape", "t.yaml:2:5")]


def test_a_test_with_neither_expect_nor_properties_is_refused(tmp_path: Path) -> None:
    assert _problems(tmp_path, "tests:\n  - name: a\n") == [("test-shape", "t.yaml:2:5")]


def test_examples_without_properties_are_refused(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            examples: 5
            expect: {orders: {count: 0}}
    """
    assert _problems(tmp_path, text) == [("test-shape", "t.yaml:2:5")]


# ----------------------------------------------------------------------------- judging rows

UNIQUE = Property("unique", stage="s", columns=("k",))


def test_unique_names_the_repeated_key() -> None:
    rows = {"s": [{"k": 1}, {"k": 2}, {"k": 2}]}
    assert violation(UNIQUE, rows) == "s: 2 rows have k = 2"
    assert violation(UNIQUE, {"s": [{"k": 1}, {"k": 2}]}) is None


def test_not_null_shows_a_null_row() -> None:
    prop = Property("not_null", stage="s", columns=("k",))
    assert violation(prop, {"s": [{"k": 1}, {"k": None}]}) == "s: k is null in 1 row(s), e.g. {k: null}"
    assert violation(prop, {"s": [{"k": 1}]}) is None


def test_row_count_kinds() -> None:
    rows = {"a": [{"x": 1}, {"x": 2}], "b": [{"x": 1}]}

    def judged(kind: str) -> str | None:
        return violation(Property("row_count", source="a", target="b", row_count=kind), rows)

    assert judged("preserved") == "a has 2 row(s), b 1"
    assert judged("not_more") is None
    assert judged("not_less") == "a has 2 row(s), b 1"


def test_sum_compares_totals_with_nulls_ignored_and_a_tolerance() -> None:
    rows = {"a": [{"x": 1.5}, {"x": None}, {"x": 2}], "b": [{"t": 3.49}]}
    exact = Property("sum", columns=("x",), source="a", target="b", target_column="t")
    assert violation(exact, rows) == "sum of x in a is 3.5, of t in b 3.49"
    close = Property("sum", columns=("x",), source="a", target="b", target_column="t", tolerance=0.01)
    assert violation(close, rows) is None


def test_a_column_the_stage_lacks_is_named() -> None:
    assert violation(UNIQUE, {"s": [{"j": 1}]}) == "s has no column k (its columns: j)"


def test_example_sizes_start_at_the_edges_and_end_at_max_rows() -> None:
    sizes = example_sizes(6, 20, seed=3)
    assert sizes[:3] == [0, 1, 2] and sizes[-1] == 20 and len(sizes) == 6
    assert all(3 <= n <= 20 for n in sizes[3:])
    assert example_sizes(2, 1, seed=0) == [0, 1]


# ----------------------------------------------------------------------------- shrinking

#: a "pipeline" that deduplicates on (k, t) where the property wants k unique: the bug to find
WRONG = Property("unique", stage="deduped", columns=("k",))


def _wrong_dedupe(inputs: Inputs) -> Observation:
    seen = {(row["k"], row["t"]): row for row in inputs["src"]}
    return Observation({"deduped": list(seen.values())})


def _rows(*pairs: tuple[int, int]) -> Inputs:
    return {"src": [{"k": k, "t": t, "v": 10 + i} for i, (k, t) in enumerate(pairs)]}


def test_a_failing_input_shrinks_to_two_rows_with_equal_key_and_simpler_values() -> None:
    big = _rows((1, 1), (2, 1), (3, 5), (4, 1), (3, 7), (5, 1), (6, 2))
    first = Failure(("property", 0), "x")
    failure, smallest, runs = shrink([WRONG], big, first, _wrong_dedupe)
    assert smallest == {"src": [{"k": 3, "t": 5, "v": 12}, {"k": 3, "t": 7, "v": 12}]}
    assert failure.message == "deduped: 2 rows have k = 3"
    assert 0 < runs <= 40


def test_shrinking_keeps_only_inputs_that_fail_the_same_property() -> None:
    both = [WRONG, Property("row_count", source="src", target="deduped", row_count="not_less")]

    def run(inputs: Inputs) -> Observation:
        found = _wrong_dedupe(inputs)
        return Observation({**found.rows, "src": inputs["src"]})

    # with one row left the first property holds: the shrunk input keeps both rows with k = 1
    _, smallest, _ = shrink(both, _rows((1, 1), (1, 2), (2, 1)), Failure(("property", 0), "x"), run)
    assert [row["k"] for row in smallest["src"]] == [1, 1]


def test_an_input_that_fails_a_check_is_not_counted_as_failing() -> None:
    def run(inputs: Inputs) -> Observation:
        found = _wrong_dedupe(inputs)
        return Observation(found.rows, rejected=("some_check",) if len(inputs["src"]) < 3 else ())

    _, smallest, _ = shrink([WRONG], _rows((1, 1), (1, 2), (2, 1), (3, 3)), Failure(("property", 0), "x"), run)
    assert len(smallest["src"]) == 3


def test_explore_stops_at_the_first_failing_example_and_reports_it() -> None:
    made: list[tuple[int, int]] = []

    def make(count: int, seed: int) -> Inputs:
        made.append((count, seed))
        return _rows(*[(i // 2, i) for i in range(count)])

    report = explore([WRONG], make, _wrong_dedupe, [0, 1, 2, 5, 9], seed=4)
    assert made == [(0, 4), (1, 5), (2, 6)]
    assert report.found_in == (3, 6, 2)
    lines = report.lines([WRONG])
    assert lines[0] == "property 1 failed: unique [k] in deduped"
    assert lines[1].startswith("  found on example 3 of 5 (seed 6, 2 row(s) per generated source)")
    assert lines[2:] == [
        "  given:",
        "    src:",
        "      rows:",
        "        - {k: 0, t: 0, v: 10}",
        "        - {k: 0, t: 1, v: 10}",
        "  deduped: 2 rows have k = 0",
    ]


def test_explore_passes_when_every_example_holds() -> None:
    def make(count: int, seed: int) -> Inputs:
        return _rows(*[(i, i) for i in range(count)])

    run: Callable[[Inputs], Observation] = _wrong_dedupe
    report = explore([WRONG], make, run, [0, 1, 2, 8], seed=0)
    assert report.failure is None and report.examples == 4 and report.lines([WRONG]) == []


def test_a_stage_that_fails_on_a_generated_input_fails_the_test_with_its_error_shrunk() -> None:
    def run(inputs: Inputs) -> Observation:
        if any(row["k"] < 0 for row in inputs["src"]):
            return Observation(failure=("parse", "stage 'parse' failed: negative k"))
        return _wrong_dedupe(inputs)

    def make(count: int, seed: int) -> Inputs:
        return {"src": [{"k": -i, "t": i, "v": 0} for i in range(count)]}

    report = explore([WRONG], make, run, [0, 1, 2, 3], seed=0)
    assert report.found_in == (3, 2, 2)
    assert report.shrunk == {"src": [{"k": -1, "t": 1, "v": 0}]}
    lines = report.lines([WRONG])
    assert lines[0] == "stage parse failed on a generated input"
    assert lines[-1] == "  stage 'parse' failed: negative k"


def test_shrinking_stops_after_its_budget_of_runs_and_says_so() -> None:
    full = _rows(*[(1, i) for i in range(50)])

    def run(inputs: Inputs) -> Observation:
        # only the whole input fails: every candidate passes, so shrinking tries until its budget is spent
        return _wrong_dedupe(inputs) if len(inputs["src"]) == 50 else Observation({"deduped": []})

    report = explore([WRONG], lambda count, seed: full, run, [50], seed=0)
    assert report.shrink_runs == 40 and report.shrunk == full
    assert "after 40 shrink run(s), the most it may take)" in report.lines([WRONG])[1]


def test_validate_reports_a_bad_property_at_its_line_with_a_suggestion(tmp_path: Path) -> None:
    text = f"""
        tests:
          - name: a
            {NOTES}
            properties:
              - {{from: orders_raw, to: ordrs, row_count: preserved}}
    """
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE, "p/tests/t.yaml": text})
    done = etl_cli("validate", "p", cwd=tmp_path)
    assert done.returncode == 1
    assert (
        "p/tests/t.yaml:5:9: error: properties: the pipeline has no stage 'ordrs' [unknown-stage]\n"
        "    hint: did you mean 'orders'?"
    ) in done.stdout + done.stderr
