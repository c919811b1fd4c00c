"""``policies:`` in ``etl-project.yaml``: which tagged columns may reach which sinks, and only how.

```yaml
policies:
  - name: pii-only-masked
    tags: [pii]                       # columns carrying any of these tags (pii also matches pii:<kind>)
    sinks: {types: [jdbc, kafka]}     # or {names: [customers_out]}; both: a sink matching either
    require: masked                   # masked | encrypted | masked_or_encrypted
```

Read by hand like the rest of the project file, each problem at its ``file:line:col``. The
check itself needs each stage's tags, so it runs where the pipeline's column lineage is known
(:mod:`etl_cli.lineage.tags`, called by ``validate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from etl_cli.config.nodes import Node, to_plain
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import Location

REQUIREMENTS = ("masked", "encrypted", "masked_or_encrypted")
_KEYS = ("name", "description", "tags", "sinks", "require")
_SINK_KEYS = ("types", "names")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]*$")
_EXAMPLE = "policies: [{name: pii-only-masked, tags: [pii], sinks: {types: [jdbc, kafka]}, require: masked}]"


@dataclass(frozen=True)
class PolicySpec:
    """One policy: columns with any of ``tags`` must reach the sinks it names only as ``require`` says."""

    name: str
    tags: tuple[str, ...]
    sink_types: tuple[str, ...] = ()
    sink_names: tuple[str, ...] = ()
    require: str = "masked_or_encrypted"
    description: str | None = None
    location: Location | None = None

    def applies_to(self, sink_name: str, sink_type: str) -> bool:
        """Whether the policy covers a sink of that name and type."""
        return sink_name in self.sink_names or sink_type in self.sink_types

    def allows(self, states: frozenset[str]) -> bool:
        """Whether a column in these states (``masked``, ``encrypted``) satisfies the policy."""
        if self.require == "masked_or_encrypted":
            return bool(states & {"masked", "encrypted"})
        return self.require in states


def read_policies(node: Node | None, problems: list[Diagnostic]) -> tuple[PolicySpec, ...]:
    """The ``policies:`` list; each problem goes to ``problems`` (the policy is then left out)."""
    if node is None or node.value is None:
        return ()
    if not isinstance(node.value, list):
        hint = f"for example: {_EXAMPLE}"
        problems.append(error("wrong-type", "policies must be a list of policies", node.loc, hint))
        return ()
    found: list[PolicySpec] = []
    names: set[str] = set()
    for index, item in enumerate(node.value):
        policy = _policy(item, index, problems)
        if policy is None:
            continue
        if policy.name in names:
            problems.append(error("duplicate-name", f"two policies are named '{policy.name}'", policy.location))
            continue
        names.add(policy.name)
        found.append(policy)
    return tuple(found)


def _policy(item: Node, index: int, problems: list[Diagnostic]) -> PolicySpec | None:
    where = f"policies[{index}]"
    if not item.is_mapping:
        problems.append(error("wrong-type", f"{where} must be a mapping", item.loc, f"for example: {_EXAMPLE}"))
        return None
    data: dict[str, Node] = dict(item.value)
    before = len(problems)
    for key, value in data.items():
        if key not in _KEYS:
            hint = did_you_mean(key, _KEYS) or f"known keys: {', '.join(_KEYS)}"
            problems.append(error("unknown-key", f"unknown key '{key}' in {where}", value.key_loc, hint))
    name = _text(data, "name", where, item.loc, problems, _NAME)
    tags = _names(data.get("tags"), f"{where}.tags", item.loc, problems, _TAG)
    sinks = data.get("sinks")
    sink_types: tuple[str, ...] = ()
    sink_names: tuple[str, ...] = ()
    if sinks is None or not sinks.is_mapping or not (set(sinks.value) & set(_SINK_KEYS)):
        hint = "for example: sinks: {types: [jdbc, kafka]} or sinks: {names: [customers_out]}"
        at = sinks.loc if sinks is not None else item.loc
        problems.append(error("wrong-type", f"{where}.sinks must name sink types and/or sink names", at, hint))
    else:
        for key, value in sinks.value.items():
            if key not in _SINK_KEYS:
                problems.append(error("unknown-key", f"unknown key '{key}' in {where}.sinks", value.key_loc,
                                      f"known keys: {', '.join(_SINK_KEYS)}"))  # fmt: skip
        sink_types = _names(sinks.value.get("types"), f"{where}.sinks.types", sinks.loc, problems, None, True)
        sink_names = _names(sinks.value.get("names"), f"{where}.sinks.names", sinks.loc, problems, None, True)
    require = data.get("require")
    requirement = "masked_or_encrypted"
    if require is not None:
        if require.value in REQUIREMENTS:
            requirement = str(require.value)
        else:
            hint = did_you_mean(str(require.value), REQUIREMENTS) or f"one of: {', '.join(REQUIREMENTS)}"
            problems.append(error("wrong-value", f"{where}.require must be one of {', '.join(REQUIREMENTS)}",
                                  require.loc, hint))  # fmt: skip
    description = data.get("description")
    if len(problems) > before or name is None:
        return None
    return PolicySpec(
        name=name,
        tags=tags,
        sink_types=sink_types,
        sink_names=sink_names,
        require=requirement,
        description=str(description.value) if description is not None and description.value is not None else None,
        location=item.loc,
    )


def _text(data: dict[str, Node], key: str, where: str, at: Location | None, problems: list[Diagnostic],
          pattern: re.Pattern[str]) -> str | None:  # fmt: skip
    node = data.get(key)
    if node is None or not isinstance(node.value, str) or not pattern.match(node.value):
        hint = "letters, digits, _ . - (e.g. pii-only-masked)"
        problems.append(error("wrong-type", f"{where}.{key} must be a name", node.loc if node else at, hint))
        return None
    return node.value


def _names(node: Node | None, where: str, at: Location | None, problems: list[Diagnostic],
           pattern: re.Pattern[str] | None, optional: bool = False) -> tuple[str, ...]:  # fmt: skip
    """A non-empty list of names (``optional``: the key may be missing)."""
    if node is None and optional:
        return ()
    value = to_plain(node)[0] if node is not None else None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and (pattern is None or pattern.match(v)) for v in value)
    ):
        problems.append(error("wrong-type", f"{where} must be a non-empty list of names", node.loc if node else at))
        return ()
    return tuple(value)
