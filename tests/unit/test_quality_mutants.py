"""How a ``checks:`` item becomes a CheckSpec (model/quality.py ``check_from_item``), pinned where mutation testing
found it loose.

Every key of the item lands in its field (the threshold's ratio and count each in its own, the number of sample
rows, the description); an item that says nothing more is a ``warn`` check with no tolerated failures and the
default number of samples; the keys of its type are its options.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.config.loader import load_pipeline
from etl_cli.errors import Location
from etl_cli.model.quality import check_from_item, checks_of
from etl_cli.plugins.checks import DEFAULT_SAMPLES, CheckSpec, Threshold

from .helpers import make_project

ITEM = {"name": "ids", "type": "not_null", "stage": "orders", "columns": ["order_id"]}


def test_an_item_with_only_its_required_keys_is_a_warning_check_with_the_defaults() -> None:
    assert check_from_item(ITEM) == CheckSpec(
        name="ids",
        type="not_null",
        stage="orders",
        action="warn",
        severity="warning",
        threshold=Threshold(None, None),
        samples=DEFAULT_SAMPLES,
        options={"columns": ["order_id"]},
        location=None,
        description=None,
    )


def test_every_key_of_an_item_lands_in_its_field(tmp_path: Path) -> None:
    text = (
        "sources: [{name: orders, type: csv, path: orders.csv}]\n"
        "sinks: [{name: out, type: parquet, input: orders, path: out}]\n"
        "checks:\n"
        "  - name: ids\n"
        "    type: not_null\n"
        "    stage: orders\n"
        "    columns: [order_id]\n"
        "    action: drop\n"
        "    threshold: {max_ratio: 0.25}\n"
        "    samples: 7\n"
        "    description: every order has an id\n"
        "  - {name: few, type: not_null, stage: orders, columns: [a], action: fail, threshold: {max_count: 4}}\n"
    )
    loaded = load_pipeline(make_project(tmp_path, {"p/pipeline.yaml": text}) / "p", None, environ={})
    ids, few = checks_of(loaded.document, loaded.provenance)
    assert ids == CheckSpec(
        name="ids",
        type="not_null",
        stage="orders",
        action="drop",
        severity="warning",
        threshold=Threshold(max_ratio=0.25, max_count=None),
        samples=7,
        options={"columns": ["order_id"]},
        location=Location(str(tmp_path / "p/pipeline.yaml"), 4, 5),
        description="every order has an id",
    )
    assert (few.action, few.severity, few.threshold, few.samples) == (
        "fail",
        "error",
        Threshold(max_ratio=None, max_count=4),
        DEFAULT_SAMPLES,
    )
