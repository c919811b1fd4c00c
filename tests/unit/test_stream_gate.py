"""A micro-batch failed by a ``fail`` check is told apart from other failures, with the checks it names."""

from __future__ import annotations

import pytest

from etl_cli.runtime.safeguards.quality.streaming import gate_error


@pytest.mark.parametrize(
    "text",
    [
        "[USER_RAISED_EXCEPTION] etl-cli quality gate: a row of stage 'r' failed check(s) amount, has_id "
        "SQLSTATE: P0001",
        "Job aborted: etl-cli quality gate: a row of stage 'r' failed check(s) amount, has_id. SQLSTATE: P0001\nat",
    ],
)
def test_the_gate_error_names_exactly_the_failed_checks(text: str) -> None:
    found = gate_error(text)
    assert found is not None
    error, names = found
    assert names == {"amount", "has_id"}
    assert error.message == (
        "data-quality gate failed on the stream: a row of stage 'r' failed check(s) amount, has_id; "
        "the micro-batch was not committed"
    )


def test_other_failures_are_not_gate_errors() -> None:
    assert gate_error("[MALFORMED_RECORD_IN_PARSING] Malformed records are detected") is None
