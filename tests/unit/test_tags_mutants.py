"""Column tags as they travel from stage to stage (etl_cli/model/tags.py), found untested by mutation testing (mutmut).

Pins how ``validate``, ``dry-run`` and ``debug`` show a column's tags (``ColumnTags.describe``), which tags a policy's
``tags:`` match (``ColumnTags.matches``: ``pii`` also matches ``pii:<kind>``, the kind being everything after the
first colon), the look-up of a stage's tagged columns (``PipelineTags.of`` and ``column``, names compared without
regard to case), which stages change a column's state (``state_change``: the ``mask``, ``encrypt`` and ``decrypt``
transforms, their ``columns`` a mapping or a list), and :func:`propagate`: a listed column masked, encrypted and
decrypted in place (the input column's spelling replacing the lineage's), a contract's tags added to those a column
carries (keeping its states), and a stage of unknown columns passing a tagged input column on by name unless the
lineage made a column of that name. Expected tags are written by hand; no JVM, no lineage engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest

from etl_cli.model.tags import ColumnTags, PipelineTags, StageFlow, propagate, state_change
from etl_cli.plugins.api import Kind, StageSpec
from etl_cli.plugins.checks import ContractColumn, ContractSpec

PII_EMAIL = frozenset({"pii", "pii:email"})


def stage(
    name: str, kind: Kind = "transform", type_: str = "sql", inputs: tuple[str, ...] = (), **options: Any
) -> StageSpec:
    return StageSpec(name, kind, type_, inputs, MappingProxyType(options))


def contract(name: str, *columns: ContractColumn) -> ContractSpec:
    return ContractSpec(name, columns)


def tagged(flows: list[StageFlow], contracts: Mapping[str, ContractSpec]) -> dict[str, dict[str, ColumnTags]]:
    """What :func:`propagate` finds, as plain dictionaries: stage → column → tags."""
    return {name: dict(columns) for name, columns in propagate(flows, contracts).stages.items()}


@pytest.mark.parametrize(
    ("tags", "shown"),
    [
        (ColumnTags(frozenset({"pii:email", "pii"})), "pii, pii:email"),
        (
            ColumnTags(frozenset({"pii", "free_text"}), frozenset({"masked", "encrypted"})),
            "free_text, pii (encrypted, masked)",
        ),
        (ColumnTags(), ""),
    ],
    ids=["tags", "tags-and-states", "nothing"],
)
def test_a_column_is_described_by_its_sorted_tags_then_its_sorted_states_in_brackets(
    tags: ColumnTags, shown: str
) -> None:
    assert tags.describe() == shown


@pytest.mark.parametrize(
    ("wanted", "matched"),
    [
        (["pii"], ["pii:email", "pii:free:text"]),
        (["contact"], ["contact"]),
        (["pii:email"], ["pii:email"]),
        (["free"], []),
    ],
    ids=["pii-matches-every-kind", "free-tag", "one-kind", "nothing"],
)
def test_a_wanted_tag_matches_itself_and_pii_matches_each_kind_of_pii(wanted: list[str], matched: list[str]) -> None:
    tags = ColumnTags(frozenset({"pii:email", "pii:free:text", "contact"}))
    assert tags.matches(wanted) == matched


def test_a_stages_tagged_columns_are_looked_up_without_regard_to_case() -> None:
    email, phone = ColumnTags(PII_EMAIL), ColumnTags(frozenset({"pii"}), frozenset({"masked"}))
    tags = PipelineTags({"clean": {"Email": email, "phone": phone}})
    assert (tags.of("clean"), tags.of("elsewhere")) == ({"Email": email, "phone": phone}, {})
    assert [tags.column("clean", name) for name in ("EMAIL", "Email", "phone", "address")] == [
        email,
        email,
        phone,
        None,
    ]
    assert tags.column("elsewhere", "email") is None


@pytest.mark.parametrize(
    ("spec", "change"),
    [
        (
            stage("m", type_="mask", columns={"Email": {"method": "hash"}, "phone": "hash"}),
            ({"email", "phone"}, "masked", None),
        ),
        (stage("e", type_="encrypt", columns=["Card"], key="k"), ({"card"}, "encrypted", None)),
        (stage("d", type_="decrypt", columns=["card"], key="k"), ({"card"}, None, "encrypted")),
        (stage("f", type_="filter", condition="id > 0"), (set(), None, None)),
        (stage("out", kind="sink", type_="mask", columns=["email"]), (set(), None, None)),
    ],
    ids=["mask-mapping", "encrypt-list", "decrypt", "other-transform", "a-sink-named-like-one"],
)
def test_only_the_mask_encrypt_and_decrypt_transforms_change_the_state_of_the_columns_they_list(
    spec: StageSpec, change: tuple[set[str], str | None, str | None]
) -> None:
    assert state_change(spec) == (frozenset(change[0]), change[1], change[2])


RAW = stage("raw", kind="source", type_="csv")
RAW_CONTRACT = contract(
    "raw",
    ContractColumn("Email", pii=True, pii_kind="email"),
    ContractColumn("card", pii=True),
    ContractColumn("phone", pii=True, tags=("contact",)),
)


def identity(source: str, *columns: str) -> dict[str, list[tuple[str, str]]]:
    return {column: [(source, column)] for column in columns}


def test_a_column_keeps_its_tags_masked_encrypted_and_decrypted_in_place_under_its_input_spelling() -> None:
    flows = [
        StageFlow(RAW, ["Email", "card"], {}),
        # the lineage spells the masked column EMAIL: the mask's column is still the input's Email
        StageFlow(
            stage("hidden", type_="mask", inputs=("raw",), columns={"email": "hash"}),
            ["EMAIL", "card"],
            {"EMAIL": [("raw", "Email")], **identity("raw", "card")},
        ),
        StageFlow(
            stage("locked", type_="encrypt", inputs=("hidden",), columns=["card"]),
            ["Email", "card"],
            identity("hidden", "Email", "card"),
        ),
        StageFlow(
            stage("opened", type_="decrypt", inputs=("locked",), columns=["card"]),
            ["Email", "card"],
            identity("locked", "Email", "card"),
        ),
    ]
    pii, masked = frozenset({"pii"}), frozenset({"masked"})
    assert tagged(flows, {"raw": RAW_CONTRACT}) == {
        "raw": {"Email": ColumnTags(PII_EMAIL), "card": ColumnTags(pii), "phone": ColumnTags(pii | {"contact"})},
        "hidden": {"Email": ColumnTags(PII_EMAIL, masked), "card": ColumnTags(pii)},
        "locked": {"Email": ColumnTags(PII_EMAIL, masked), "card": ColumnTags(pii, frozenset({"encrypted"}))},
        "opened": {"Email": ColumnTags(PII_EMAIL, masked), "card": ColumnTags(pii)},
    }


def test_a_contract_adds_its_tags_to_those_a_column_carries_keeping_its_state() -> None:
    flows = [
        StageFlow(RAW, ["Email"], {}),
        StageFlow(
            stage("hidden", type_="mask", inputs=("raw",), columns=["Email"]), ["Email"], identity("raw", "Email")
        ),
    ]
    declared = contract("hidden", ContractColumn("email", tags=("gdpr",)), ContractColumn("notes", tags=("free",)))
    found = tagged(flows, {"raw": contract("raw", RAW_CONTRACT.columns[0]), "hidden": declared})
    assert found["hidden"] == {
        "Email": ColumnTags(PII_EMAIL | {"gdpr"}, frozenset({"masked"})),
        "notes": ColumnTags(frozenset({"free"})),
    }


def test_a_stage_of_unknown_columns_passes_tagged_inputs_on_by_name_unless_the_lineage_made_that_column() -> None:
    flows = [
        StageFlow(RAW, ["email", "phone"], {}),
        # columns unknown offline; the lineage still says email is made of raw's email and phone
        StageFlow(stage("mixed", inputs=("raw",)), None, {"email": [("raw", "email"), ("raw", "phone")]}),
    ]
    raw = contract("raw", ContractColumn("email", pii_kind="email"), RAW_CONTRACT.columns[2])
    assert tagged(flows, {"raw": raw})["mixed"] == {
        "email": ColumnTags(PII_EMAIL | {"contact"}),
        "phone": ColumnTags(frozenset({"pii", "contact"})),
    }
