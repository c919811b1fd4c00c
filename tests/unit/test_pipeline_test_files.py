"""Test files beside a pipeline: their own schema, and the names they use checked against the pipeline.

No JVM: a test file with a problem is reported before Spark would start.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.app import load_spec, validate
from etl_cli.testing.spec import check_tests, given_snippet, load_test_file
from etl_cli.usecases.pipeline_tests import collect
from tests.clihelp import etl_cli
from tests.unit.helpers import make_project, write

PIPELINE = """
    name: p
    sources:
      - name: orders_raw
        type: csv
        path: data/orders.csv
        schema: {order_id: BIGINT, amount: "DECIMAL(10,2)"}
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


def _project(tmp_path: Path, test_file: str) -> Path:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE, "p/tests/t.yaml": test_file})
    return tmp_path / "p"


def _problems(tmp_path: Path, test_file: str) -> list[tuple[str, str, str | None]]:
    folder = _project(tmp_path, test_file)
    _, spec = load_spec(folder, None)
    found = check_tests(spec, load_test_file(folder / "tests" / "t.yaml"))
    return [(d.code, str(d.location).rsplit("/", 1)[-1], d.hint) for d in found]


def test_a_misspelt_key_is_reported_where_it_was_written(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            expect:
              orders:
                rowz: []
    """
    assert _problems(tmp_path, text) == [("unknown-key", "t.yaml:5:9", "did you mean 'rows'?")]


def test_a_given_source_the_pipeline_lacks_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            given:
              orders_rw: {rows: []}
            expect:
              orders: {count: 0}
    """
    assert _problems(tmp_path, text) == [("unknown-source", "t.yaml:4:7", "did you mean 'orders_raw'?")]


def test_an_expected_stage_the_pipeline_lacks_is_reported(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            expect:
              order: {count: 0}
    """
    assert _problems(tmp_path, text) == [("unknown-stage", "t.yaml:4:7", "did you mean 'orders'?")]


def test_a_given_column_outside_the_declared_schema_is_reported(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            given:
              orders_raw:
                rows:
                  - {order_id: 1, amont: 2}
            expect:
              orders: {count: 0}
    """
    assert _problems(tmp_path, text) == [("unknown-column", "t.yaml:4:7", "did you mean 'amount'?")]


def test_expected_dead_letters_need_a_dead_letter_queue(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            expect:
              dead_letters: {count: 0}
    """
    assert [p[0] for p in _problems(tmp_path, text)] == ["no-dead-letter-queue"]


def test_an_expectation_that_compares_nothing_is_reported(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            expect:
              orders: {ordered: true}
    """
    assert [p[0] for p in _problems(tmp_path, text)] == ["empty-expectation"]


def test_a_well_formed_test_file_loads(tmp_path: Path) -> None:
    text = """
        tests:
          - name: keeps positive amounts
            vars: {x: 1}
            given:
              orders_raw:
                rows:
                  - {order_id: 1, amount: 2.5}
            expect:
              out:
                keys: [order_id]
                tolerance: 0.01
                rows:
                  - {order_id: 1, amount: 2.5}
    """
    folder = _project(tmp_path, text)
    file = load_test_file(folder / "tests" / "t.yaml")
    (test,) = file.tests
    assert (test.name, test.vars, [g.source for g in test.given]) == (
        "keeps positive amounts",
        {"x": 1},
        ["orders_raw"],
    )
    (expect,) = test.stages
    assert (expect.stage, expect.keys, expect.tolerance, expect.rows) == (
        "out",
        ("order_id",),
        0.01,
        ({"order_id": 1, "amount": 2.5},),
    )
    assert file.diagnostics == ()


def test_validate_reports_the_test_files_of_the_pipelines_it_checks(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            expect:
              order: {count: 0}
    """
    folder = _project(tmp_path, text)
    (report,) = validate([folder])
    in_tests = [(d.code, str(d.location).rsplit("/", 1)[-1]) for d in report.diagnostics if "tests" in str(d.location)]
    assert in_tests == [("unknown-stage", "t.yaml:4:7")]
    assert not report.ok


def test_etl_cli_test_reports_a_broken_test_file_as_an_error_without_spark(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            expect:
              order: {count: 0}
    """
    _project(tmp_path, text)
    done = etl_cli("test", "p", cwd=tmp_path)
    assert done.returncode == 1
    assert "ERROR p/tests/t.yaml::a" in done.stdout
    assert "p/tests/t.yaml:4:7: error: expect: the pipeline has no stage 'order'" in done.stdout
    assert "0 passed, 0 failed, 1 error(s)" in done.stdout
    assert "starting Spark" not in done.stderr


def test_etl_cli_test_without_tests_is_a_usage_error(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE})
    done = etl_cli("test", "p", cwd=tmp_path)
    assert done.returncode == 2
    assert "no pipeline tests found" in done.stderr


def test_etl_cli_test_refuses_a_yaml_file_outside_a_tests_folder(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE})
    write(tmp_path, "p/other.yaml", "tests: []\n")
    done = etl_cli("test", "p/other.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "is not a test file" in done.stderr


def test_the_snippet_after_debug_save_names_the_fixture_relative_to_the_tests_folder(tmp_path: Path) -> None:
    folder = _project(tmp_path, "tests: []\n")
    _, spec = load_spec(folder, None)
    source, transform = spec.stages[0], spec.stages[1]
    fixture = folder / "tests" / "fixtures" / "orders_raw.jsonl"
    assert given_snippet(spec, source, fixture) == (
        f"use it in a test file in {folder / 'tests'}/:  given: {{orders_raw: {{file: fixtures/orders_raw.jsonl}}}}"
    )
    assert given_snippet(spec, transform, fixture) is None


def test_validate_reports_an_expected_column_the_stage_cannot_have(tmp_path: Path) -> None:
    # orders filters orders_raw, whose declared schema is order_id and amount: lineage knows its columns offline
    text = """
        tests:
          - name: a
            expect:
              orders:
                keys: [order_id]
                rows:
                  - {order_id: 1, amont: 2}
              out:
                columns: [ammount]
                count: 0
    """
    folder = _project(tmp_path, text)
    (report,) = validate([folder])
    found = [(d.code, d.message, d.hint) for d in report.diagnostics if "tests" in str(d.location)]
    assert found == [
        ("unknown-column", "expect.orders: the stage has no column 'amont'", "did you mean 'amount'?"),
        ("unknown-column", "expect.out: the stage has no column 'ammount'", "did you mean 'amount'?"),
    ]


def test_a_keyword_that_matches_no_test_is_a_usage_error(tmp_path: Path) -> None:
    text = """
        tests:
          - name: keeps positive amounts
            expect:
              orders: {count: 0}
    """
    _project(tmp_path, text)
    done = etl_cli("test", "p", "-k", "negative", cwd=tmp_path)
    assert done.returncode == 2
    assert "no test name contains 'negative'" in done.stderr


def test_select_keeps_the_pipelines_whose_folder_name_matches(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "a_orders/pipeline.yaml": PIPELINE.replace("name: p", "name: a"),
            "a_orders/tests/t.yaml": "tests: []\n",
            "b_orders/pipeline.yaml": PIPELINE.replace("name: p", "name: b"),
            "b_orders/tests/t.yaml": "tests: []\n",
        },
    )
    suites = collect([tmp_path], ["b_*"])
    assert [s.pipeline_file.parent.name for s in suites] == ["b_orders"]


def test_generated_rows_need_a_source_the_generator_can_read(tmp_path: Path) -> None:
    text = """
        tests:
          - name: a
            given:
              orders_raw: {rows: {generate: 5, seed: 1}}
            expect:
              orders: {count: 5}
    """
    folder = _project(tmp_path, text)
    pipeline = tmp_path / "p" / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace('schema: {order_id: BIGINT, amount: "DECIMAL(10,2)"}', ""))
    _, spec = load_spec(folder, None)
    (problem,) = check_tests(spec, load_test_file(folder / "tests" / "t.yaml"))
    assert (problem.code, str(problem.location).rsplit("/", 1)[-1]) == ("cannot-generate", "t.yaml:4:7")
    assert "orders_raw" in problem.message
