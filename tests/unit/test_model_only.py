"""The typed pipeline model is the only parse: below ``app`` nothing reads the raw document or the project file.

Every section the runtime needs is a typed field of :class:`PipelineSpec`, built once when the
pipeline is validated; expected values below are written by hand from the YAML.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import etl_cli
from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.errors import Location
from etl_cli.model.check import check_pipeline
from etl_cli.model.metrics import MetricsSpec
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.resilience import BreakerSettings, RetryPolicy
from etl_cli.plugins.checks import CheckSpec, ContractColumn, ContractSpec, DeadLetterSpec, Threshold

from .helpers import make_project

PACKAGE = Path(etl_cli.__file__).parent
#: the packages below ``app``, which must read the model only
BELOW_APP = ("runtime", "plan", "plugins", "model")
#: the one module that turns the loaded document into the model
BUILDER = PACKAGE / "model" / "check.py"

PIPELINE = """\
name: orders
sources:
  - name: raw
    type: csv
    path: raw.csv
    contract:
      policy: allow_extra
      columns:
        id: {type: int, nullable: false}
        note: string
sinks:
  - name: out
    type: parquet
    input: raw
    path: out
    retry: {attempts: 6}
checks:
  - {name: ids, type: not_null, stage: raw, columns: [id], action: quarantine}
dead_letter: {type: parquet, path: dead}
retry: {attempts: 4, max_delay: 60}
circuit_breaker: {failure_threshold: 2}
metrics: {type: textfile, path: metrics/orders.prom}
"""
MINIMAL = """\
sources:
  - {name: a, type: csv, path: a.csv}
sinks:
  - {name: out, type: parquet, input: a, path: out}
"""


def spec_of(root: Path, pipeline: str = PIPELINE) -> PipelineSpec:
    make_project(root, {"p/pipeline.yaml": pipeline})
    spec, diagnostics = check_pipeline(load_pipeline(root / "p", None, environ={}), registry())
    assert spec is not None, diagnostics
    return spec


def at(root: Path, line: int, column: int) -> Location:
    return Location(str(root / "p" / "pipeline.yaml"), line, column)


# --------------------------------------------------------------------------- the typed fields


def test_the_model_has_no_raw_document() -> None:
    assert "document" not in {f.name for f in dataclasses.fields(PipelineSpec)}
    assert not hasattr(PipelineSpec, "document")


def test_checks_are_typed_in_the_order_written(tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    assert spec.checks == (
        CheckSpec(
            name="ids",
            type="not_null",
            stage="raw",
            action="quarantine",
            severity="warning",
            threshold=Threshold(),
            samples=3,
            options={"columns": ["id"]},
            location=at(tmp_path, 18, 5),
        ),
    )


def test_a_stage_contract_is_typed_and_points_at_its_key(tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    assert spec.contract("raw") == ContractSpec(
        "raw", (ContractColumn("id", "int", False), ContractColumn("note", "string")), "allow_extra", at(tmp_path, 6, 5)
    )
    assert spec.contract("out") is None


def test_the_dead_letter_queue_is_typed(tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    assert spec.dead_letter == DeadLetterSpec("parquet", {"path": "dead"}, at(tmp_path, 19, 1))


def test_retries_layer_defaults_pipeline_and_stage(tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    assert spec.retry == RetryPolicy(attempts=4, initial_delay=1.0, max_delay=60, multiplier=2.0, jitter=1.0)
    assert spec.retry_for(spec.stage("out")) == RetryPolicy(attempts=6, max_delay=60)
    assert spec.retry_for(spec.stage("raw")) == RetryPolicy(attempts=4, max_delay=60)


def test_the_circuit_breaker_settings_are_typed(tmp_path: Path) -> None:
    assert spec_of(tmp_path).circuit_breaker == BreakerSettings(failure_threshold=2, reset_timeout=60.0)


def test_the_metrics_exporter_is_typed(tmp_path: Path) -> None:
    spec = spec_of(tmp_path)
    assert spec.metrics == MetricsSpec("textfile", {"path": "metrics/orders.prom"}, tmp_path, at(tmp_path, 22, 1))


def test_a_pipeline_without_those_sections_gets_the_defaults(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, MINIMAL)
    assert (spec.checks, spec.dead_letter, spec.metrics, spec.contract("a")) == ((), None, None, None)
    assert (spec.retry, spec.circuit_breaker) == (RetryPolicy(), BreakerSettings())


def test_the_model_carries_the_loaded_project(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {"p/pipeline.yaml": MINIMAL},
        project="name: shop\nsecrets:\n  vault: {type: env, prefix: SHOP_}\n",
    )
    spec, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    assert spec is not None, diagnostics
    assert (spec.project.name, spec.project.root, spec.project_root) == ("shop", tmp_path, tmp_path)
    assert spec.project.secrets == {"vault": {"type": "env", "prefix": "SHOP_"}}


# --------------------------------------------------------------------------- nothing below app reads the document


def raw_reads(files: list[Path]) -> list[str]:
    """``file:line what`` for each read of a raw document (``.document``) or of the project file (``load_project``)."""
    found = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, what in _reads(tree):
            found.append(f"{path}:{node.lineno} {what}")
    return sorted(found)


def _reads(tree: ast.AST) -> Iterator[tuple[ast.stmt | ast.expr, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("document", "load_project"):
            yield node, node.attr
        elif isinstance(node, ast.Name) and node.id == "load_project":
            yield node, "load_project"
        elif isinstance(node, ast.ImportFrom) and any(alias.name == "load_project" for alias in node.names):
            yield node, "import load_project"


def below_app() -> list[Path]:
    files = [path for package in BELOW_APP for path in sorted((PACKAGE / package).rglob("*.py"))]
    return [path for path in files if path != BUILDER]


def test_the_scan_finds_a_raw_document_read_and_a_project_load(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from etl_cli.config.project import load_project\n"
        "def f(spec):\n"
        "    return spec.document.get('retry'), load_project(spec.project_root)\n"
    )
    assert raw_reads([probe]) == [
        f"{probe}:1 import load_project",
        f"{probe}:3 document",
        f"{probe}:3 load_project",
    ]


def test_nothing_below_app_reads_the_raw_document_or_loads_the_project() -> None:
    assert len(below_app()) > 50  # the scan reaches the packages
    assert raw_reads(below_app()) == []


def test_no_plugin_imports_the_model() -> None:
    found = []
    for path in sorted((PACKAGE / "plugins").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path}:{node.lineno} {name}" for name in names if name.startswith("etl_cli.model")]
    assert found == []
