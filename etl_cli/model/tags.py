"""Column tags (``pii`` and free tags) as plain data, and how they travel from stage to stage.

A contract column declares tags (docs/data-security.md):

```yaml
contract:
  columns:
    email: {type: STRING, pii: email}        # tags: pii, pii:email
    notes: {pii: true, tags: [free_text]}    # tags: pii, free_text
```

A tagged column keeps its tags through every transform that makes an output column from
it: :func:`propagate` follows the column lineage (:mod:`etl_cli.lineage.tags` builds it from
:mod:`etl_cli.lineage.engine`); where a stage's columns are not known offline, a column keeps
its tags under its own name (a name-preserving projection). Tags pass along value relations
only (identity, expression, aggregation, window): a column used to filter, join, group or
order rows tags nothing. A value made from several tagged columns has all their tags.

Besides its tags a column has states: ``masked`` once it went through a ``mask`` transform,
``encrypted`` through ``encrypt`` (removed again by ``decrypt``). A value made from several
tagged columns has a state only when each of them has it (an email hash concatenated with a
clear phone number is not masked). Nothing here imports pyspark or the lineage package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.checks import ContractColumn, ContractSpec

PII = "pii"
#: the kinds of personal data ``pii:`` names (any other text is accepted as a free kind)
PII_KINDS = ("email", "name", "phone", "id", "address", "birthdate", "ip", "card", "free_text")
MASKED = "masked"
ENCRYPTED = "encrypted"
STATES = (MASKED, ENCRYPTED)
#: transforms that change the state of the columns they list in ``columns`` (a mapping or a list of names):
#: state added, state removed
STATE_TRANSFORMS: Mapping[str, tuple[str | None, str | None]] = MappingProxyType(
    {"mask": (MASKED, None), "encrypt": (ENCRYPTED, None), "decrypt": (None, ENCRYPTED)}
)


@dataclass(frozen=True)
class ColumnTags:
    """The tags of one column of one stage, and its states (``masked``, ``encrypted``)."""

    tags: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()

    @property
    def protected(self) -> bool:
        """Whether the values are not readable as they are: masked or encrypted."""
        return bool(self.states & {MASKED, ENCRYPTED})

    def matches(self, wanted: Iterable[str]) -> list[str]:
        """The column's tags among ``wanted``; ``pii`` is also matched by ``pii:<kind>`` tags (sorted)."""
        return sorted(tag for tag in self.tags if tag in wanted or tag.split(":", 1)[0] in wanted)

    def describe(self) -> str:
        """``pii, pii:email (masked)``: as dry-run, debug and validate show a column's tags."""
        text = ", ".join(sorted(self.tags))
        return f"{text} ({', '.join(sorted(self.states))})" if self.states else text

    def to_dict(self) -> dict[str, list[str]]:
        return {"tags": sorted(self.tags), "states": sorted(self.states)}


@dataclass(frozen=True)
class PipelineTags:
    """The tagged columns of every stage of a pipeline: stage → column → :class:`ColumnTags`.

    Only tagged columns are listed. Column names are compared without regard to case, as Spark does.
    """

    stages: Mapping[str, Mapping[str, ColumnTags]] = field(default_factory=dict)

    def of(self, stage: str) -> Mapping[str, ColumnTags]:
        """The tagged columns of ``stage`` (empty when it has none)."""
        return self.stages.get(stage, MappingProxyType({}))

    def column(self, stage: str, column: str) -> ColumnTags | None:
        found = self.of(stage)
        return next((tags for name, tags in found.items() if name.lower() == column.lower()), None)

    def unprotected(self, stage: str) -> frozenset[str]:
        """Lower-case names of the columns of ``stage`` with tags that are neither masked nor encrypted."""
        return frozenset(name.lower() for name, tags in self.of(stage).items() if tags.tags and not tags.protected)

    def everywhere(self) -> frozenset[str]:
        """Lower-case names of the columns tagged and unprotected in at least one stage (for text with no stage)."""
        return frozenset(name for stage in self.stages for name in self.unprotected(stage))

    def to_dict(self) -> dict[str, dict[str, dict[str, list[str]]]]:
        return {
            stage: {name: tags.to_dict() for name, tags in sorted(columns.items())}
            for stage, columns in self.stages.items()
            if columns
        }


def declared_tags(column: ContractColumn) -> frozenset[str]:
    """The tags a contract column declares: ``pii`` (and ``pii:<kind>``) and its ``tags:``."""
    found = set(column.tags)
    if column.pii:
        found.add(PII)
    if column.pii_kind:
        found |= {PII, f"{PII}:{column.pii_kind}"}
    return frozenset(found)


def contract_tags(contract: ContractSpec | None) -> dict[str, frozenset[str]]:
    """Column → declared tags, for the columns of ``contract`` that declare some."""
    if contract is None:
        return {}
    return {column.name: tags for column in contract.columns if (tags := declared_tags(column))}


def state_change(stage: StageSpec) -> tuple[frozenset[str], str | None, str | None]:
    """The columns whose state ``stage`` changes (lower case), the state it adds and the one it removes."""
    change = STATE_TRANSFORMS.get(stage.type) if stage.kind == "transform" else None
    if change is None:
        return frozenset(), None, None
    listed: Any = stage.option("columns") or ()
    names = listed.keys() if isinstance(listed, Mapping) else listed
    return frozenset(str(name).lower() for name in names), change[0], change[1]


@dataclass(frozen=True)
class StageFlow:
    """What the lineage says of one stage, for :func:`propagate`.

    ``columns``: the stage's output columns (None: not known offline); ``values``: output column →
    the (input stage, input column) pairs its value is made from.
    """

    stage: StageSpec
    columns: Sequence[str] | None
    values: Mapping[str, Sequence[tuple[str, str]]]


def combine(parts: Iterable[ColumnTags]) -> ColumnTags | None:
    """One value made from several tagged columns: every tag, and the states all of them share."""
    found = [part for part in parts if part.tags]
    if not found:
        return None
    tags = frozenset().union(*(part.tags for part in found))
    states = frozenset.intersection(*(part.states for part in found))
    return ColumnTags(tags, states)


def propagate(flows: Sequence[StageFlow], contracts: Mapping[str, ContractSpec]) -> PipelineTags:
    """The tags of every stage's columns; ``flows`` inputs first (module doc)."""
    stages: dict[str, dict[str, ColumnTags]] = {}
    for flow in flows:
        stage = flow.stage
        inputs = {name: stages.get(name, {}) for name in stage.inputs if stage.kind != "source"}
        found = _from_inputs(flow, inputs) if inputs else {}
        found = _changed_states(found, stage, inputs)
        found = _declared(found, contract_tags(contracts.get(stage.name)))
        stages[stage.name] = {name: tags for name, tags in found.items() if tags.tags}
    return PipelineTags(MappingProxyType({name: MappingProxyType(cols) for name, cols in stages.items()}))


def _from_inputs(flow: StageFlow, inputs: Mapping[str, Mapping[str, ColumnTags]]) -> dict[str, ColumnTags]:
    """The output columns' tags from the inputs' columns they are made from; by name where nothing is known."""
    lowered = {stage: {name.lower(): tags for name, tags in columns.items()} for stage, columns in inputs.items()}
    found: dict[str, ColumnTags] = {}
    for output, uses in flow.values.items():
        made = combine(lowered.get(stage, {}).get(column.lower(), ColumnTags()) for stage, column in uses)
        if made is not None:
            found[output] = made
    if flow.columns is None:  # not known offline: a tagged input column reaching the output keeps its name
        for columns in inputs.values():
            for name, tags in columns.items():
                if not any(known.lower() == name.lower() for known in found):
                    found[name] = tags
    return found


def _declared(found: dict[str, ColumnTags], declared: Mapping[str, frozenset[str]]) -> dict[str, ColumnTags]:
    """Tags a stage's contract declares, added to those its columns carry (keeping their states)."""
    result = dict(found)
    for name, tags in declared.items():
        known = next((key for key in result if key.lower() == name.lower()), None)
        if known is None:
            result[name] = ColumnTags(tags)
        else:
            result[known] = ColumnTags(result[known].tags | tags, result[known].states)
    return result


def _changed_states(
    found: dict[str, ColumnTags], stage: StageSpec, inputs: Mapping[str, Mapping[str, ColumnTags]]
) -> dict[str, ColumnTags]:
    """``mask`` and ``encrypt`` add their state to the columns they list, ``decrypt`` removes ``encrypted``.

    Each listed column is its input column of the same name, changed in place: it keeps that column's
    tags whatever the lineage of its new value says (a column masked to null is still the tagged column).
    """
    listed, added, removed = state_change(stage)
    if not listed:
        return found
    result = dict(found)
    for columns in inputs.values():
        for name, tags in columns.items():
            if name.lower() in listed:
                states = (tags.states | {added}) if added else tags.states
                for same in [key for key in result if key.lower() == name.lower()]:
                    del result[same]
                result[name] = ColumnTags(tags.tags, states - {removed} if removed else states)
    return result
