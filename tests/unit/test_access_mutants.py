"""What a run's row-access decision says, found untested by mutation testing (mutmut) of etl_cli/model/access.py.

Pins the refusal message of :func:`decide` in full (the principal it refuses to read as, every rule's reason, the
hints once each, the first refusing rule's place): no principal could be named, a principal that is not declared
and where its name came from (``--as``, ETL_PRINCIPAL, the OS user), a declared one without the attributes a filter
reads. And the run results' ``access`` block of :meth:`AccessDecision.to_json`: the principal and where its name
came from (both null when none could be named), each filter, and each source a rule matched but the principal is
exempt from. And where a filter's problem points: into its quoted text, on the file's first or last line too, the
file read as UTF-8 whatever the locale. Rules are read from a real ``etl-project.yaml``; expected messages and
places are written by hand from its text.
"""

from __future__ import annotations

import locale
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl_cli.config.project import load_project
from etl_cli.diagnostics import error
from etl_cli.errors import Location
from etl_cli.model.access import AccessRefused, AccessSpec, access_of, check_access, decide
from etl_cli.plugins.api import StageSpec

from .helpers import write

PROJECT = """\
name: rls
principals:
  alice: {tenant: 7}
  root: {groups: [admins]}
access:
  tenant_rows:
    sources: [orders]
    filter: "tenant_id = ${principal:tenant}"
    exempt: {groups: [admins]}
    required: true
  region_rows:
    sources: [orders]
    filter: "region = ${principal:region}"
    exempt: {principals: [alice, root]}
"""

ORDERS = StageSpec("orders", "source", "csv", (), {"path": "data/orders.csv"})
REGIONS = StageSpec("regions", "source", "csv", (), {"path": "data/regions.csv"})


def access(root: Path, project: str = PROJECT) -> AccessSpec:
    write(root, "etl-project.yaml", project)
    return access_of(load_project(root))


def at(root: Path, line: int, column: int) -> Location:
    return Location(str(root / "etl-project.yaml"), line, column)


def test_a_refusal_names_the_principal_it_refuses_every_reason_and_each_hint_once(tmp_path: Path) -> None:
    with pytest.raises(AccessRefused) as caught:
        decide(access(tmp_path), [ORDERS, REGIONS], tmp_path, {"ETL_PRINCIPAL": "alicia"})
    refused = caught.value
    assert refused.message == (
        "the project's access rules refuse to read as 'alicia': "
        "access rule 'tenant_rows': it requires a declared principal, and 'alicia' (from ETL_PRINCIPAL) is not "
        "declared; "
        "access rule 'region_rows': it reads attributes of the principal, and 'alicia' (from ETL_PRINCIPAL) is not "
        "declared"
    )
    assert refused.hint == (
        "did you mean 'alice'? declare 'alicia' under principals: in etl-project.yaml, or run --as one of them"
    )
    assert refused.location == Location(str(tmp_path / "etl-project.yaml"), 6, 3)


def test_a_principal_named_by_as_is_refused_by_that_name(tmp_path: Path) -> None:
    with pytest.raises(AccessRefused) as caught:
        decide(access(tmp_path).as_principal("zed"), [ORDERS], tmp_path, {"ETL_PRINCIPAL": "alice"})
    assert caught.value.message.startswith("the project's access rules refuse to read as 'zed': ")
    assert "'zed' (named by --as) is not declared" in caught.value.message


def test_the_results_list_each_source_a_principal_is_exempt_from_with_its_rule(tmp_path: Path) -> None:
    decision = decide(access(tmp_path).as_principal("root"), [ORDERS, REGIONS], tmp_path, {})
    assert decision.to_json() == {
        "principal": "root",
        "source": "option",
        "filters": [],
        "exempt": [{"source": "orders", "rule": "tenant_rows"}, {"source": "orders", "rule": "region_rows"}],
    }


def test_the_results_hold_the_filters_and_the_exemptions_of_one_principal_together(tmp_path: Path) -> None:
    decision = decide(access(tmp_path), [ORDERS], tmp_path, {"ETL_PRINCIPAL": "alice"})
    assert decision.to_json() == {
        "principal": "alice",
        "source": "env",
        "filters": [{"source": "orders", "rule": "tenant_rows", "filter": "tenant_id = 7"}],
        "exempt": [{"source": "orders", "rule": "region_rows"}],
    }


def test_without_a_principal_the_results_say_null_when_no_rule_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("etl_cli.config.principal._os_user", lambda environ: None)
    decision = decide(access(tmp_path), [REGIONS], tmp_path, {})
    assert decision.principal is None
    assert decision.to_json() == {"principal": None, "source": None, "filters": [], "exempt": []}


# --------------------------------------------------------------------------- every reason of a refusal, in full

ZONES = """\
name: rls
principals:
  bob: {team: x}
access:
  zone_rows:
    filter: "tenant_id = ${principal:tenant} AND region = ${principal:region}"
"""
UNDECLARED = "declare '{0}' under principals: in etl-project.yaml, or run --as one of them"


@pytest.mark.parametrize(
    ("project", "environ", "os_user", "message", "hint", "line"),
    [
        pytest.param(
            PROJECT, {}, None,
            "without a principal: access rule 'tenant_rows': no principal could be named; "
            "access rule 'region_rows': no principal could be named",
            "run with --as NAME or set ETL_PRINCIPAL", 6, id="no-principal",
        ),
        pytest.param(
            PROJECT, {}, "zed",
            "as 'zed': access rule 'tenant_rows': it requires a declared principal, and 'zed' (the OS user) is not "
            "declared; access rule 'region_rows': it reads attributes of the principal, and 'zed' (the OS user) is "
            "not declared",
            UNDECLARED.format("zed"), 6, id="undeclared-os-user-with-no-close-name",
        ),
        pytest.param(
            ZONES, {"ETL_PRINCIPAL": "bob"}, None,
            "as 'bob': access rule 'zone_rows': principal 'bob' has no attribute 'tenant', 'region'",
            "add tenant, region to principals.bob in etl-project.yaml, or exempt 'bob'", 5,
            id="declared-without-two-attributes",
        ),
    ],
)  # fmt: skip
def test_a_refusal_says_why_for_each_rule_and_what_to_do(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    project: str,
    environ: dict[str, str],
    os_user: str | None,
    message: str,
    hint: str,
    line: int,
) -> None:
    monkeypatch.setattr("etl_cli.config.principal._os_user", lambda environ: os_user)
    with pytest.raises(AccessRefused) as caught:
        decide(access(tmp_path, project), [ORDERS], tmp_path, environ)
    refused = caught.value
    assert (refused.message, refused.hint, refused.location) == (
        f"the project's access rules refuse to read {message}",
        hint,
        Location(str(tmp_path / "etl-project.yaml"), line, 3),
    )


# --------------------------------------------------------------------------- where a filter's problem points

BAD_REFERENCE = "'${principal:bad-x}' does not name an attribute"
BAD_REFERENCE_HINT = "write ${principal:ATTR} with ATTR a name of letters, digits and underscores"


@pytest.mark.parametrize(
    ("project", "line", "column"),
    [
        # the quoted filter on the file's first line: its text starts one column after the quote
        ('access: {r: {filter: "x = ${principal:bad-x}"}}\nname: rls\n', 1, 27),
        # ... and on its last line
        ('name: rls\naccess:\n  r:\n    filter: "x = ${principal:bad-x}"\n', 4, 18),
    ],
)
def test_a_filter_problem_points_into_the_quoted_filter_on_the_first_and_the_last_line(
    tmp_path: Path, project: str, line: int, column: int
) -> None:
    write(tmp_path, "etl-project.yaml", project)
    assert check_access(load_project(tmp_path)) == [
        error("access-filter", f"access.r.filter: {BAD_REFERENCE}", at(tmp_path, line, column), BAD_REFERENCE_HINT)
    ]


@pytest.fixture
def ascii_locale() -> Iterator[None]:
    """The C locale, whose encoding is ASCII: what ``open()`` reads with when no encoding is given."""
    saved = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


@pytest.mark.usefixtures("ascii_locale")
def test_the_project_file_is_read_as_utf8_to_place_a_filter_problem_whatever_the_locale(tmp_path: Path) -> None:
    project = 'name: rls\naccess:\n  r:\n    description: Zeilen für Mandanten\n    filter: "x = ${principal:bad-x}"\n'
    write(tmp_path, "etl-project.yaml", project)
    assert check_access(load_project(tmp_path)) == [
        error("access-filter", f"access.r.filter: {BAD_REFERENCE}", at(tmp_path, 5, 18), BAD_REFERENCE_HINT)
    ]
