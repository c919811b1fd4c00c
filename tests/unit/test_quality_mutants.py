"""How a ``checks:`` item becomes a CheckSpec (model/quality.py ``check_from_item``), pinned where mutation testing
found it loose.

Every key of the item lands in its field (the threshold's ratio and count each in its own, the number of sample
rows, the description); an item that says nothing more is a ``warn`` check with no tolerated failures and the
default number of samples; the keys of its type are its options.

Then the contracts and the dead-letter queue a checked pipeline keeps (``contract_of``, ``contracts_of``,
``dead_letter_of``): a contract column written as a type alone or as a mapping without ``nullable`` or ``pii`` is
nullable and not personal data, one saying ``nullable: false, pii: email`` keeps both (and its kind and tags); a
contract without ``policy`` is strict; a transform's contract is kept as well as a source's, each at its
``contract:`` key; the queue's options are its keys but ``type`` and ``description``.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.errors import Location
from etl_cli.model.check import check_pipeline
from etl_cli.model.quality import check_from_item, checks_of
from etl_cli.plugins.checks import DEFAULT_SAMPLES, CheckSpec, ContractColumn, ContractSpec, DeadLetterSpec, Threshold

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


CONTRACTS = """\
sources:
  - name: orders
    type: csv
    path: orders.csv
    contract:
      columns:
        id: {type: INT}
        name: STRING
        email: {type: STRING, nullable: false, pii: email, tags: [contact]}
transforms:
  - name: paid
    type: filter
    inputs: [orders]
    condition: "id > 0"
    contract:
      policy: evolve
      columns: {id: {pii: true}}
sinks:
  - {name: out, type: parquet, input: paid, path: out}
dead_letter: {type: parquet, path: dlq, description: rows the checks rejected}
"""


def test_the_contracts_and_dead_letter_queue_of_a_pipeline_with_their_defaults(tmp_path: Path) -> None:
    make_project(tmp_path, {"orders.csv": "id\n1\n", "p/pipeline.yaml": CONTRACTS})
    spec, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    assert diagnostics == []
    assert spec is not None
    file = str(tmp_path / "p" / "pipeline.yaml")
    assert dict(spec.contracts) == {
        "orders": ContractSpec(
            stage="orders",
            columns=(
                ContractColumn("id", "INT", nullable=True, pii=False, tags=(), pii_kind=None),
                ContractColumn("name", "STRING", nullable=True, pii=False, tags=(), pii_kind=None),
                ContractColumn("email", "STRING", nullable=False, pii=True, tags=("contact",), pii_kind="email"),
            ),
            policy="strict",
            location=Location(file, 5, 5),
        ),
        "paid": ContractSpec(
            stage="paid",
            columns=(ContractColumn("id", None, nullable=True, pii=True, tags=(), pii_kind=None),),
            policy="evolve",
            location=Location(file, 15, 5),
        ),
    }
    assert spec.dead_letter == DeadLetterSpec("parquet", {"path": "dlq"}, Location(file, 20, 1))
