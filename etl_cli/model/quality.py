"""The quality parts of a pipeline, read from the validated document: checks, schema contracts, the dead-letter queue.

:mod:`etl_cli.model.check` calls these once, when it builds the :class:`~etl_cli.model.pipeline.PipelineSpec`
(``checks:``, a stage's ``contract:``, ``dead_letter:``); the models themselves belong to the plug-in API
(:mod:`etl_cli.plugins.checks`). Nothing here imports pyspark.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.errors import Location
from etl_cli.plugins.api import SECTION_OF_KIND, StageSpec
from etl_cli.plugins.checks import (
    DEFAULT_SAMPLES,
    CheckSpec,
    ContractColumn,
    ContractSpec,
    DeadLetterSpec,
    Severity,
    Threshold,
)

_CHECK_KEYS = {"name", "type", "stage", "action", "severity", "threshold", "samples", "description"}


def default_severity(action: str) -> Severity:
    """``fail`` stops the run, so its breaches are errors; the other actions only report."""
    return "error" if action == "fail" else "warning"


def check_from_item(item: Mapping[str, Any], location: Location | None = None) -> CheckSpec:
    """A CheckSpec from a validated ``checks:`` item."""
    action = item.get("action", "warn")
    threshold = item.get("threshold") or {}
    return CheckSpec(
        name=item["name"],
        type=item["type"],
        stage=item["stage"],
        action=action,
        severity=item.get("severity") or default_severity(action),
        threshold=Threshold(threshold.get("max_ratio"), threshold.get("max_count")),
        samples=int(item.get("samples", DEFAULT_SAMPLES)),
        options={k: v for k, v in item.items() if k not in _CHECK_KEYS},
        location=location,
        description=item.get("description"),
    )


def checks_of(document: Mapping[str, Any], provenance: Provenance) -> tuple[CheckSpec, ...]:
    """Every check of a validated pipeline document, in the order written."""
    return tuple(
        check_from_item(item, provenance.value_location(("checks", index)))
        for index, item in enumerate(document.get("checks") or ())
    )


def contract_of(stage: StageSpec, location: Location | None = None) -> ContractSpec | None:
    """The ``contract:`` of a source or transform, or None."""
    raw = stage.option("contract")
    if not raw:
        return None
    columns = []
    for name, declared in (raw.get("columns") or {}).items():
        if isinstance(declared, str):
            columns.append(ContractColumn(name, declared))
        else:
            declared = declared or {}
            nullable, pii, tags = declared.get("nullable", True), declared.get("pii", False), declared.get("tags")
            kind = pii if isinstance(pii, str) else None  # ``pii: email``: personal data of that kind
            columns.append(
                ContractColumn(name, declared.get("type"), bool(nullable), bool(pii), tuple(tags or ()), kind)
            )
    return ContractSpec(stage.name, tuple(columns), raw.get("policy", "strict"), location or stage.location)


def contracts_of(stages: tuple[StageSpec, ...], provenance: Provenance) -> Mapping[str, ContractSpec]:
    """The contract of each source and transform that declares one, by stage name, located at its ``contract:`` key."""
    found: dict[str, ContractSpec] = {}
    for kind in ("source", "transform"):
        for index, stage in enumerate(s for s in stages if s.kind == kind):
            where = provenance.key_location((SECTION_OF_KIND[kind], index, "contract"))
            if (contract := contract_of(stage, where)) is not None:
                found[stage.name] = contract
    return MappingProxyType(found)


def dead_letter_of(document: Mapping[str, Any], provenance: Provenance) -> DeadLetterSpec | None:
    """The ``dead_letter:`` queue, or None when the pipeline keeps no dead letters."""
    raw = document.get("dead_letter")
    if not raw:
        return None
    options = {k: v for k, v in raw.items() if k not in ("type", "description")}
    return DeadLetterSpec(raw["type"], options, provenance.key_location(("dead_letter",)))
