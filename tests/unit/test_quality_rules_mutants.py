"""The offline rules of ``checks:`` (model/quality_rules.py ``_check_item``, ``_stage_reference`` and
``_columns_outside_contract``), pinned where mutation testing found them loose.

Each problem of a check item is asserted whole: code, message (which names the check by its name, and the key at
fault), hint and place. A stage reference that is a sink, or names no stage, lists only sources and transforms; a
relationships check reports its stage and its target both. A column a strict contract lacks is a warning at the
column, listing the contract's columns (each column a check names, under ``column`` and ``columns`` both); an
``evolve`` contract takes any column.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.diagnostics import Diagnostic

from .test_quality_validation import FIRST, HEAD, at, diagnose

Reported = tuple[str, str, str, str | None, int, int]


def reported(diagnostics: list[Diagnostic], *codes: str) -> list[Reported]:
    """Severity, code, message, hint, line and column of each diagnostic with one of ``codes``, in order."""
    found: list[Reported] = []
    for d in diagnostics:
        if d.code in codes:
            assert d.location is not None
            found.append((d.severity, d.code, d.message, d.hint, d.location.line, d.location.column))
    return found


def item_problems(tmp_path: Path, item: str, *codes: str) -> list[Reported]:
    """What ``validate`` says, with ``codes``, of a pipeline (:data:`HEAD`) whose one check is ``item``."""
    return reported(diagnose(tmp_path, f"checks:\n  - {item}\n"), *codes)


def place(item: str, token: str) -> tuple[int, int]:
    return at(FIRST, f"  - {item}", token)


READABLE = "sources and transforms: orders, customers, paid"


def test_a_check_on_a_sink_says_so_and_to_check_what_the_sink_writes(tmp_path: Path) -> None:
    item = "{name: c, type: not_null, stage: out, columns: [id]}"
    assert item_problems(tmp_path, item, "check-on-sink", "unknown-stage") == [
        (
            "error",
            "check-on-sink",
            "checks.c: stage 'out' is a sink",
            "check the stage the sink writes instead",
            *place(item, "out,"),
        )
    ]


def test_an_unknown_stage_far_from_every_name_lists_the_sources_and_transforms_but_no_sink(tmp_path: Path) -> None:
    item = "{name: c, type: not_null, stage: zzz, columns: [id]}"
    assert item_problems(tmp_path, item, "check-on-sink", "unknown-stage") == [
        ("error", "unknown-stage", "checks.c: stage 'zzz' is not a source or transform", READABLE, *place(item, "zzz"))
    ]


def test_a_relationships_check_reports_both_an_unknown_stage_and_an_unknown_target(tmp_path: Path) -> None:
    item = "{name: c, type: relationships, stage: zzz, column: cid, to: qqq}"
    assert item_problems(tmp_path, item, "check-on-sink", "unknown-stage") == [
        ("error", "unknown-stage", "checks.c: stage 'zzz' is not a source or transform", READABLE, *place(item, "zzz")),
        ("error", "unknown-stage", "checks.c: to 'qqq' is not a source or transform", READABLE, *place(item, "qqq")),
    ]


def test_action_fail_with_severity_warning_is_a_contradiction_at_the_severity(tmp_path: Path) -> None:
    item = "{name: c, type: not_null, stage: orders, columns: [a], action: fail, severity: warning}"
    assert item_problems(tmp_path, item, "contradictory-severity") == [
        (
            "error",
            "contradictory-severity",
            "checks.c: action fail with severity warning cannot both hold",
            "use action warn to only report, or drop the severity",
            *place(item, "warning"),
        )
    ]


def test_a_threshold_with_a_ratio_and_a_count_says_to_set_one(tmp_path: Path) -> None:
    item = "{name: c, type: not_null, stage: orders, columns: [a], threshold: {max_ratio: 0.1, max_count: 3}}"
    assert item_problems(tmp_path, item, "threshold") == [
        ("error", "threshold", "checks.c: set max_ratio or max_count, not both", None, *place(item, "{max_ratio"))
    ]


def test_quarantine_without_a_dead_letter_queue_says_what_it_needs(tmp_path: Path) -> None:
    item = "{name: c, type: not_null, stage: orders, columns: [a], action: quarantine}"
    assert item_problems(tmp_path, item, "no-dead-letter") == [
        (
            "error",
            "no-dead-letter",
            "checks.c: action quarantine needs a dead-letter queue",
            "add a dead_letter: section, e.g. dead_letter: {type: parquet, path: dead_letters}",
            *place(item, "quarantine"),
        )
    ]


def test_a_check_types_own_rule_is_reported_at_its_key_with_the_types_hint(tmp_path: Path) -> None:
    item = "{name: c, type: range, stage: orders, column: a, min: 5, max: 1}"
    assert item_problems(tmp_path, item, "invalid-option") == [
        ("error", "invalid-option", "checks.c.min: min 5 is greater than max 1", "swap them", *place(item, "5,"))
    ]


# --- columns outside the stage's contract -------------------------------------------------------------------------


def with_contract(contract: str) -> str:
    """:data:`HEAD` with ``contract`` (indented lines) under the source ``orders``; it moves the checks down."""
    return HEAD.replace("    path: orders.csv\n", "    path: orders.csv\n    contract:\n" + contract)


def test_columns_a_strict_contract_lacks_are_warnings_at_each_column_listing_the_contracts(tmp_path: Path) -> None:
    head = with_contract("      columns: {order_id: INT, amount: DOUBLE}\n")
    first = "  - {name: c, type: range, stage: orders, column: zzz, min: 0}"
    second = "  - {name: d, type: not_null, stage: orders, columns: [order_id, qty]}"
    line = head.count("\n") + 2
    found = reported(diagnose(tmp_path, f"checks:\n{first}\n{second}\n", head=head), "column-not-in-contract")
    hint = "contract columns: order_id, amount"
    assert found == [
        (
            "warning",
            "column-not-in-contract",
            "check 'c' reads column 'zzz', which the contract of 'orders' lacks",
            hint,
            *at(line, first, "zzz"),
        ),
        (
            "warning",
            "column-not-in-contract",
            "check 'd' reads column 'qty', which the contract of 'orders' lacks",
            hint,
            *at(line + 1, second, "qty"),
        ),
    ]


def test_a_check_naming_a_column_and_a_list_of_columns_is_compared_with_the_contract_for_both(tmp_path: Path) -> None:
    # no check type takes both keys (the schema says so too): each column named is still compared with the contract
    head = with_contract("      columns: {order_id: INT, amount: DOUBLE}\n")
    item = "  - {name: c, type: not_null, stage: orders, column: zzz, columns: [qty]}"
    line = head.count("\n") + 2
    found = reported(diagnose(tmp_path, f"checks:\n{item}\n", head=head), "column-not-in-contract")
    assert found == [
        (
            "warning",
            "column-not-in-contract",
            f"check 'c' reads column '{column}', which the contract of 'orders' lacks",
            "contract columns: order_id, amount",
            *at(line, item, column),
        )
        for column in ("zzz", "qty")
    ]


def test_an_evolving_contract_takes_columns_it_does_not_declare(tmp_path: Path) -> None:
    head = with_contract("      policy: evolve\n      columns: {order_id: INT}\n")
    tail = "checks:\n  - {name: c, type: range, stage: orders, column: zzz, min: 0}\n"
    assert reported(diagnose(tmp_path, tail, head=head), "column-not-in-contract") == []


def test_a_contract_without_columns_is_the_schemas_error_alone(tmp_path: Path) -> None:
    head = with_contract("      policy: strict\n")
    tail = "checks:\n  - {name: c, type: range, stage: orders, column: zzz, min: 0}\n"
    found = diagnose(tmp_path, tail, head=head)
    assert [(d.code, d.message) for d in found if d.severity == "error"] == [
        ("missing-key", "missing required key 'columns' in sources.orders.contract")
    ]
    assert reported(found, "column-not-in-contract") == []
