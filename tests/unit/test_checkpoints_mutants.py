"""Which stages keep their output between runs (etl_cli/model/checkpoints.py ``is_checkpointed``), found untested by
mutation testing (mutmut).

Pins that a source or transform with ``checkpoint: true`` keeps it, one without (or with ``false``) does not, and a
sink never does, even one whose plug-in has an option called ``checkpoint`` set to true; and the pipeline's
``checkpoints:`` retention as read (``CheckpointSettings.from_document``): both settings kept, their defaults (three
runs, no age limit) when the block or a key is missing.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from etl_cli.model.checkpoints import CheckpointSettings, is_checkpointed
from etl_cli.plugins.api import Kind, StageSpec


@pytest.mark.parametrize(
    ("kind", "options", "kept"),
    [
        ("source", {"checkpoint": True}, True),
        ("transform", {"checkpoint": True}, True),
        ("transform", {"checkpoint": False}, False),
        ("transform", {}, False),
        ("sink", {"checkpoint": True}, False),
    ],
    ids=["source", "transform", "transform-false", "transform-unset", "sink"],
)
def test_only_a_source_or_transform_with_checkpoint_true_keeps_its_output(
    kind: Kind, options: dict[str, Any], kept: bool
) -> None:
    assert is_checkpointed(StageSpec("s", kind, "sql", (), MappingProxyType(options))) is kept


@pytest.mark.parametrize(
    ("document", "settings"),
    [
        ({"checkpoints": {"retention_runs": 5, "retention_days": 2}}, CheckpointSettings(5, 2)),
        ({"checkpoints": {"retention_days": 2}}, CheckpointSettings(3, 2)),
        ({"checkpoints": {"retention_runs": 1}}, CheckpointSettings(1, None)),
        ({}, CheckpointSettings(3, None)),
    ],
    ids=["both", "days-only", "runs-only", "no-block"],
)
def test_the_retention_settings_are_read_with_their_defaults(
    document: dict[str, Any], settings: CheckpointSettings
) -> None:
    assert CheckpointSettings.from_document(document) == settings
