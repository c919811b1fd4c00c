"""``validate`` finds every problem of checks, contracts, dead letters and retries offline, at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.model.check import check_pipeline

from .helpers import make_project

HEAD = """\
sources:
  - name: orders
    type: csv
    path: orders.csv
  - name: customers
    type: csv
    path: customers.csv
transforms:
  - name: paid
    type: filter
    inputs: [orders]
    condition: "status = 'paid'"
sinks:
  - {name: out, type: parquet, input: paid, path: out}
"""
#: line of the first check item: everything in HEAD, then "checks:"
FIRST = HEAD.count("\n") + 2


def diagnose(tmp_path: Path, tail: str, head: str = HEAD) -> list[Diagnostic]:
    make_project(tmp_path, {"p/pipeline.yaml": head + tail, "orders.csv": "id\n1\n", "customers.csv": "id\n1\n"})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    return diagnostics


def where(d: Diagnostic) -> tuple[int, int]:
    assert d.location is not None
    return d.location.line, d.location.column


def at(line: int, text: str, token: str) -> tuple[int, int]:
    """Line ``line`` and the 1-based column where ``token`` starts in ``text`` (the YAML line as written)."""
    return line, text.index(token) + 1


def only(diagnostics: list[Diagnostic], code: str) -> Diagnostic:
    found = [d for d in diagnostics if d.code == code]
    assert len(found) == 1, diagnostics
    return found[0]


def test_a_valid_set_of_checks_has_no_diagnostics(tmp_path: Path) -> None:
    tail = """\
checks:
  - {name: ids, type: not_null, stage: orders, columns: [order_id]}
  - {name: amounts, type: range, stage: orders, column: amount, min: 0, max: 1000, max_inclusive: false}
  - {name: emails, type: regex, stage: orders, column: email, pattern: "^[^@]+@[^@]+$", action: drop}
  - {name: statuses, type: accepted_values, stage: orders, column: status, values: [paid, new], action: warn}
  - {name: dates, type: expression, stage: paid, expression: "shipped >= ordered", threshold: {max_ratio: 0.01}}
  - {name: unique_ids, type: unique, stage: orders, columns: [order_id], action: fail}
  - {name: volume, type: row_count, stage: paid, min: 1}
  - {name: fresh, type: freshness, stage: orders, column: updated_at, max_age: "1 day 12 hours"}
  - {name: known, type: relationships, stage: orders, column: customer_id, to: customers, to_column: id}
"""
    assert diagnose(tmp_path, tail) == []


@pytest.mark.parametrize(
    ("item", "code", "token"),
    [
        pytest.param("{name: c, type: not_null, stage: order, columns: [id]}", "unknown-stage", "order,", id="typo"),
        pytest.param("{name: c, type: not_null, stage: out, columns: [id]}", "check-on-sink", "out,", id="on-a-sink"),
        pytest.param(
            "{name: c, type: relationships, stage: orders, column: cid, to: customer}",
            "unknown-stage",
            "customer}",
            id="unknown-relationships-target",
        ),
        pytest.param(
            "{name: c, type: unique, stage: orders, columns: [id], action: drop}",
            "invalid-value",
            "drop",
            id="dataset-level-check-that-drops",
        ),
        pytest.param(
            "{name: c, type: not_null, stage: orders, columns: [a], threshold: {max_ratio: 0.1, max_count: 3}}",
            "threshold",
            "{max_ratio",
            id="threshold-with-a-ratio-and-a-count",
        ),
        pytest.param(
            "{name: c, type: not_null, stage: orders, columns: [a], threshold: {max_ratio: 5}}",
            "schema",
            "5}",
            id="ratio-above-one",
        ),
        pytest.param(
            "{name: c, type: not_null, stage: orders, columns: [a], action: fail, severity: warning}",
            "contradictory-severity",
            "warning",
            id="fail-with-severity-warning",
        ),
    ],
)
def test_a_check_problem_is_reported_at_the_offending_value(tmp_path: Path, item: str, code: str, token: str) -> None:
    d = only(diagnose(tmp_path, f"checks:\n  - {item}\n"), code)
    assert where(d) == at(FIRST, f"  - {item}", token)


@pytest.mark.parametrize(
    ("item", "hint"),
    [
        ("{name: c, type: not_null, stage: order, columns: [id]}", "did you mean 'orders'?"),
        ("{name: c, type: relationships, stage: orders, column: cid, to: customer}", "did you mean 'customers'?"),
    ],
)
def test_an_unknown_stage_suggests_the_nearest_name(tmp_path: Path, item: str, hint: str) -> None:
    assert only(diagnose(tmp_path, f"checks:\n  - {item}\n"), "unknown-stage").hint == hint


def test_dataset_level_checks_can_only_warn_or_fail(tmp_path: Path) -> None:
    tail = "checks:\n  - {name: c, type: unique, stage: orders, columns: [id], action: drop}\n"
    assert only(diagnose(tmp_path, tail), "invalid-value").message.endswith("expected one of: warn, fail")


def test_a_relationships_target_read_by_nothing_else_is_not_unused(tmp_path: Path) -> None:
    tail = "checks:\n  - {name: c, type: relationships, stage: orders, column: cid, to: customers}\n"
    assert [d for d in diagnose(tmp_path, tail) if d.code == "unused-stage"] == []


def test_options_of_a_check_type_are_checked_by_the_schema(tmp_path: Path) -> None:
    item = "  - {name: c, type: range, stage: orders, colum: amount, min: 0}"
    found = diagnose(tmp_path, f"checks:\n{item}\n")
    unknown = only(found, "unknown-key")
    assert where(unknown) == at(FIRST, item, "colum:")
    assert unknown.hint == "did you mean 'column'?"
    missing = only(found, "missing-key")
    assert "'column'" in missing.message


@pytest.mark.parametrize(
    ("item", "token", "text"),
    [
        ("{name: c, type: range, stage: orders, column: a, min: 5, max: 1}", "5,", "min 5 is greater than max 1"),
        ("{name: c, type: range, stage: orders, column: a}", "a}", "needs min, max or both"),
        ("{name: c, type: row_count, stage: paid, min: 9, max: 2}", "9,", "min 9 is greater than max 2"),
        ("{name: c, type: freshness, stage: orders, column: ts, max_age: 2 fortnights}", "2 fort", "unknown unit"),
        ("{name: c, type: freshness, stage: orders, column: ts, max_age: soon}", "soon", "is not a duration"),
        ("{name: c, type: accepted_values, stage: orders, column: a, values: [x, y], weights: [1]}", "[1]", "1 weig"),
        ("{name: c, type: accepted_values, stage: orders, column: a, values: [x], weights: [0]}", "[0]", "every w"),
    ],
)
def test_type_specific_option_rules(tmp_path: Path, item: str, token: str, text: str) -> None:
    d = only(diagnose(tmp_path, f"checks:\n  - {item}\n"), "invalid-option")
    assert where(d) == at(FIRST, f"  - {item}", token)
    assert text in d.message


def test_row_count_takes_no_threshold(tmp_path: Path) -> None:
    tail = "checks:\n  - {name: c, type: row_count, stage: paid, min: 1, threshold: {max_count: 2}}\n"
    d = only(diagnose(tmp_path, tail), "unknown-key")
    assert d.message == "unknown key 'threshold' in checks.c"


def test_quarantine_needs_a_dead_letter_queue(tmp_path: Path) -> None:
    tail = "checks:\n  - {name: c, type: not_null, stage: orders, columns: [a], action: quarantine}\n"
    d = only(diagnose(tmp_path, tail), "no-dead-letter")
    assert where(d) == at(FIRST, tail.splitlines()[1], "quarantine")
    assert "dead_letter:" in (d.hint or "")
    fixed = diagnose(tmp_path, tail + "dead_letter: {type: parquet, path: dlq}\n")
    assert [d for d in fixed if d.severity == "error"] == []


def test_check_names_are_unique(tmp_path: Path) -> None:
    tail = (
        "checks:\n"
        "  - {name: c, type: not_null, stage: orders, columns: [a]}\n"
        "  - {name: c, type: not_null, stage: paid, columns: [a]}\n"
    )
    d = only(diagnose(tmp_path, tail), "duplicate-name")
    assert where(d) == (FIRST + 1, 12)
    assert f":{FIRST}:12" in (d.hint or "")


def test_on_malformed_dead_letter_needs_a_queue(tmp_path: Path) -> None:
    text = HEAD.replace("    path: orders.csv\n", "    path: orders.csv\n    on_malformed: dead_letter\n")
    d = only(diagnose(tmp_path, "", head=text), "no-dead-letter")
    assert where(d) == (5, 19)


def test_contract_types_are_spark_types(tmp_path: Path) -> None:
    contract = "    contract:\n      columns:\n        id: {type: INTEGR, nullable: false}\n        name: STRING\n"
    text = HEAD.replace("    path: orders.csv\n", "    path: orders.csv\n" + contract)
    d = only(diagnose(tmp_path, "", head=text), "invalid-type")
    assert where(d) == (7, 13)
    assert "unknown type 'INTEGR'" in d.message


def test_a_check_on_a_column_outside_the_stage_contract_is_a_warning(tmp_path: Path) -> None:
    contract = "    contract:\n      columns: {order_id: INT, amount: DOUBLE}\n"
    text = HEAD.replace("    path: orders.csv\n", "    path: orders.csv\n" + contract)
    tail = "checks:\n  - {name: c, type: range, stage: orders, column: amont, min: 0}\n"
    d = only(diagnose(tmp_path, tail, head=text), "column-not-in-contract")
    assert d.severity == "warning"
    assert d.hint == "did you mean 'amount'?"


def test_retry_delays_must_grow(tmp_path: Path) -> None:
    line = "retry: {attempts: 4, initial_delay: 10, max_delay: 2}"
    d = only(diagnose(tmp_path, line + "\n"), "retry-delays")
    assert where(d) == at(FIRST - 1, line, "2}")


def test_the_dead_letter_queue_has_its_own_folder(tmp_path: Path) -> None:
    line = "dead_letter: {type: parquet, path: out}"
    d = only(diagnose(tmp_path, line + "\n"), "duplicate-target")
    assert where(d) == at(FIRST - 1, line, "out}")
