"""What a run's row-access decision says, found untested by mutation testing (mutmut) of etl_cli/model/access.py.

Pins the refusal message of :func:`decide` in full (the principal it refuses to read as, every rule's reason, the
hints once each, the first refusing rule's place): no principal could be named, a principal that is not declared
and where its name came from (``--as``, ETL_PRINCIPAL, the OS user), a declared one without the attributes a filter
reads. And the run results' ``access`` block of :meth:`AccessDecision.to_json`: the principal and where its name
came from (both null when none could be named), each filter, and each source a rule matched but the principal is
exempt from. And where a filter's problem points: into its quoted text, on the file's first or last line too, the
file read as UTF-8 whatever the locale. Rules are read from a real ``etl-project.yaml``; expected messages and
places are written by hand from its text.

Then the model's small decisions, on objects built in code: which stages a rule filters (sources only, by type, by
what they read: each path of a list, a relative path as written and made absolute, a table never made a path), who
is exempt (by name, by a group), where an offset into a filter is (not moved without a line or an offset), ``--as``
left out keeping the principal named before, the ``name`` attribute, a column named like a placeholder, each
source's filters, and a filter that is not SQL refused with the first line of sqlglot's message (its type's name
when it has none).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlglot.errors import ParseError

from etl_cli.config.project import load_project
from etl_cli.diagnostics import error
from etl_cli.errors import Location
from etl_cli.model.access import (
    AccessDecision,
    AccessRefused,
    AccessRule,
    AccessSpec,
    FilterProblem,
    PrincipalEntry,
    RowFilter,
    _first_line,
    access_of,
    check_access,
    decide,
    parse_filter,
)
from etl_cli.plugins.api import StageSpec

from .helpers import ascii_locale, write

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
TWO_RULES = """\
name: rls
principals:
  carol: {team: x}
access:
  tenant_rows:
    filter: "tenant_id = ${principal:tenant}"
  region_rows:
    filter: "region = ${principal:region}"
"""


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
        pytest.param(
            TWO_RULES, {"ETL_PRINCIPAL": "carol"}, None,
            "as 'carol': access rule 'tenant_rows': principal 'carol' has no attribute 'tenant'; "
            "access rule 'region_rows': principal 'carol' has no attribute 'region'",
            "add tenant to principals.carol in etl-project.yaml, or exempt 'carol'; "
            "add region to principals.carol in etl-project.yaml, or exempt 'carol'", 5,
            id="two-rules-with-two-hints",
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


def test_the_project_file_is_read_as_utf8_to_place_a_filter_problem_whatever_the_locale(tmp_path: Path) -> None:
    project = 'name: rls\naccess:\n  r:\n    description: Zeilen für Mandanten\n    filter: "x = ${principal:bad-x}"\n'
    write(tmp_path, "etl-project.yaml", project)
    with ascii_locale():
        found = check_access(load_project(tmp_path))
    assert found == [
        error("access-filter", f"access.r.filter: {BAD_REFERENCE}", at(tmp_path, 5, 18), BAD_REFERENCE_HINT)
    ]


# --------------------------------------------------------------------------- the model's small decisions

ROOT = Path("/srv/shop")


def rule(
    types: tuple[str, ...] = (),
    datasets: tuple[str, ...] = (),
    exempt_principals: tuple[str, ...] = (),
    exempt_groups: tuple[str, ...] = (),
) -> AccessRule:
    """A rule filtering ``x = 1`` with these selectors and exemptions."""
    parsed = parse_filter("x = 1")
    return AccessRule("r", "x = 1", parsed, (), types, datasets, exempt_principals, exempt_groups)


@pytest.mark.parametrize(
    ("selectors", "stage", "matched"),
    [
        pytest.param({}, ORDERS, True, id="no-selector-a-source"),
        pytest.param({}, StageSpec("out", "sink", "csv", (), {"path": "o"}), False, id="no-selector-a-sink"),
        pytest.param({}, StageSpec("t", "transform", "sql", (), {}), False, id="no-selector-a-transform"),
        pytest.param({"types": ("jdbc",)}, ORDERS, False, id="a-source-of-another-type"),
        pytest.param({"types": ("csv",)}, ORDERS, True, id="a-source-of-the-type"),
        pytest.param(
            {"datasets": ("*/b.csv",)},
            StageSpec("both", "source", "csv", (), {"path": ["data/a.csv", "data/b.csv"]}),
            True,
            id="one-of-the-paths-of-a-list",
        ),
        pytest.param({"datasets": ("/srv/shop/data/*",)}, ORDERS, True, id="a-relative-path-made-absolute"),
        pytest.param({"datasets": ("data/*",)}, ORDERS, True, id="a-relative-path-as-written"),
        pytest.param(
            {"datasets": ("/srv/shop/*",)},
            StageSpec("db", "source", "jdbc", (), {"table": "sales.orders"}),
            False,
            id="a-table-is-not-a-path",
        ),
    ],
)
def test_a_rule_filters_sources_chosen_by_type_and_by_what_they_read(
    selectors: dict[str, tuple[str, ...]], stage: StageSpec, matched: bool
) -> None:
    assert rule(**selectors).matches(stage, ROOT) is matched


def test_a_principal_is_exempt_by_its_name_or_one_of_its_groups() -> None:
    exempting = rule(exempt_principals=("root",), exempt_groups=("admins",))
    admin = PrincipalEntry("bob", groups=("staff", "admins"))
    assert [
        exempting.exempts("root", None),
        exempting.exempts("bob", admin),
        exempting.exempts("bob", PrincipalEntry("bob", groups=("staff",))),
        exempting.exempts("bob", None),
    ] == [True, True, False, False]


@pytest.mark.parametrize(
    ("start", "offset", "place"),
    [
        pytest.param(Location("p.yaml", 3, 10), 4, Location("p.yaml", 3, 14), id="an-offset-on-a-line"),
        pytest.param(Location("p.yaml", 1, 10), 4, Location("p.yaml", 1, 14), id="an-offset-on-the-first-line"),
        pytest.param(Location("p.yaml", 3, 10), None, Location("p.yaml", 3, 10), id="no-offset-the-start"),
        pytest.param(Location("p.yaml", 0, 0), 4, Location("p.yaml", 0, 0), id="no-line-the-file"),
        pytest.param(None, 4, None, id="no-place"),
    ],
)
def test_a_place_in_a_filter_is_its_start_moved_by_the_offset(
    start: Location | None, offset: int | None, place: Location | None
) -> None:
    placed = AccessRule("r", "x = 1", parse_filter("x = 1"), filter_location=start)
    assert placed.filter_at(offset) == place


def test_reading_as_no_one_keeps_the_principal_named_before() -> None:
    spec = AccessSpec(acting_as="bob")
    assert (spec.as_principal(None).acting_as, spec.as_principal("eve").acting_as) == ("bob", "eve")


def test_the_name_attribute_is_the_principals_own_name() -> None:
    alice = PrincipalEntry("alice", {"tenant": 7})
    assert (alice.value("name"), alice.value("tenant")) == ("alice", 7)


def test_a_column_named_like_a_placeholder_stays_a_column() -> None:
    parsed = parse_filter("etl_principal__tenant = ${principal:tenant}")
    assert parsed.with_values({"tenant": 7}) == "etl_principal__tenant = 7"


def test_a_decision_gives_each_source_its_own_filters() -> None:
    orders = RowFilter("orders", "tenant_rows", "tenant_id = 7")
    decision = AccessDecision(None, (orders, RowFilter("regions", "tenant_rows", "tenant_id = 7")))
    assert (decision.for_source("orders"), decision.for_source("shops")) == ([orders], [])


def test_a_filter_that_is_not_sql_is_refused_with_the_first_line_of_the_parsers_message() -> None:
    with pytest.raises(FilterProblem) as caught:
        parse_filter("a in (1")
    assert (caught.value.message, caught.value.offset, caught.value.hint) == (
        "it is not valid Spark SQL: Expecting ). Line 1, Col: 7.",
        None,
        None,
    )


def test_a_parser_error_without_a_message_is_named_by_its_type() -> None:
    assert _first_line(ParseError("")) == "ParseError"
