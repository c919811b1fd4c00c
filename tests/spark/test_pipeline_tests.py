"""``etl-cli test`` on Spark: the example pipelines' tests pass, and a failing expectation, an expected
error, expected dead letters, generated rows and a snapshot (stale, then updated) behave as docs/testing.md says.

Two invocations, one Spark session each: the examples and the shop pipeline below share the first.
Every expected row below is worked out by hand from the rows the test files give.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clihelp import REPO, etl_cli
from tests.unit.helpers import write

SHOP = """
    name: shop
    sources:
      - name: orders
        type: csv
        path: data/orders.csv
        schema: {order_id: BIGINT, country: STRING, amount: "DECIMAL(10,2)"}
    transforms:
      - name: known_country
        type: filter
        inputs: [orders]
        condition: assert_true(coalesce(country, '') <> 'XX', 'unknown country XX') IS NULL
      - name: per_country
        type: aggregate
        inputs: [known_country]
        group_by: [country]
        aggregations:
          revenue: {function: sum, column: amount}
    checks:
      - name: amount_positive
        stage: orders
        type: range
        column: amount
        min: 0
        max: 999
        action: quarantine
    dead_letter: {type: json, path: dlq}
    sinks:
      - name: out
        type: parquet
        input: per_country
        path: output/shop
"""

TESTS = """
    tests:
      - name: totals per country
        given:
          orders:
            rows:
              - {order_id: 1, country: NL, amount: 10.00}
              - {order_id: 2, country: NL, amount: 2.50}
              - {order_id: 3, country: PL, amount: 4.00}
        expect:
          out:
            keys: [country]
            rows:
              - {country: NL, revenue: 12.00}
              - {country: DE, revenue: 4.00}

      - name: negative amounts are quarantined
        given:
          orders:
            rows:
              - {order_id: 1, country: NL, amount: 10.00}
              - {order_id: 2, country: NL, amount: -1.00}
        expect:
          per_country:
            rows:
              - {country: NL, revenue: 10.00}
          dead_letters:
            count: 1
            rows:
              - {stage: orders, kind: quarantined, check: amount_positive, row: {order_id: 2, country: NL, amount: -1}}

      - name: an unknown country stops the pipeline
        given:
          orders:
            rows:
              - {order_id: 1, country: XX, amount: 5.00}
        expect:
          error: {stage: known_country, contains: unknown country}

      - name: generated rows pass the checks they were made from
        given:
          orders:
            rows: {generate: 25, seed: 7}
        expect:
          orders: {count: 25}
          dead_letters: {count: 0}

      - name: a fixture that does not fit the schema
        given:
          orders: {file: fixtures/orders.csv}
        expect:
          orders: {count: 1}

      - name: snapshot of the totals
        given:
          orders:
            rows:
              - {order_id: 1, country: NL, amount: 10.00}
              - {order_id: 3, country: PL, amount: 4.00}
        expect:
          per_country: {snapshot: true}
"""

SNAPSHOT = "shop/tests/__snapshots__/t/snapshot_of_the_totals/per_country.json"


@dataclass(frozen=True)
class FirstRun:
    """``etl-cli test pipelines shop`` in a copy of the project with the shop pipeline added: one Spark session."""

    root: Path
    out: str
    junit: ET.Element
    env: dict[str, str]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "pipelines", root / "pipelines", ignore=shutil.ignore_patterns("output", "__pycache__"))
    shutil.copy(REPO / "etl-project.yaml", root / "etl-project.yaml")
    write(root, "shop/pipeline.yaml", SHOP)
    write(root, "shop/tests/t.yaml", TESTS)
    write(root, "shop/tests/fixtures/orders.csv", "order_id,country,amount\nx1,NL,1.00\n")
    stale = root / SNAPSHOT
    stale.parent.mkdir(parents=True)
    stale.write_text('{"columns": ["country", "revenue"], "rows": [{"country": "NL", "revenue": "9.00"}]}\n')
    env = {"ETL_STATE_DIR": str(root / "state")}
    # three examples only: tests/spark/test_example_pipeline_tests.py runs every example's tests
    examples = ("pipelines/quickstart", "pipelines/daily_partitioned", "pipelines/daily_shop/daily_revenue")
    done = etl_cli("test", *examples, "shop", "--junit-xml", "junit.xml", cwd=root, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    return FirstRun(root, _without_durations(done.stdout), ET.parse(root / "junit.xml").getroot(), env)


def test_the_example_pipelines_tests_pass_and_junit_lists_every_test(first_run: FirstRun) -> None:
    cases = {(c.get("classname"), c.get("name")): c for c in first_run.junit.iter("testcase")}
    examples = {key: case for key, case in cases.items() if str(key[0]).startswith("pipelines/")}
    assert set(examples) >= {
        ("pipelines/quickstart/tests/revenue.yaml", "latest version of an order counts, cancelled orders do not"),
        ("pipelines/quickstart/tests/revenue.yaml", "min_amount drops small orders"),
        ("pipelines/daily_partitioned/tests/per_day.yaml", "only the day of ds is counted, per country"),
        ("pipelines/daily_partitioned/tests/per_day.yaml", "a day without events fails its row_count check"),
        ("pipelines/daily_shop/daily_revenue/tests/per_day.yaml", "revenue, orders and buyers per day and country"),
    }
    assert [list(case) for case in examples.values()] == [[]] * len(examples), "no failure or error element"
    shop = len(cases) - len(examples)
    assert shop == 6
    totals = (first_run.junit.get("tests"), first_run.junit.get("failures"), first_run.junit.get("errors"))
    assert totals == (str(len(cases)), "2", "1")
    failed = {c.get("name") for c in first_run.junit.iter("testcase") if c.find("failure") is not None}
    assert failed == {"totals per country", "snapshot of the totals"}
    assert f"{len(examples) + 3} passed, 2 failed, 1 error(s)" in first_run.out


def test_a_failing_expectation_shows_missing_unexpected_and_changed_rows(first_run: FirstRun) -> None:
    assert (
        "FAIL  shop/tests/t.yaml::totals per country\n"
        "      out: 1 missing, 1 unexpected, 1 changed (expected 2 row(s), got 2)\n"
        "        - missing     {country: 'DE', revenue: 4.0}\n"
        "        + unexpected  {country: 'PL', revenue: 4.00}\n"
        "        ~ changed     {country: 'NL'}  revenue: 12.0 -> 12.50\n"
    ) in first_run.out


def test_a_fixture_that_does_not_fit_the_declared_schema_is_an_error_of_its_test(first_run: FirstRun) -> None:
    assert (
        "ERROR shop/tests/t.yaml::a fixture that does not fit the schema\n"
        "      source 'orders' (csv) failed (defined at shop/pipeline.yaml:3:5): [MALFORMED_RECORD_IN_PARSING"
    ) in first_run.out, first_run.out
    errors = [c.get("name") for c in first_run.junit.iter("testcase") if c.find("error") is not None]
    assert errors == ["a fixture that does not fit the schema"]


def test_dead_letters_an_expected_error_and_generated_rows_pass(first_run: FirstRun) -> None:
    assert "PASS  shop/tests/t.yaml::negative amounts are quarantined\n" in first_run.out
    assert "PASS  shop/tests/t.yaml::an unknown country stops the pipeline\n" in first_run.out
    assert "PASS  shop/tests/t.yaml::generated rows pass the checks they were made from\n" in first_run.out


def test_a_stale_snapshot_fails_and_update_snapshots_rewrites_it(first_run: FirstRun) -> None:
    assert (
        "FAIL  shop/tests/t.yaml::snapshot of the totals\n"
        "      per_country: 1 missing, 2 unexpected (expected 1 row(s), got 2)\n"
        "        - missing     {country: 'NL', revenue: '9.00'}\n"
    ) in first_run.out
    done = etl_cli("test", "shop", "-k", "SNAPSHOT", "--update-snapshots", cwd=first_run.root, env=first_run.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"snapshot written: {SNAPSHOT}" in done.stdout
    assert (first_run.root / SNAPSHOT).read_text() == (
        "{\n"
        '  "columns": ["country", "revenue"],\n'
        '  "rows": [\n'
        '    {"country": "NL", "revenue": "10.00"},\n'
        '    {"country": "PL", "revenue": "4.00"}\n'
        "  ]\n"
        "}\n"
    )


def _without_durations(text: str) -> str:
    return re.sub(r"  \(\d+\.\d\ds\)", "", text)
