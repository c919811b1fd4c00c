"""Names and limit errors of etl_cli/config/limits.py, pinned where mutation testing found them loose.

``is_relative_name``: a template name is a path below the templates folder, so a name with a backslash or a NUL,
an empty part (a leading, doubled or trailing ``/``), ``.`` or ``..`` is refused and any other path is taken.
``LimitExceeded``: the error a limit stops loading with says the diagnostic's message at its place, with its hint.
"""

from __future__ import annotations

import pytest

from etl_cli.config.limits import LimitExceeded, is_relative_name
from etl_cli.diagnostics import error
from etl_cli.errors import ConfigError, Location


@pytest.mark.parametrize(
    ("name", "relative"),
    [
        ("base", True),
        ("files/base", True),
        ("files/.hidden/base.v2", True),
        ("files\\base", False),
        ("files\0base", False),
        ("/etc/base", False),
        ("files//base", False),
        ("files/", False),
        ("./base", False),
        ("files/./base", False),
        ("../base", False),
        ("files/../../base", False),
    ],
)
def test_a_template_name_is_a_path_below_the_templates_folder(name: str, relative: bool) -> None:
    assert is_relative_name(name) is relative


def test_a_limit_error_says_the_diagnostics_message_at_its_place_with_its_hint() -> None:
    diagnostic = error("value-depth", "values nest more than 100 levels deep here", Location("p.yaml", 3, 7), "flatten")
    exc = LimitExceeded(diagnostic)
    assert isinstance(exc, ConfigError)
    assert (exc.diagnostic, exc.message, exc.location, exc.hint) == (
        diagnostic,
        "values nest more than 100 levels deep here",
        Location("p.yaml", 3, 7),
        "flatten",
    )
    assert str(exc) == "p.yaml:3:7: values nest more than 100 levels deep here\n  hint: flatten"
