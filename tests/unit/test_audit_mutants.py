"""``audit:`` of the project file (etl_cli/config/audit.py), pinned where mutation testing found it loose: how a
wrong value is quoted in a message (``_show``): text in quotes, any other value as YAML read it (a date as
``2024-01-01``), whole up to 60 characters and cut to 57 and ``...`` past them.
"""

from __future__ import annotations

import pytest

from etl_cli.config.audit import AuditSettings, read_audit_settings

from .helpers import WRONG_VALUES_SHOWN, project_block, said


@pytest.mark.parametrize(
    ("value", "shown"),
    WRONG_VALUES_SHOWN,
)
def test_a_wrong_value_is_quoted_whole_up_to_60_characters_and_cut_past_them(value: str, shown: str) -> None:
    settings, problems = project_block(read_audit_settings, "audit", f"audit: {value}\n")
    assert settings == AuditSettings()
    assert [said(p) for p in problems] == [("wrong-type", f"audit must be a mapping, got {shown}", None, 1, 8)]
