"""Offline rules for checks, contracts, the dead-letter queue and retries (what JSON Schema cannot say)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, did_you_mean, error, warning
from etl_cli.model.validation import describe_path
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_types import type_problem

_DLQ_HINT = "add a dead_letter: section, e.g. dead_letter: {type: parquet, path: dead_letters}"


def check_quality(document: dict[str, Any], provenance: Provenance, registry: Registry) -> list[Diagnostic]:
    """Every problem of ``checks``, ``contract``, ``dead_letter`` and ``retry``, each at its place."""
    stages = _stage_kinds(document)
    found: list[Diagnostic] = []
    for index, item in _dicts(document.get("checks")):
        found += _check_item(document, provenance, registry, stages, index, item)
    found += _unique_check_names(document, provenance)
    found += _contracts(document, provenance)
    found += _malformed_to_dead_letter(document, provenance)
    found += _retries(document, provenance)
    found += _dead_letter_target(document, provenance)
    return found


def _dicts(section: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(section, list):
        for index, item in enumerate(section):
            if isinstance(item, dict):
                yield index, item


def _stage_kinds(document: dict[str, Any]) -> dict[str, str]:
    return {
        item["name"]: kind
        for kind in KINDS
        for _, item in _dicts(document.get(SECTION_OF_KIND[kind]))
        if isinstance(item.get("name"), str)
    }


def _stage_reference(stages: dict[str, str], name: Any, what: str, at: Any, provenance: Provenance) -> list[Diagnostic]:
    if not isinstance(name, str):
        return []
    loc = provenance.value_location(at)
    readable = [n for n, kind in stages.items() if kind != "sink"]
    if stages.get(name) == "sink":
        return [error("check-on-sink", f"{what} '{name}' is a sink", loc, "check the stage the sink writes instead")]
    if name not in stages:
        hint = did_you_mean(name, readable) or f"sources and transforms: {', '.join(readable)}"
        return [error("unknown-stage", f"{what} '{name}' is not a source or transform", loc, hint)]
    return []


def _check_item(
    document: dict[str, Any],
    provenance: Provenance,
    registry: Registry,
    stages: dict[str, str],
    index: int,
    item: dict[str, Any],
) -> list[Diagnostic]:
    path = ("checks", index)
    where = describe_path(document, path)
    found = _stage_reference(stages, item.get("stage"), f"{where}: stage", (*path, "stage"), provenance)
    if item.get("type") == "relationships":
        found += _stage_reference(stages, item.get("to"), f"{where}: to", (*path, "to"), provenance)
    if item.get("action") == "fail" and item.get("severity") == "warning":
        found.append(
            error(
                "contradictory-severity",
                f"{where}: action fail with severity warning cannot both hold",
                provenance.value_location((*path, "severity")),
                "use action warn to only report, or drop the severity",
            )
        )
    threshold = item.get("threshold")
    if isinstance(threshold, dict) and {"max_ratio", "max_count"} <= threshold.keys():
        found.append(
            error(
                "threshold",
                f"{where}: set max_ratio or max_count, not both",
                provenance.value_location((*path, "threshold")),
            )
        )
    if item.get("action") == "quarantine" and not document.get("dead_letter"):
        found.append(
            error(
                "no-dead-letter",
                f"{where}: action quarantine needs a dead-letter queue",
                provenance.value_location((*path, "action")),
                _DLQ_HINT,
            )
        )
    if item.get("type") in registry.types("check"):
        for problem in registry.get("check", item["type"]).check_options(item):
            found.append(
                error(
                    "invalid-option",
                    f"{describe_path(document, (*path, *problem.key_path))}: {problem.message}",
                    provenance.value_location((*path, *problem.key_path)),
                    problem.hint,
                )
            )
    found += _columns_outside_contract(document, provenance, index, item)
    return found


def _unique_check_names(document: dict[str, Any], provenance: Provenance) -> list[Diagnostic]:
    seen: dict[str, int] = {}
    found = []
    for index, item in _dicts(document.get("checks")):
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            first = provenance.value_location(("checks", seen[name], "name"))
            found.append(
                error(
                    "duplicate-name",
                    f"check name '{name}' is already used",
                    provenance.value_location(("checks", index, "name")),
                    f"the first is at {first}",
                )
            )
        else:
            seen[name] = index
    return found


def _stage_items(document: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    for kind in KINDS:
        for index, item in _dicts(document.get(SECTION_OF_KIND[kind])):
            yield SECTION_OF_KIND[kind], index, item


def _contracts(document: dict[str, Any], provenance: Provenance) -> list[Diagnostic]:
    found = []
    for section, index, item in _stage_items(document):
        contract = item.get("contract")
        columns = contract.get("columns") if isinstance(contract, dict) else None
        if not isinstance(columns, dict):
            continue
        for column, declared in columns.items():
            type_text = declared.get("type") if isinstance(declared, dict) else declared
            if isinstance(type_text, str) and (problem := type_problem(type_text)):
                path = (section, index, "contract", "columns", column)
                found.append(
                    error(
                        "invalid-type",
                        f"{describe_path(document, path)}: {problem}",
                        provenance.value_location(path),
                        "use a Spark SQL type: INT, BIGINT, DOUBLE, DECIMAL(10,2), STRING, DATE, TIMESTAMP...",
                    )
                )
    return found


def _checked_columns(item: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(item.get("column"), str):
        found.append((("column",), item["column"]))
    if isinstance(item.get("columns"), list):
        found += [(("columns", i), c) for i, c in enumerate(item["columns"]) if isinstance(c, str)]
    return found


def _columns_outside_contract(
    document: dict[str, Any], provenance: Provenance, index: int, item: dict[str, Any]
) -> list[Diagnostic]:
    """A check on a column its stage's contract does not have will fail at run time: say so now."""
    target = next((s for _, _, s in _stage_items(document) if s.get("name") == item.get("stage")), None)
    contract = target.get("contract") if target else None
    if not isinstance(contract, dict) or contract.get("policy", "strict") == "evolve":
        return []
    columns = contract.get("columns")
    if not isinstance(columns, dict):  # the schema reports the contract's missing or malformed columns
        return []
    declared: list[str] = list(columns)
    return [
        warning(
            "column-not-in-contract",
            f"check '{item.get('name')}' reads column '{column}', which the contract of '{item['stage']}' lacks",
            provenance.value_location(("checks", index, *key_path)),
            did_you_mean(column, declared) or f"contract columns: {', '.join(declared)}",
        )
        for key_path, column in _checked_columns(item)
        if column not in declared
    ]


def _malformed_to_dead_letter(document: dict[str, Any], provenance: Provenance) -> list[Diagnostic]:
    """``on_malformed: dead_letter`` (sources) and ``on_reject: dead_letter`` (sinks) need a queue."""
    if document.get("dead_letter"):
        return []
    return [
        error(
            "no-dead-letter",
            f"{describe_path(document, (section, index))}: {key} dead_letter needs a dead-letter queue",
            provenance.value_location((section, index, key)),
            _DLQ_HINT,
        )
        for section, index, item in _stage_items(document)
        for key in ("on_malformed", "on_reject")
        if item.get(key) == "dead_letter"
    ]


def _retries(document: dict[str, Any], provenance: Provenance) -> list[Diagnostic]:
    places: list[tuple[tuple[str | int, ...], Any]] = [(("retry",), document.get("retry"))]
    places += [((section, index, "retry"), item.get("retry")) for section, index, item in _stage_items(document)]
    if isinstance(document.get("dead_letter"), dict):
        places.append((("dead_letter", "retry"), document["dead_letter"].get("retry")))
    found = []
    for path, retry in places:
        if not isinstance(retry, dict):
            continue
        low, high = retry.get("initial_delay"), retry.get("max_delay")
        if isinstance(low, (int, float)) and isinstance(high, (int, float)) and high < low:
            found.append(
                error(
                    "retry-delays",
                    f"{describe_path(document, path)}: max_delay {high} is shorter than initial_delay {low}",
                    provenance.value_location((*path, "max_delay")),
                )
            )
    return found


def _dead_letter_target(document: dict[str, Any], provenance: Provenance) -> list[Diagnostic]:
    dead_letter = document.get("dead_letter")
    path = dead_letter.get("path") if isinstance(dead_letter, dict) else None
    if not isinstance(path, str):
        return []
    return [
        error(
            "duplicate-target",
            f"the dead-letter queue and sink '{item.get('name')}' both write {path}",
            provenance.value_location(("dead_letter", "path")),
            "give the dead-letter queue its own folder",
        )
        for section, _, item in _stage_items(document)
        if section == "sinks" and item.get("path") == path
    ]
