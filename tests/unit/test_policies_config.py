"""``policies:`` of the project file read in-process (etl_cli/config/policies.py): every problem's code, message,
hint and place, and what a valid policy becomes.

tests/unit/test_pii_tags_policies.py checks the same problems as ``etl-cli validate`` prints them; mutation
testing (docs/testing.md) sees only tests that call the module in the test's own process.
"""

from __future__ import annotations

import pytest

from etl_cli.config.policies import PolicySpec, read_policies
from etl_cli.diagnostics import Diagnostic

from .helpers import column, project_block, said

EXAMPLE = (
    "for example: policies: [{name: pii-only-masked, tags: [pii], sinks: {types: [jdbc, kafka]}, require: masked}]"
)
SINKS_HINT = "for example: sinks: {types: [jdbc, kafka]} or sinks: {names: [customers_out]}"
NAME_HINT = "letters, digits, _ . - (e.g. pii-only-masked)"


def read(text: str) -> tuple[tuple[PolicySpec, ...], list[Diagnostic]]:
    """The policies of a project file whose text is ``text``, and the problems found."""
    found, problems = project_block(read_policies, "policies", text)
    return found, problems


def test_a_full_policy_becomes_its_spec_at_its_item() -> None:
    policies, problems = read(
        "policies:\n"
        "  - name: pii-only-masked\n"
        "    description: no raw PII in the warehouse\n"
        "    tags: [pii, 'pii:email']\n"
        "    sinks: {types: [jdbc, kafka], names: [customers_out]}\n"
        "    require: encrypted\n"
    )
    assert problems == []
    (policy,) = policies
    assert policy == PolicySpec(
        name="pii-only-masked",
        tags=("pii", "pii:email"),
        sink_types=("jdbc", "kafka"),
        sink_names=("customers_out",),
        require="encrypted",
        description="no raw PII in the warehouse",
        location=policy.location,
    )
    assert policy.location is not None and (policy.location.line, policy.location.column) == (2, 5)


def test_defaults_require_masked_or_encrypted_and_no_description() -> None:
    (policy,), problems = read("policies:\n  - {name: p, tags: [pii], sinks: {names: [out]}}\n")
    assert problems == []
    assert (policy.require, policy.description, policy.sink_types, policy.sink_names) == (
        "masked_or_encrypted",
        None,
        (),
        ("out",),
    )
    (policy,), _ = read("policies:\n  - {name: p, tags: [pii], sinks: {types: [csv]}, description: null}\n")
    assert (policy.description, policy.sink_types, policy.sink_names) == (None, ("csv",), ())


def test_no_policies_and_null_policies_are_none() -> None:
    assert read("name: x\n") == ((), [])
    assert read("policies:\n") == ((), [])


def test_policies_that_are_not_a_list_are_one_problem_with_an_example() -> None:
    policies, (problem,) = read("policies: {name: p}\n")
    assert policies == ()
    assert said(problem) == ("wrong-type", "policies must be a list of policies", EXAMPLE, 1, 11)


def test_an_item_that_is_not_a_mapping_is_left_out_and_the_next_still_read() -> None:
    policies, (problem,) = read("policies:\n  - just-a-name\n  - {name: q, tags: [pii], sinks: {types: [csv]}}\n")
    assert [p.name for p in policies] == ["q"]
    assert said(problem) == ("wrong-type", "policies[0] must be a mapping", EXAMPLE, 2, 5)


def test_a_second_policy_of_a_name_is_refused_at_its_item_and_the_next_still_read() -> None:
    first, second = "{name: p, tags: [pii], sinks: {types: [csv]}}", "{name: p, tags: [x], sinks: {types: [jdbc]}}"
    third = "{name: q, tags: [y], sinks: {types: [csv]}}"
    policies, (problem,) = read(f"policies:\n  - {first}\n  - {second}\n  - {third}\n")
    assert [(p.name, p.tags) for p in policies] == [("p", ("pii",)), ("q", ("y",))]
    assert said(problem) == ("duplicate-name", "two policies are named 'p'", None, 3, 5)


def test_an_unknown_key_is_named_with_a_close_key_or_the_known_ones() -> None:
    line = "  - {name: p, tags: [pii], sinks: {types: [csv]}, requires: masked, when: x}"
    policies, problems = read(f"policies:\n{line}\n")
    assert policies == ()
    known = "known keys: name, description, tags, sinks, require"
    assert [said(p) for p in problems] == [
        (
            "unknown-key",
            "unknown key 'requires' in policies[0]",
            "did you mean 'require'?",
            2,
            column(line, "requires"),
        ),
        ("unknown-key", "unknown key 'when' in policies[0]", known, 2, column(line, "when")),
    ]


@pytest.mark.parametrize("name", ["'has space'", "[p]", "-dash-first"])
def test_a_name_must_be_a_name(name: str) -> None:
    line = f"  - {{name: {name}, tags: [pii], sinks: {{types: [csv]}}}}"
    policies, (problem,) = read(f"policies:\n{line}\n")
    assert policies == ()
    assert said(problem) == ("wrong-type", "policies[0].name must be a name", NAME_HINT, 2, column(line, name))


def test_a_missing_name_is_reported_at_the_item() -> None:
    policies, (problem,) = read("policies:\n  - {tags: [pii], sinks: {types: [csv]}}\n")
    assert policies == ()
    assert said(problem) == ("wrong-type", "policies[0].name must be a name", NAME_HINT, 2, 5)


def test_names_with_dots_dashes_and_digits_are_names() -> None:
    (policy,), problems = read(
        "policies:\n  - {name: 0pii.only-masked_2, tags: ['pii:e-mail.x'], sinks: {types: [csv]}}\n"
    )
    assert problems == []
    assert (policy.name, policy.tags) == ("0pii.only-masked_2", ("pii:e-mail.x",))


@pytest.mark.parametrize("tags", ["[]", "pii", "[pii, 3]", "['bad tag']", "[':x']"])
def test_tags_must_be_a_non_empty_list_of_tag_names(tags: str) -> None:
    line = f"  - {{name: p, tags: {tags}, sinks: {{types: [csv]}}}}"
    policies, (problem,) = read(f"policies:\n{line}\n")
    assert policies == ()
    message = "policies[0].tags must be a non-empty list of names"
    assert said(problem) == ("wrong-type", message, None, 2, column(line, f"tags: {tags}") + len("tags: "))


def test_missing_tags_are_reported_at_the_item() -> None:
    policies, (problem,) = read("policies:\n  - {name: p, sinks: {types: [csv]}}\n")
    assert policies == ()
    assert said(problem) == ("wrong-type", "policies[0].tags must be a non-empty list of names", None, 2, 5)


@pytest.mark.parametrize("sinks", ["", ", sinks: [csv]", ", sinks: {}", ", sinks: {kinds: [csv]}"])
def test_sinks_must_name_types_or_names(sinks: str) -> None:
    line = f"  - {{name: p, tags: [pii]{sinks}}}"
    policies, problems = read(f"policies:\n{line}\n")
    assert policies == ()
    # at the sinks' value, or at the item when there is none
    at = column(line, sinks) + len(", sinks: ") if sinks else column(line, "{")
    message = "policies[0].sinks must name sink types and/or sink names"
    assert said(problems[0]) == ("wrong-type", message, SINKS_HINT, 2, at)


def test_an_unknown_key_beside_types_is_named_with_the_known_ones() -> None:
    line = "  - {name: p, tags: [pii], sinks: {types: [csv], kinds: [x]}}"
    policies, (problem,) = read(f"policies:\n{line}\n")
    assert policies == ()
    message, hint = "unknown key 'kinds' in policies[0].sinks", "known keys: types, names"
    assert said(problem) == ("unknown-key", message, hint, 2, column(line, "kinds"))


@pytest.mark.parametrize("key", ["types", "names"])
def test_sink_types_and_names_must_be_non_empty_lists_of_text(key: str) -> None:
    for value in ("[]", "[1]", "csv"):
        line = f"  - {{name: p, tags: [pii], sinks: {{{key}: {value}}}}}"
        policies, (problem,) = read(f"policies:\n{line}\n")
        assert policies == ()
        message = f"policies[0].sinks.{key} must be a non-empty list of names"
        assert said(problem) == ("wrong-type", message, None, 2, column(line, f"{key}: {value}") + len(f"{key}: "))


def test_sink_names_are_not_held_to_the_name_pattern() -> None:
    (policy,), problems = read("policies:\n  - {name: p, tags: [pii], sinks: {names: ['any sink'], types: ['x y']}}\n")
    assert problems == []
    assert (policy.sink_names, policy.sink_types) == (("any sink",), ("x y",))


def test_an_unknown_requirement_is_refused_with_the_closest_or_every_one() -> None:
    line = "  - {name: p, tags: [pii], sinks: {types: [csv]}, require: maskd}"
    policies, (problem,) = read(f"policies:\n{line}\n")
    assert policies == ()
    message = "policies[0].require must be one of masked, encrypted, masked_or_encrypted"
    assert said(problem) == ("wrong-value", message, "did you mean 'masked'?", 2, column(line, "maskd"))
    _, (problem,) = read(f"policies:\n{line.replace('maskd', 'hidden')}\n")
    assert problem.hint == "one of: masked, encrypted, masked_or_encrypted"


@pytest.mark.parametrize("requirement", ["masked", "encrypted", "masked_or_encrypted"])
def test_every_requirement_is_read(requirement: str) -> None:
    (policy,), problems = read(
        f"policies:\n  - {{name: p, tags: [pii], sinks: {{types: [csv]}}, require: {requirement}}}\n"
    )
    assert problems == []
    assert policy.require == requirement


def test_every_problem_of_an_item_is_reported_and_the_item_left_out() -> None:
    policies, problems = read("policies:\n  - {name: 'a b', tags: [], sinks: {}, require: no, extra: 1}\n")
    assert policies == ()
    assert [p.message for p in problems] == [
        "unknown key 'extra' in policies[0]",
        "policies[0].name must be a name",
        "policies[0].tags must be a non-empty list of names",
        "policies[0].sinks must name sink types and/or sink names",
        "policies[0].require must be one of masked, encrypted, masked_or_encrypted",
    ]


@pytest.mark.parametrize(
    ("require", "states", "allowed"),
    [
        ("masked_or_encrypted", {"masked"}, True),
        ("masked_or_encrypted", {"encrypted"}, True),
        ("masked_or_encrypted", set(), False),
        ("masked", {"masked"}, True),
        ("masked", {"encrypted"}, False),
        ("encrypted", {"encrypted", "masked"}, True),
        ("encrypted", {"masked"}, False),
    ],
)
def test_a_policy_allows_the_states_its_requirement_names(require: str, states: set[str], allowed: bool) -> None:
    assert PolicySpec("p", ("pii",), require=require).allows(frozenset(states)) is allowed


def test_a_policy_applies_to_a_sink_by_name_or_by_type() -> None:
    policy = PolicySpec("p", ("pii",), sink_types=("jdbc",), sink_names=("archive",))
    assert policy.applies_to("archive", "csv")
    assert policy.applies_to("warehouse", "jdbc")
    assert not policy.applies_to("warehouse", "csv")
