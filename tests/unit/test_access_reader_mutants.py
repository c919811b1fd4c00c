"""How ``principals:`` and ``access:`` of etl-project.yaml are read, found untested by mutation testing (mutmut).

Pins what the reader of etl_cli/model/access.py makes of each principal (its attributes, groups and place; one
written without attributes declared bare at its name; one that is not a mapping, or with any problem, left out and
every problem of it still reported; the entries after it still read), of each rule (one that is not a mapping or has
no filter reported and left out, the rules after it still read and checked against the principals; of a rule read:
its sources, types, datasets, exempt principals and groups, ``required`` and description) and of its ``exempt:``
block; and every problem it reports, in full: code, message, hint and ``file:line:col`` (a declared principal
without an attribute a filter reads, unless the rule exempts it by name or group, at the first reference to it).
Rules are read from a real ``etl-project.yaml``; expected messages and places are written by hand from its text
(lines and columns count from 1).
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.project import load_project
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import Location
from etl_cli.model.access import AccessRule, AccessSpec, PrincipalEntry, access_of, check_access, parse_filter

from .helpers import write

RULE_HINT = 'for example: filter: "tenant_id = ${principal:tenant}"'
NAME_HINT = "attributes are names of letters, digits and underscores, other than 'name'"
VALUE_HINT = "a filter compares a column with one value"
PRINCIPAL_HINT = "for example: alice: {tenant: 7, region: eu, groups: [analysts]}"
ACCESS_HINT = 'for example: {filter: "tenant_id = ${principal:tenant}"}'


def read(root: Path, project: str) -> tuple[AccessSpec, list[Diagnostic]]:
    write(root, "etl-project.yaml", project)
    loaded = load_project(root)
    return access_of(loaded), check_access(loaded)


def at(root: Path, line: int, column: int) -> Location:
    return Location(str(root / "etl-project.yaml"), line, column)


def rule(spec: AccessSpec, name: str) -> AccessRule:
    return next(r for r in spec.rules if r.name == name)


def test_a_principal_keeps_its_scalar_attributes_and_its_groups_and_is_placed_at_its_name(tmp_path: Path) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        principals:
          alice: {tenant: 7, region: eu, groups: [analysts, admins]}
        """,
    )
    assert problems == []
    alice = spec.principals["alice"]
    assert dict(alice.attributes) == {"tenant": 7, "region": "eu"}
    assert alice.groups == ("analysts", "admins")
    assert alice.location == at(tmp_path, 3, 3)


def test_groups_given_as_one_name_are_refused_and_the_keys_after_them_are_still_checked(tmp_path: Path) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        principals:
          bob: {groups: admins, "bad-key": 1}
        """,
    )
    assert problems == [
        error("wrong-type", "principals.bob.groups must be a list of group names", at(tmp_path, 3, 17)),
        error("invalid-name", "principals.bob.bad-key: 'bad-key' is not an attribute name", at(tmp_path, 3, 25),
              NAME_HINT),
    ]  # fmt: skip
    assert dict(spec.principals) == {}


def test_a_wrong_group_list_alone_leaves_the_principal_out(tmp_path: Path) -> None:
    spec, problems = read(tmp_path, "name: rls\nprincipals:\n  bob: {groups: [admins, 3]}\n")
    assert problems == [error("wrong-type", "principals.bob.groups must be a list of group names", at(tmp_path, 3, 17))]
    assert "bob" not in spec.principals


def test_an_attribute_called_name_or_not_a_name_is_reported_at_its_key_and_the_principal_left_out(
    tmp_path: Path,
) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        principals:
          named: {name: alice}
          dashed: {"tenant-id": 7}
          kept: {tenant: 1}
        """,
    )
    assert problems == [
        error("invalid-name", "principals.named.name: 'name' is the principal's own name", at(tmp_path, 3, 11),
              NAME_HINT),
        error("invalid-name", "principals.dashed.tenant-id: 'tenant-id' is not an attribute name",
              at(tmp_path, 4, 12), NAME_HINT),
    ]  # fmt: skip
    assert list(spec.principals) == ["kept"]


def test_an_attribute_that_is_a_list_or_null_is_reported_at_its_value_and_the_principal_left_out(
    tmp_path: Path,
) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        principals:
          nested: {tenant: [7]}
          empty: {tenant: null}
        """,
    )
    assert problems == [
        error("wrong-type", "principals.nested.tenant must be a text, number or boolean", at(tmp_path, 3, 20),
              VALUE_HINT),
        error("wrong-type", "principals.empty.tenant must be a text, number or boolean", at(tmp_path, 4, 19),
              VALUE_HINT),
    ]  # fmt: skip
    assert dict(spec.principals) == {}


def test_a_rule_reads_its_selectors_exemptions_description_and_required(tmp_path: Path) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        access:
          tenant_rows:
            description: Tenant rows
            sources: [orders]
            types: csv
            datasets: ["data/*"]
            filter: "tenant_id = ${principal:tenant}"
            exempt: {principals: [root], groups: [admins]}
            required: true
        """,
    )
    assert problems == []
    tenant_rows = rule(spec, "tenant_rows")
    assert tenant_rows.sources == ("orders",)
    assert tenant_rows.types == ("csv",)
    assert tenant_rows.datasets == ("data/*",)
    assert tenant_rows.exempt_principals == ("root",)
    assert tenant_rows.exempt_groups == ("admins",)
    assert tenant_rows.required is True
    assert tenant_rows.description == "Tenant rows"
    assert tenant_rows.filter == "tenant_id = ${principal:tenant}"
    assert tenant_rows.location == at(tmp_path, 3, 3)
    assert tenant_rows.filter_location == at(tmp_path, 8, 14)


def test_a_rule_with_required_false_or_none_is_not_required_and_a_non_text_description_is_dropped(
    tmp_path: Path,
) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        access:
          off: {filter: "x = 1", required: false, description: 5}
          unset: {filter: "x = 1"}
        """,
    )
    assert problems == []
    assert rule(spec, "off").required is False
    assert rule(spec, "off").description is None
    assert rule(spec, "unset").required is False
    assert rule(spec, "unset").types == ()
    assert rule(spec, "unset").exempt_principals == ()


def test_unknown_keys_of_a_rule_are_reported_with_the_closest_key_or_every_known_key(tmp_path: Path) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        access:
          r:
            filter: "x = 1"
            filtre: x
            colour: red
        """,
    )
    assert problems == [
        error("unknown-key", "unknown key 'filtre' in access.r", at(tmp_path, 5, 5), "did you mean 'filter'?"),
        error("unknown-key", "unknown key 'colour' in access.r", at(tmp_path, 6, 5),
              "known keys: description, sources, types, datasets, filter, exempt, required"),
    ]  # fmt: skip
    assert [r.name for r in spec.rules] == ["r"]


def test_a_rule_without_a_filter_is_reported_at_its_name_and_a_non_text_filter_at_its_value(tmp_path: Path) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        access:
          numeric:
            filter: 5
          missing:
            sources: orders
        """,
    )
    assert problems == [
        error("wrong-type", "access.numeric needs a filter: a SQL condition on the source's columns",
              at(tmp_path, 4, 13), RULE_HINT),
        error("missing-filter", "access.missing needs a filter: a SQL condition on the source's columns",
              at(tmp_path, 5, 3), RULE_HINT),
    ]  # fmt: skip
    assert spec.rules == ()


def test_a_filter_problem_is_placed_at_its_offset_in_the_filter_or_at_the_filter_when_it_has_none(
    tmp_path: Path,
) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        access:
          bad_reference:
            filter: "x = ${principal:bad-x}"
          empty:
            filter: ""
        """,
    )
    assert problems == [
        error("access-filter", "access.bad_reference.filter: '${principal:bad-x}' does not name an attribute",
              at(tmp_path, 4, 18), "write ${principal:ATTR} with ATTR a name of letters, digits and underscores"),
        error("access-filter", "access.empty.filter: the filter is empty", at(tmp_path, 6, 13),
              "for example: tenant_id = ${principal:tenant}"),
    ]  # fmt: skip
    assert spec.rules == ()


def test_wrong_selectors_and_a_wrong_required_are_reported_at_their_values_and_the_rule_kept(tmp_path: Path) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        access:
          r:
            filter: "x = 1"
            required: 1
            sources: [1]
            types: {a: 1}
            datasets: [""]
        """,
    )
    assert problems == [
        error("wrong-type", "access.r.required must be true or false", at(tmp_path, 5, 15)),
        error("wrong-type", "access.r.sources must be a list of names", at(tmp_path, 6, 14)),
        error("wrong-type", "access.r.types must be a list of names", at(tmp_path, 7, 12)),
        error("wrong-type", "access.r.datasets must be a list of names", at(tmp_path, 8, 15)),
    ]
    r = rule(spec, "r")
    assert (r.sources, r.types, r.datasets, r.required) == ((), (), (), False)


def test_an_exempt_that_is_not_a_mapping_is_reported_at_its_value_with_an_example(tmp_path: Path) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        access:
          r:
            filter: "x = 1"
            exempt: root
        """,
    )
    assert problems == [
        error("wrong-type", "access.r.exempt must be a mapping", at(tmp_path, 5, 13),
              "for example: exempt: {principals: [root], groups: [admins]}"),
    ]  # fmt: skip
    r = rule(spec, "r")
    assert (r.exempt_principals, r.exempt_groups) == ((), ())


def test_unknown_keys_and_wrong_lists_in_exempt_are_reported_at_their_place(tmp_path: Path) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        access:
          r:
            filter: "x = 1"
            exempt: {group: [a], teams: [b], principals: 5, groups: [3]}
        """,
    )
    assert problems == [
        error("unknown-key", "unknown key 'group' in access.r.exempt", at(tmp_path, 5, 14), "did you mean 'groups'?"),
        error("unknown-key", "unknown key 'teams' in access.r.exempt", at(tmp_path, 5, 26),
              "known keys: principals, groups"),
        error("wrong-type", "access.r.exempt.principals must be a list of names", at(tmp_path, 5, 50)),
        error("wrong-type", "access.r.exempt.groups must be a list of names", at(tmp_path, 5, 61)),
    ]  # fmt: skip
    assert [r.name for r in spec.rules] == ["r"]


def test_a_principal_without_an_attribute_a_filter_reads_is_reported_unless_the_rule_exempts_it(
    tmp_path: Path,
) -> None:
    # root (exempt by name, first) and ops (exempt by group) lack tenant too; bob, after them, is reported at the
    # first reference to tenant (the filter's text starts at column 14, the reference 12 characters into it)
    _, problems = read(
        tmp_path,
        """\
        name: rls
        principals:
          root: {}
          ops: {groups: [admins]}
          bob: {region: eu}
        access:
          tenant_rows:
            filter: "tenant_id = ${principal:tenant} or owner = ${principal:tenant}"
            exempt: {principals: [root], groups: [admins]}
        """,
    )
    assert problems == [
        error(
            "missing-attribute",
            "access.tenant_rows.filter reads ${principal:tenant}, which principal 'bob' does not have",
            at(tmp_path, 8, 26),
            "add tenant to principals.bob in etl-project.yaml, or exempt it (exempt: {principals: [bob]})",
        )
    ]


def test_a_principal_written_without_attributes_is_declared_bare_at_its_name_and_the_next_ones_are_still_read(
    tmp_path: Path,
) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        principals:
          root:
          guest: ~
          alice: {tenant: 7}
        """,
    )
    assert problems == []
    assert dict(spec.principals) == {
        "root": PrincipalEntry("root"),
        "guest": PrincipalEntry("guest"),
        "alice": PrincipalEntry("alice", {"tenant": 7}),
    }
    assert [entry.location for entry in spec.principals.values()] == [
        at(tmp_path, 3, 3),
        at(tmp_path, 4, 3),
        at(tmp_path, 5, 3),
    ]


def test_a_principal_that_is_not_a_mapping_is_reported_at_its_value_with_an_example_and_the_next_ones_still_read(
    tmp_path: Path,
) -> None:
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        principals:
          alice: 5
          team: [a, b]
          bob: {tenant: 1}
        """,
    )
    assert problems == [
        error("wrong-type", "principals.alice must map attribute names to values", at(tmp_path, 3, 10), PRINCIPAL_HINT),
        error("wrong-type", "principals.team must map attribute names to values", at(tmp_path, 4, 9), PRINCIPAL_HINT),
    ]
    assert dict(spec.principals) == {"bob": PrincipalEntry("bob", {"tenant": 1})}


def test_each_rule_is_read_in_turn_one_not_a_mapping_or_without_a_filter_reported_and_left_out(
    tmp_path: Path,
) -> None:
    # a rule that is read is then checked against the declared principals: bob has no tenant
    spec, problems = read(
        tmp_path,
        """\
        name: rls
        principals:
          bob: {region: eu}
        access:
          scalar: 5
          listed: [a]
          broken: {sources: orders}
          plain: {filter: "x = 1"}
          tenant_rows: {filter: "tenant_id = ${principal:tenant}"}
        """,
    )
    assert problems == [
        error("wrong-type", "access.scalar must be a mapping (filter:, sources:, exempt:...)", at(tmp_path, 5, 11),
              ACCESS_HINT),
        error("wrong-type", "access.listed must be a mapping (filter:, sources:, exempt:...)", at(tmp_path, 6, 11),
              ACCESS_HINT),
        error("missing-filter", "access.broken needs a filter: a SQL condition on the source's columns",
              at(tmp_path, 7, 3), RULE_HINT),
        error("missing-attribute",
              "access.tenant_rows.filter reads ${principal:tenant}, which principal 'bob' does not have",
              at(tmp_path, 9, 38),
              "add tenant to principals.bob in etl-project.yaml, or exempt it (exempt: {principals: [bob]})"),
    ]  # fmt: skip
    assert spec.rules == (
        AccessRule("plain", "x = 1", parse_filter("x = 1")),
        AccessRule("tenant_rows", "tenant_id = ${principal:tenant}", parse_filter("tenant_id = ${principal:tenant}")),
    )
    assert [r.location for r in spec.rules] == [at(tmp_path, 8, 3), at(tmp_path, 9, 3)]
