"""The offline rules of ``checks:`` (model/quality_rules.py ``_check_item``, ``_stage_reference`` and
``_columns_outside_contract``), pinned where mutation testing found them loose.

Each problem of a check item is asserted whole: code, message (which names the check by its name, and the key at
fault), hint and place. A stage reference that is a sink, or names no stage, lists only sources and transforms; a
relationships check reports its stage and its target both. A column a strict contract lacks is a warning at the
column, listing the contract's columns (each column a check names, under ``column`` and ``columns`` both); an
``evolve`` contract takes any column.

Then the document-wide rules (``_unique_check_names``, ``_contracts``, ``_malformed_to_dead_letter`` and
``_retries``), each problem asserted whole: a repeated check name after an unnamed check, at the repeat with the
first's place as hint; every contract column of an unknown Spark type, of any stage (not only the first stage
with a contract), named by its stage's name, with the list of types as hint; ``on_malformed: dead_letter``
without a queue, with the hint of how to add one; and a ``retry:`` whose ``max_delay`` is shorter than its
``initial_delay`` (equal delays are fine) wherever it is written: a stage's, a sink's, the dead-letter queue's,
when the pipeline has no ``retry:`` of its own. And ``_dead_letter_target``: a dead-letter queue writing a sink's
folder is an error naming the sink and the folder, at the queue's path, with the hint to give the queue its own.
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


# --- names, contract types, dead letters and retries of the whole document ------------------------------------------

DLQ_HINT = "add a dead_letter: section, e.g. dead_letter: {type: parquet, path: dead_letters}"
TYPE_HINT = "use a Spark SQL type: INT, BIGINT, DOUBLE, DECIMAL(10,2), STRING, DATE, TIMESTAMP..."


def test_a_repeated_check_name_after_an_unnamed_check_is_reported_at_the_repeat(tmp_path: Path) -> None:
    tail = (
        "checks:\n"
        "  - {type: not_null, stage: orders, columns: [a]}\n"  # no name: the schema's error, then the names go on
        "  - {name: c, type: not_null, stage: orders, columns: [a]}\n"
        "  - {name: c, type: not_null, stage: paid, columns: [a]}\n"
    )
    first = f"{tmp_path / 'p' / 'pipeline.yaml'}:{FIRST + 1}:12"
    assert reported(diagnose(tmp_path, tail), "duplicate-name") == [
        ("error", "duplicate-name", "check name 'c' is already used", f"the first is at {first}", FIRST + 2, 12)
    ]


def test_unknown_contract_types_of_a_later_stage_are_each_named_with_the_spark_types(tmp_path: Path) -> None:
    # orders, the first stage, has no contract: the contract of customers is still read
    contract = "    contract:\n      columns: {id: {type: INTEGR}, name: STRNG, ok: STRING}\n"
    head = HEAD.replace("    path: customers.csv\n", "    path: customers.csv\n" + contract)
    line = "      columns: {id: {type: INTEGR}, name: STRNG, ok: STRING}"
    assert reported(diagnose(tmp_path, "", head=head), "invalid-type") == [
        (
            "error",
            "invalid-type",
            "sources.customers.contract.columns.id: unknown type 'INTEGR'",
            TYPE_HINT,
            *at(9, line, "{type"),
        ),
        (
            "error",
            "invalid-type",
            "sources.customers.contract.columns.name: unknown type 'STRNG'",
            TYPE_HINT,
            *at(9, line, "STRNG"),
        ),
    ]


def test_on_malformed_dead_letter_without_a_queue_names_the_stage_and_says_how_to_add_one(tmp_path: Path) -> None:
    head = HEAD.replace("    path: customers.csv\n", "    path: customers.csv\n    on_malformed: dead_letter\n")
    assert reported(diagnose(tmp_path, "", head=head), "no-dead-letter") == [
        (
            "error",
            "no-dead-letter",
            "sources.customers: on_malformed dead_letter needs a dead-letter queue",
            DLQ_HINT,
            *at(8, "    on_malformed: dead_letter", "dead_letter"),
        )
    ]


def test_retry_delays_that_shrink_are_errors_wherever_the_retry_is_written(tmp_path: Path) -> None:
    # no pipeline-wide retry; equal delays (orders) are fine; the sink's and the queue's retries are read too
    source = "    retry: {initial_delay: 5, max_delay: 5}"
    sink = "  - {name: out, type: parquet, input: paid, path: out, retry: {initial_delay: 9, max_delay: 3}}"
    queue = "dead_letter: {type: parquet, path: dlq, retry: {initial_delay: 4, max_delay: 1.5}}"
    head = HEAD.replace("    path: orders.csv\n", f"    path: orders.csv\n{source}\n").replace(
        "  - {name: out, type: parquet, input: paid, path: out}", sink
    )
    assert reported(diagnose(tmp_path, queue + "\n", head=head), "retry-delays") == [
        (
            "error",
            "retry-delays",
            "sinks.out.retry: max_delay 3 is shorter than initial_delay 9",
            None,
            *at(15, sink, "3}}"),
        ),
        (
            "error",
            "retry-delays",
            "dead_letter.retry: max_delay 1.5 is shorter than initial_delay 4",
            None,
            *at(16, queue, "1.5"),
        ),
    ]


def test_a_dead_letter_queue_writing_a_sink_s_folder_is_an_error_naming_the_sink_and_the_folder(
    tmp_path: Path,
) -> None:
    line = "dead_letter: {type: parquet, path: out}"
    assert reported(diagnose(tmp_path, line + "\n"), "duplicate-target") == [
        (
            "error",
            "duplicate-target",
            "the dead-letter queue and sink 'out' both write out",
            "give the dead-letter queue its own folder",
            *at(FIRST - 1, line, "out}"),
        )
    ]
