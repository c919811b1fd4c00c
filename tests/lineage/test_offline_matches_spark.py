"""The offline lineage (sqlglot, no JVM) agrees with Spark's analyzed plan, the second and independent method.

For every pipeline of the corpus (tests/lineage/corpus) and every example pipeline of pipelines/ that needs
no service, Spark analyses each stage in the one shared test session (runtime/execution/lineage_analysis.py)
and the offline graph must have, for every stage, the same output columns in the same order and, for every
output column, the same input columns its value is made from (identity, expression, window, aggregation: the
columns that only decide which rows there are, join keys and filters, are no value of Spark's plan).

Spark needs the data a source reads to know columns no schema declares: for a declared schema an empty
folder is enough; raw inputs without one are written by hand below; a dataset another pipeline of the case
writes is written (empty, with header) in the schema Spark found for that pipeline's sink.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.events import Reporter
from etl_cli.lineage.model import ROW_INFLUENCE, LineageGraph
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import compile_plan
from etl_cli.plugins.api import StageSpec, resolve_path
from etl_cli.runtime.execution.lineage_analysis import AnalyzedPipeline, analyze_plans
from etl_cli.usecases.lineage import LineageRequest, lineage

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("corpus")
#: the example pipelines whose sources are local files (the others read Kafka, PostgreSQL or S3)
EXAMPLES = ("csv_to_postgres_upsert", "quickstart")
#: case → input without a declared schema → its content, written by hand (Spark infers the columns from it)
RAW_INPUTS = {
    "unknown_schema": {"data/logs.csv": "ts,level,message\n2026-03-01 10:00:00,ERROR,disk full\n"},
    "contract_columns": {"data/events/part-0.json": '{"id": 1, "kind": "click", "page": "/home"}\n'},
}


@dataclass(frozen=True)
class Analysed:
    """One pipeline of a case, the folder it was analysed in, and what Spark found."""

    target: Path
    spec: PipelineSpec
    spark: AnalyzedPipeline


def corpus_pipelines() -> list[str]:
    return sorted(str(p.parent.relative_to(CORPUS)) for p in CORPUS.glob("*/*/pipeline.yaml"))


def reads_files_only(pipeline: Path) -> bool:
    """Whether every source of ``pipeline`` reads a local path (Spark analyses it without a service)."""
    _, spec = app.load_spec(pipeline, None)
    return all(_local_path(stage) for stage in spec.stages if stage.kind == "source")


def _local_path(stage: StageSpec) -> bool:
    path = stage.option("path")
    return isinstance(path, str) and "://" not in path


COMPARED = [p for p in corpus_pipelines() if reads_files_only(CORPUS / p)] + [f"pipelines/{e}" for e in EXAMPLES]


def test_every_corpus_pipeline_is_compared_but_the_one_reading_kafka() -> None:
    assert sorted(set(corpus_pipelines()) - set(COMPARED)) == ["kafka_to_postgres/payments"]


class CaseAnalyses:
    """Spark's analysis of each case, made once per test module in the shared session."""

    def __init__(self, spark: object, scratch: Path):
        self.spark = spark
        self.scratch = scratch
        self.done: dict[str, dict[str, Analysed]] = {}

    def of(self, pipeline: str) -> Analysed:
        """The analysis of ``pipeline``: ``case/folder`` of the corpus or ``pipelines/NAME``."""
        case, folder = pipeline.split("/")
        if case not in self.done:
            self.done[case] = self._examples() if case == "pipelines" else self._case(case)
        return self.done[case][folder]

    def _examples(self) -> dict[str, Analysed]:
        """The example pipelines, in the repository: they read the data they ship."""
        specs = {name: app.load_spec(REPO / "pipelines" / name, None)[1] for name in EXAMPLES}
        return {name: Analysed(REPO / "pipelines" / name, spec, self._analyse(spec)) for name, spec in specs.items()}

    def _case(self, case: str) -> dict[str, Analysed]:
        """Every pipeline of a case, in a copy with its inputs, each analysed once the datasets it reads exist."""
        root = Path(tempfile.mkdtemp(dir=self.scratch)) / case  # a case that failed once is copied anew
        shutil.copytree(CORPUS / case, root)
        for relative, text in RAW_INPUTS.get(case, {}).items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
        pending = {p.parent.name: app.load_spec(p.parent, None)[1] for p in root.glob("*/pipeline.yaml")}
        done: dict[str, Analysed] = {}
        while pending:
            ready = [name for name, spec in pending.items() if all(_readable(s, spec) for s in _sources(spec))]
            assert ready, f"{case}: no data for the sources of {sorted(pending)} (add it to RAW_INPUTS)"
            for name in ready:
                spec = pending.pop(name)
                _empty_declared_inputs(spec)
                done[name] = Analysed(root / name, spec, self._analyse(spec))
                self._write_outputs(spec, done[name].spark)
        return done

    def _analyse(self, spec: PipelineSpec) -> AnalyzedPipeline:
        plans = [compile_plan(spec)]
        (analysed,) = analyze_plans(plans, app.registry(), Reporter(), "compare", session=self.spark)  # type: ignore[arg-type]
        return analysed

    def _write_outputs(self, spec: PipelineSpec, analysed: AnalyzedPipeline) -> None:
        """What the file sinks would write, empty but with Spark's schema, for the pipelines that read it."""
        from pyspark.sql import SparkSession

        session: SparkSession = self.spark  # type: ignore[assignment]
        for stage in spec.stages:
            path = stage.option("path") if stage.kind == "sink" else None
            columns = analysed.stage(stage.name).columns
            if isinstance(path, str) and columns:
                schema = ", ".join(f"`{c.name}` {c.type}" for c in columns)
                writer = session.createDataFrame([], schema).write.format(stage.type).option("header", True)
                writer.save(str(resolve_path(path, spec.project_root)))


def _sources(spec: PipelineSpec) -> Iterator[StageSpec]:
    return (stage for stage in spec.stages if stage.kind == "source")


def _empty_declared_inputs(spec: PipelineSpec) -> None:
    """A declared schema needs no data: a missing input becomes an empty folder, which reads as no rows."""
    for stage in _sources(spec):
        path = Path(resolve_path(stage.option("path"), spec.project_root))
        if stage.option("schema") is not None and not path.exists():
            path.mkdir(parents=True)


def _readable(stage: StageSpec, spec: PipelineSpec) -> bool:
    """A source Spark can analyse: its data exists, or its schema is declared (an empty folder does then)."""
    return stage.option("schema") is not None or Path(resolve_path(stage.option("path"), spec.project_root)).exists()


@pytest.fixture(scope="module")
def analyses(spark: object, tmp_path_factory: pytest.TempPathFactory) -> CaseAnalyses:
    return CaseAnalyses(spark, tmp_path_factory.mktemp("cases"))


def differences(graph: LineageGraph, analysed: AnalyzedPipeline) -> list[str]:
    """Every stage and column where the offline graph and Spark's analysis disagree, one line each."""
    found: list[str] = []
    for stage in analysed.stages:
        where = f"pipeline '{analysed.pipeline}', stage '{stage.name}'"
        if stage.status != "ok":
            found.append(f"{where}: Spark could not analyse it ({stage.status}: {stage.note})")
            continue
        node = graph.node(f"{analysed.pipeline}.{stage.name}")
        spark_columns = tuple(c.name for c in stage.columns)
        if node.columns != spark_columns:
            found.append(f"{where}: offline columns {_listed(node.columns)}, Spark's {_listed(spark_columns)}")
            continue
        if stage.kind == "source":
            continue
        offline = _offline_values(graph, analysed.pipeline, stage.name)
        for column in stage.columns:
            if column.sources is not None:
                found += _source_difference(where, column.name, offline.get(column.name, set()), column.sources)
    return found


def _listed(columns: tuple[str, ...] | None) -> str:
    return "unknown" if columns is None else "[" + ", ".join(columns) + "]"


def _offline_values(graph: LineageGraph, pipeline: str, stage: str) -> dict[str, set[tuple[str, str]]]:
    """Output column → the (input stage, column) pairs the offline graph makes its value from."""
    node_id, prefix = f"{pipeline}.{stage}", f"{pipeline}."
    values: dict[str, set[tuple[str, str]]] = {}
    for edge in graph.edges:
        if edge.target.node == node_id and edge.how not in ROW_INFLUENCE and edge.source.node.startswith(prefix):
            values.setdefault(edge.target.column, set()).add((edge.source.node[len(prefix) :], edge.source.column))
    return values


def _source_difference(
    where: str, column: str, offline: set[tuple[str, str]], spark: frozenset[tuple[str, str]]
) -> list[str]:
    if offline == spark:
        return []
    only_offline, only_spark = sorted(offline - spark), sorted(spark - offline)
    return [f"{where}, column '{column}': offline only {_named(only_offline)}, Spark only {_named(only_spark)}"]


def _named(columns: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{stage}.{column}" for stage, column in columns) + "}"


def _graph(analysed: Analysed, known: Mapping[str, Mapping[str, list[tuple[str, str]]]] | None) -> LineageGraph:
    """The lineage of the pipeline's case (or example pipeline), as ``etl-cli lineage`` computes it."""
    target = analysed.target if analysed.target.parent.name == "pipelines" else analysed.target.parent
    return lineage(LineageRequest(target), known).graph


@pytest.mark.parametrize("pipeline", COMPARED)
def test_what_offline_lineage_knows_agrees_with_sparks_analyzed_plan(analyses: CaseAnalyses, pipeline: str) -> None:
    analysed = analyses.of(pipeline)
    graph = _graph(analysed, None)
    known = [s for s in analysed.spark.stages if graph.node(f"{analysed.spec.name}.{s.name}").columns is not None]
    problems = differences(graph, AnalyzedPipeline(analysed.spark.pipeline, tuple(known)))
    assert not problems, "offline lineage and Spark disagree:\n" + "\n".join(problems)


@pytest.mark.parametrize("pipeline", COMPARED)
def test_lineage_completed_by_sparks_schemas_knows_every_stage_and_agrees(
    analyses: CaseAnalyses, pipeline: str
) -> None:
    analysed = analyses.of(pipeline)
    graph = _graph(analysed, {analysed.spec.name: analysed.spark.schemas()})
    problems = differences(graph, analysed.spark)
    assert not problems, "lineage completed by Spark's schemas and Spark disagree:\n" + "\n".join(problems)
